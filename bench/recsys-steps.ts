/**
 * Does the ratings engine's lazy embedding steps (its default: Adam steps only the rows a batch
 * rated, worker/engine/ratings-engine.ts `EmbeddingSteps`) change what a search finds? CV RMSE at
 * fixed seeds with lazy and with exact steps (FOLDWISE_EMBEDDING_STEPS=exact, every row at every
 * step), and with --layers also on the layers loop (FOLDWISE_RECSYS_ENGINE=layers, exact), on
 * `experiments/recsys.yaml`'s synthetic ratings and settings (Adam lr 0.01, batch 256, 3-fold CV
 * with early stopping on val_rmse), for mf, ncf and NeuMF in three configurations.
 *
 *   node --import tsx bench/recsys-steps.ts [--seeds 1,2,3] [--models mf,ncf,neumf] [--layers] [--no-write]
 *
 * Writes the `recsys-steps` section of BENCHMARKS.md (with --no-write: prints it). Not a timing:
 * the figures do not depend on the machine's load.
 */
import { selectBackend, type TensorFlow } from '../worker/backend.js';
import type { BackendName, Task } from '../worker/contract/protocol.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../worker/contract/spec.js';
import { EMBEDDING_STEPS_ENV_VAR, RECSYS_ENGINE_ENV_VAR } from '../worker/engine/ratings-trainer.js';
import { runTask } from '../worker/training/run-task.js';
import { machineLine, writeSection } from './report.js';
import { setEnv } from './env.js';

type ModelKey = 'mf' | 'ncf' | 'neumf';
type Path = 'lazy' | 'exact' | 'layers';

const MODELS: Record<ModelKey, { readonly label: string; readonly params: Partial<Params> }> = {
  mf: { label: 'mf', params: { family: 'mf' } },
  ncf: { label: 'ncf', params: { family: 'ncf', useDotTerm: false } },
  neumf: { label: 'NeuMF', params: { family: 'ncf', useDotTerm: true } },
};

/** experiments/recsys.yaml's model settings; the configurations vary its grid's factors and λ. */
const BASE: Params = {
  ...DEFAULT_PARAMS,
  optimizer: 'adam',
  learningRate: 0.01,
  batchSize: 256,
  epochs: 30,
  depth: 2,
  width: 64,
  widthSchedule: 'halve',
  activation: 'relu',
  dropout: 0.1,
};
const CONFIGURATIONS: readonly Partial<Params>[] = [
  { factors: 16, l2: 0.01 },
  { factors: 16, l2: 0.1 },
  { factors: 8, l2: 0.01 },
];
const FOLDS = 3;

const ENV: Record<Path, Record<string, string>> = {
  lazy: { [RECSYS_ENGINE_ENV_VAR]: 'fast', [EMBEDDING_STEPS_ENV_VAR]: 'lazy' },
  exact: { [RECSYS_ENGINE_ENV_VAR]: 'fast', [EMBEDDING_STEPS_ENV_VAR]: 'exact' },
  layers: { [RECSYS_ENGINE_ENV_VAR]: 'layers' },
};

type Options = { seeds: number[]; models: ModelKey[]; layers: boolean; write: boolean };

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { seeds: [1, 2, 3], models: ['mf', 'ncf', 'neumf'], layers: false, write: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--seeds') {
      options.seeds = value()
        .split(',')
        .map((text) => {
          const seed = Number(text);
          if (!Number.isInteger(seed)) throw new Error(`--seeds: ${text} is not an integer`);
          return seed;
        });
    } else if (arg === '--models') {
      options.models = value()
        .split(',')
        .map((text) => {
          const model = (Object.keys(MODELS) as ModelKey[]).find((key) => key === text.trim());
          if (model === undefined) throw new Error(`--models: unknown ${text}; expected some of mf, ncf, neumf`);
          return model;
        });
    } else if (arg === '--layers') options.layers = true;
    else if (arg === '--no-write') options.write = false;
    else throw new Error(`unknown argument ${arg}; expected --seeds 1,2,3, --models mf,ncf,neumf, --layers, --no-write`);
  }
  return options;
}

/** The mean over the folds of the best epoch's val_rmse, and the mean best epoch (from 1). */
async function crossValidate(tf: TensorFlow, backend: BackendName, params: Params, seed: number, path: Path) {
  const spec = validateSpec({
    name: 'bench-recsys-steps',
    dataset: { kind: 'ratings', users: 1000, items: 500, ratingsPerUser: 25, noise: 0.5 },
    seed,
    testSplit: { fraction: 0.2 },
    validation: { kind: 'kfold', k: FOLDS, earlyStopping: { monitor: 'val_rmse', patience: 3, minDelta: 0.002, restoreBestWeights: true } },
  });
  const restore = setEnv(ENV[path]);
  try {
    let rmse = 0;
    let epochs = 0;
    for (let fold = 0; fold < FOLDS; fold++) {
      const task: Task = {
        taskId: `bench-recsys-steps:${fold}`,
        runId: 1,
        foldIndex: fold,
        attempt: 1,
        kind: 'search',
        spec,
        taskKind: 'regression',
        params,
      };
      const result = await runTask(task, { tf, backend }, () => {});
      rmse += result.bestMetrics.val_rmse! / FOLDS;
      epochs += (result.bestEpoch! + 1) / FOLDS;
    }
    return { rmse, epochs };
  } finally {
    restore();
  }
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const signed = (value: number) => (value >= 0 ? '+' : '') + value.toFixed(4);

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const { tf, backend } = await selectBackend();
  const paths: Path[] = options.layers ? ['lazy', 'exact', 'layers'] : ['lazy', 'exact'];
  const lines: string[] = [];
  const allDifferences: number[] = [];
  const spreads: number[] = [];
  for (const configuration of CONFIGURATIONS) {
    for (const model of options.models) {
      const params: Params = { ...BASE, ...configuration, ...MODELS[model].params };
      const scores: Record<Path, number[]> = { lazy: [], exact: [], layers: [] };
      const epochs: Record<Path, number[]> = { lazy: [], exact: [], layers: [] };
      for (const seed of options.seeds) {
        for (const path of paths) {
          const { rmse, epochs: best } = await crossValidate(tf, backend, params, seed, path);
          scores[path].push(rmse);
          epochs[path].push(best);
        }
        const scored = paths.map((path) => `${path} ${scores[path].at(-1)!.toFixed(4)}`).join(', ');
        process.stderr.write(`[recsys-steps] ${model} ${JSON.stringify(configuration)} seed ${seed}: ${scored}\n`);
      }
      const differences = scores.lazy.map((value, s) => value - scores.exact[s]!);
      const spread = Math.max(...scores.exact) - Math.min(...scores.exact);
      allDifferences.push(...differences);
      spreads.push(spread);
      const cell = (path: Path) =>
        scores[path].length === 0 ? '—' : `${mean(scores[path]).toFixed(4)} (${mean(epochs[path]).toFixed(1)})`;
      lines.push(
        `| ${MODELS[model].label} | ${configuration.factors} | ${configuration.l2} | ${cell('lazy')} | ${cell('exact')} | ` +
          `${cell('layers')} | ${differences.map(signed).join(', ')} | ${spread.toFixed(4)} |`,
      );
    }
  }
  const markdown = `## Recommendation families: lazy and exact embedding steps, CV RMSE at fixed seeds (issue 14)

${machineLine()} · backend ${backend} · \`${['node --import tsx bench/recsys-steps.ts', ...process.argv.slice(2)].join(' ')}\`

\`experiments/recsys.yaml\`'s synthetic ratings (1000 users, 500 items, ~23k ratings; best attainable RMSE ≈ 0.51) and settings
(Adam lr 0.01, batch 256, up to 30 epochs, ${FOLDS}-fold CV, early stopping on val_rmse with patience 3, best weights restored).
Mean over seeds ${options.seeds.join(', ')} of each seed's CV RMSE (in parentheses: the mean best epoch); the lazy − exact
difference per seed; and, for scale, how far apart the seeds' exact CV RMSEs lie (max − min).

| model | factors | λ | **lazy (default)** | exact | layers loop | lazy − exact per seed | seed spread (exact) |
|---|---|---|---|---|---|---|---|
${lines.join('\n')}

Per seed, lazy − exact lies within ${signed(Math.min(...allDifferences))} … ${signed(Math.max(...allDifferences))}, against seed spreads of
${Math.min(...spreads).toFixed(4)} … ${Math.max(...spreads).toFixed(4)}.
`;
  if (options.write) writeSection('recsys-steps', markdown);
  else process.stdout.write(`${markdown}\n`);
}

await main();
