/**
 * Throughput of the recommendation families (issue 14): `mf`, `ncf` and `ncf` + dot term (NeuMF)
 * on synthetic ratings (worker/recsys/synthetic.ts) shaped like MovieLens-100k (943 users, 1,682
 * items, ~100,000 ratings) and MovieLens-1M (6,040 users, 3,706 items, ~1,000,000 ratings), in
 * ratings per second on ONE worker, for
 *
 *   - the ratings engine: `runTask` as a worker runs it (worker/engine/ratings-engine.ts, the default),
 *     with its default lazy embedding steps and with FOLDWISE_EMBEDDING_STEPS=exact;
 *   - the layers loop: `runTask` with FOLDWISE_RECSYS_ENGINE=layers (TensorFlow.js layers model,
 *     `optimizer.minimize`), the path before issue 14;
 *   - PyTorch: the same models in a plain loop (bench/python/recsys.py, Debian's python3-torch,
 *     torch.set_num_threads(1), and its BLAS held to one thread by threadpoolctl), on the same
 *     training ratings (exported to bench/out/), same batch, factors and L2, with Adam over dense
 *     embedding gradients (as the exact steps) and with SparseAdam over sparse ones (as the lazy steps);
 *
 * interleaved round by round (median of --runs rounds; ratios are medians of per-round ratios). Each
 * measurement is a refit on the 80 % non-test ratings; its first epoch is a warm-up and not timed
 * (foldwise: the span between the first and the last epoch's report; PyTorch: one untimed epoch).
 * Also the whole `experiments/recsys.yaml` search (2 workers) on each path, unless --skip-search.
 *
 *   node --import tsx bench/recsys.ts [--runs 3] [--epochs 4] [--layers-epochs 2] [--shapes ml100k,ml1m]
 *     [--models mf,ncf,neumf] [--no-python] [--no-layers] [--skip-search] [--no-write]
 *
 * Writes the `recsys` section of BENCHMARKS.md and bench/out/recsys.json (with --no-write: prints
 * the section only, a preview). Reports the load average next to every figure: the machine is shared.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage } from '../server/storage/storage.js';
import { selectBackend, type TensorFlow } from '../worker/backend.js';
import type { BackendName, Task } from '../worker/contract/protocol.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../worker/contract/spec.js';
import { type EmbeddingSteps, sideFeatures } from '../worker/engine/ratings-engine.js';
import { EMBEDDING_STEPS_ENV_VAR, RECSYS_ENGINE_ENV_VAR, ratingsRows } from '../worker/engine/ratings-trainer.js';
import { USER_PREFIX } from '../worker/recsys/ratings-table.js';
import { runTask } from '../worker/training/run-task.js';
import { loadTable, prepareData } from '../worker/training/task-data.js';
import { PYTHON, python, runJson } from './baselines.js';
import { machineLine, median, writeSection } from './report.js';
import { setEnv } from './env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = fileURLToPath(new URL('./out', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/foldwise.js', import.meta.url));

type ShapeKey = 'ml100k' | 'ml1m';
type ModelKey = 'mf' | 'ncf' | 'neumf';
type Engine = 'fast' | 'layers';
/** PyTorch's embeddings (bench/python/recsys.py --embeddings) matching the ratings engine's embedding steps. */
const TORCH_EMBEDDINGS: Record<EmbeddingSteps, string> = { exact: 'dense', lazy: 'sparse' };

const SHAPES: Record<ShapeKey, { readonly label: string; readonly users: number; readonly items: number; readonly ratings: number }> = {
  ml100k: { label: 'MovieLens-100k-shaped', users: 943, items: 1682, ratings: 100_000 },
  ml1m: { label: 'MovieLens-1M-shaped', users: 6040, items: 3706, ratings: 1_000_209 },
};

/** The models, as the issue's reference loop: Adam, batch 256, 16 factors; ncf's MLP 64→32 (relu, dropout 0.1). */
const BASE_PARAMS: Params = {
  ...DEFAULT_PARAMS,
  optimizer: 'adam',
  learningRate: 0.001,
  batchSize: 256,
  factors: 16,
  l2: 0.01,
  depth: 2,
  width: 64,
  widthSchedule: 'halve',
  activation: 'relu',
  dropout: 0.1,
};
const MODELS: Record<ModelKey, { readonly label: string; readonly params: Partial<Params> }> = {
  mf: { label: 'mf', params: { family: 'mf' } },
  ncf: { label: 'ncf (side features)', params: { family: 'ncf', useDotTerm: false } },
  neumf: { label: 'ncf + dot term (NeuMF)', params: { family: 'ncf', useDotTerm: true } },
};

type Options = {
  runs: number;
  epochs: number;
  layersEpochs: number;
  shapes: ShapeKey[];
  models: ModelKey[];
  python: boolean;
  layers: boolean;
  search: boolean;
  write: boolean;
};

function parseArgs(argv: readonly string[]): Options {
  const options: Options = {
    runs: 3,
    epochs: 4,
    layersEpochs: 2,
    shapes: ['ml100k', 'ml1m'],
    models: ['mf', 'ncf', 'neumf'],
    python: true,
    layers: true,
    search: true,
    write: true,
  };
  const listOf = <T extends string>(text: string, allowed: readonly T[], name: string): T[] =>
    text.split(',').map((item) => {
      const found = allowed.find((value) => value === item.trim());
      if (found === undefined) throw new Error(`${name}: unknown ${item}; expected some of ${allowed.join(', ')}`);
      return found;
    });
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--runs') options.runs = positive(value(), arg);
    else if (arg === '--epochs') options.epochs = atLeastTwo(value(), arg);
    else if (arg === '--layers-epochs') options.layersEpochs = atLeastTwo(value(), arg);
    else if (arg === '--shapes') options.shapes = listOf(value(), ['ml100k', 'ml1m'] as const, arg);
    else if (arg === '--models') options.models = listOf(value(), ['mf', 'ncf', 'neumf'] as const, arg);
    else if (arg === '--no-python') options.python = false;
    else if (arg === '--no-layers') options.layers = false;
    else if (arg === '--skip-search') options.search = false;
    else if (arg === '--no-write') options.write = false;
    else
      throw new Error(
        `unknown argument ${arg}; expected --runs N, --epochs N, --layers-epochs N, --shapes ml100k,ml1m, ` +
          '--models mf,ncf,neumf, --no-python, --no-layers, --skip-search, --no-write',
      );
  }
  return options;
}

function positive(text: string, name: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${text}`);
  return value;
}

function atLeastTwo(text: string, name: string | undefined): number {
  const value = positive(text, name);
  if (value < 2) throw new Error(`${name} must be at least 2 (the first epoch is a warm-up), got ${text}`);
  return value;
}

function log(message: string): void {
  process.stderr.write(`[recsys] ${message}\n`);
}

function loadLine(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');
}

// ───────────────────────────── foldwise ─────────────────────────────

function specFor(shape: ShapeKey) {
  const { users, items, ratings } = SHAPES[shape];
  return validateSpec({
    name: `bench-recsys-${shape}`,
    dataset: { kind: 'ratings', users, items, ratingsPerUser: ratings / users },
    seed: 42,
    testSplit: { fraction: 0.2 },
    validation: { kind: 'holdout', fraction: 0.2 },
  });
}

function refitTask(shape: ShapeKey, model: ModelKey, epochs: number, modelDir: string): Task {
  return {
    taskId: `bench-recsys:${shape}:${model}`,
    runId: 1,
    foldIndex: 0,
    attempt: 1,
    kind: 'refit',
    spec: specFor(shape),
    taskKind: 'regression',
    params: { ...BASE_PARAMS, ...MODELS[model].params, epochs },
    refit: { epochs, modelDir },
  };
}

type Measurement = { readonly ratingsPerS: number; readonly ratingsPerCpuS: number; readonly load: string };

/**
 * A refit through `runTask` on `engine` (the ratings engine with `steps`); epochs after the first
 * are timed (wall and this process's CPU).
 */
async function measureFoldwise(
  tf: TensorFlow,
  backend: BackendName,
  shape: ShapeKey,
  model: ModelKey,
  engine: Engine,
  steps: EmbeddingSteps,
  epochs: number,
): Promise<Measurement> {
  const modelDir = mkdtempSync(join(tmpdir(), 'foldwise-bench-recsys-'));
  const restore = setEnv({ [RECSYS_ENGINE_ENV_VAR]: engine, [EMBEDDING_STEPS_ENV_VAR]: steps });
  const marks: { wall: number; cpu: number }[] = [];
  try {
    const task = refitTask(shape, model, epochs, modelDir);
    const trainRatings = await trainingRatings(task);
    await runTask(task, { tf, backend }, () => {
      const cpu = process.cpuUsage();
      marks.push({ wall: performance.now(), cpu: (cpu.user + cpu.system) / 1000 });
    });
    const ratings = trainRatings * (epochs - 1);
    const wallMs = marks.at(-1)!.wall - marks[0]!.wall;
    const cpuMs = marks.at(-1)!.cpu - marks[0]!.cpu;
    return { ratingsPerS: ratings / (wallMs / 1000), ratingsPerCpuS: ratings / (cpuMs / 1000), load: loadLine() };
  } finally {
    restore();
    rmSync(modelDir, { recursive: true, force: true });
  }
}

/** Training ratings of a refit (the non-test rows). */
async function trainingRatings(task: Task): Promise<number> {
  return prepareData(await loadTable(task), task).train.n;
}

/**
 * Writes the refit's training ratings for bench/python/recsys.py: embedding indices, ratings, and
 * each embedding index's side features (user's, item's) as foldwise's ncf sees them.
 */
async function exportRatings(shape: ShapeKey): Promise<string> {
  const folder = join(OUT, `recsys-${shape}`);
  mkdirSync(folder, { recursive: true });
  const task = refitTask(shape, 'ncf', 2, folder);
  const data = prepareData(await loadTable(task), task);
  const ratings = data.ratings!;
  const rows = ratingsRows(data.train, 'ncf', ratings.shape.nFeatures);
  const userWidth = data.encoding.featureNames.filter((name) => name.startsWith(`${USER_PREFIX}.`)).length;
  const itemWidth = ratings.shape.nFeatures - userWidth;
  const sides = sideFeatures(rows, userWidth, ratings.shape.userRows, ratings.shape.itemRows);
  if (sides === null) throw new Error('the training ratings have side features that are not one set per user and item');
  const write = (name: string, values: Int32Array | Float32Array) =>
    writeFileSync(join(folder, name), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  write('users.i32', rows.users);
  write('items.i32', rows.items);
  write('ratings.f32', rows.y);
  write('user_features.f32', sides.users);
  write('item_features.f32', sides.items);
  const meta = { n: rows.n, ...ratings.shape, userWidth, itemWidth };
  writeFileSync(join(folder, 'meta.json'), `${JSON.stringify(meta)}\n`);
  return folder;
}

// ───────────────────────────── PyTorch ─────────────────────────────

type TorchResult = { median_ratings_per_s: number; median_ratings_per_cpu_s: number; torch: string; loadavg: number[] };

function pythonAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

async function measureTorch(
  folder: string,
  model: ModelKey,
  steps: EmbeddingSteps,
  epochs: number,
): Promise<Measurement & { readonly version: string }> {
  const p = BASE_PARAMS;
  const args = [
    ...['--data', folder, '--model', model, '--epochs', String(epochs - 1), '--batch', String(p.batchSize)],
    ...['--embeddings', TORCH_EMBEDDINGS[steps]],
    ...['--factors', String(p.factors), '--lr', String(p.learningRate), '--l2', String(p.l2)],
    ...['--depth', String(p.depth), '--width', String(p.width), '--dropout', String(p.dropout)],
  ];
  const { value } = await runJson<TorchResult>(python('recsys.py', ...args));
  return {
    ratingsPerS: value.median_ratings_per_s,
    ratingsPerCpuS: value.median_ratings_per_cpu_s,
    load: value.loadavg.map((x) => x.toFixed(2)).join(' / '),
    version: value.torch,
  };
}

// ───────────────────────────── the whole search ─────────────────────────────

type SearchResult = {
  readonly wallS: number;
  readonly bestFamily: string;
  readonly bestCvRmse: number | null;
  readonly testRmse: number | null;
};

/** `foldwise run experiments/recsys.yaml` with 2 workers on `engine`, in a fresh data folder. */
function runSearch(engine: Engine): SearchResult {
  const dataDir = join(OUT, `recsys-search-${engine}`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [BIN, '--data-dir', dataDir, 'run', join(ROOT, 'experiments/recsys.yaml'), '--workers', '2'], {
    encoding: 'utf8',
    env: { ...process.env, [RECSYS_ENGINE_ENV_VAR]: engine },
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`foldwise run failed (${result.status}): ${result.stderr}`);
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const [experiment] = storage.experiments.list();
    const model = storage.models.ofExperiment(experiment!.experimentId)[0];
    const best = model?.sourceRunId ? storage.runs.get(model.sourceRunId) : undefined;
    return {
      wallS,
      bestFamily: best ? (JSON.parse(best.paramsJson) as Params).family : '—',
      bestCvRmse: best?.scoreMean ?? null,
      testRmse: model?.testMetrics.test_rmse ?? null,
    };
  } finally {
    storage.close();
  }
}

// ───────────────────────────── main ─────────────────────────────

const COLUMNS = [
  'data',
  'model',
  '**ratings engine (lazy)**',
  'ratings engine (exact)',
  'layers loop',
  'PyTorch Adam',
  'PyTorch SparseAdam',
  '**lazy ÷ Adam**',
  'exact ÷ Adam',
  'lazy ÷ SparseAdam',
  'lazy ÷ layers',
  'load average (1/5/15 min)',
];
const TABLE_HEAD = `| ${COLUMNS.join(' | ')} |\n|${COLUMNS.map(() => '---|').join('')}`;

/** Per round: the ratings engine and PyTorch with each kind of embedding steps, the layers loop; ratios engine ÷ PyTorch. */
type Row = {
  shape: ShapeKey;
  model: ModelKey;
  fast: Record<EmbeddingSteps, Measurement[]>;
  layers: Measurement[];
  torch: Record<EmbeddingSteps, Measurement[]>;
  /** lazy ÷ PyTorch Adam (dense), exact ÷ PyTorch Adam, lazy ÷ PyTorch SparseAdam. */
  ratios: { lazyDense: number[]; exactDense: number[]; lazySparse: number[] };
};

function fmt(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return digits === 0 ? Math.round(value).toLocaleString('en') : value.toFixed(digits);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  const { tf, backend } = await selectBackend();
  const withPython = options.python && pythonAvailable();
  if (options.python && !withPython) log(`no PyTorch for ${PYTHON}: run bench/python/setup.sh (installs python3-torch); skipping it`);
  const loadAtStart = loadLine();
  log(`backend ${backend}; load average ${loadAtStart}`);

  const rows: Row[] = [];
  let torchVersion = '';
  for (const shape of options.shapes) {
    const folder = withPython ? await exportRatings(shape) : '';
    for (const model of options.models) {
      const row: Row = {
        shape,
        model,
        fast: { lazy: [], exact: [] },
        layers: [],
        torch: { lazy: [], exact: [] },
        ratios: { lazyDense: [], exactDense: [], lazySparse: [] },
      };
      for (let round = 0; round < options.runs; round++) {
        log(`${shape} ${model} round ${round + 1}/${options.runs}`);
        const lazy = await measureFoldwise(tf, backend, shape, model, 'fast', 'lazy', options.epochs);
        const exact = await measureFoldwise(tf, backend, shape, model, 'fast', 'exact', options.epochs);
        row.fast.lazy.push(lazy);
        row.fast.exact.push(exact);
        if (options.layers) row.layers.push(await measureFoldwise(tf, backend, shape, model, 'layers', 'exact', options.layersEpochs));
        if (withPython) {
          const dense = await measureTorch(folder, model, 'exact', options.epochs);
          const sparse = await measureTorch(folder, model, 'lazy', options.epochs);
          torchVersion = dense.version;
          row.torch.exact.push(dense);
          row.torch.lazy.push(sparse);
          row.ratios.lazyDense.push(lazy.ratingsPerS / dense.ratingsPerS);
          row.ratios.exactDense.push(exact.ratingsPerS / dense.ratingsPerS);
          row.ratios.lazySparse.push(lazy.ratingsPerS / sparse.ratingsPerS);
        }
      }
      rows.push(row);
    }
  }

  const searches = options.search ? (['layers', 'fast'] as const).map((engine) => ({ engine, ...runSearch(engine) })) : [];
  if (options.write)
    writeFileSync(join(OUT, 'recsys.json'), `${JSON.stringify({ options, backend, loadAtStart, rows, searches }, null, 2)}\n`);

  const mid = (list: readonly Measurement[], key: 'ratingsPerS' | 'ratingsPerCpuS') =>
    list.length === 0 ? null : median(list.map((m) => m[key]));
  const ratio = (values: readonly number[]) => (values.length > 0 ? fmt(median(values), 2) : '—');
  const both = (list: readonly Measurement[]) => `${fmt(mid(list, 'ratingsPerS'))} (${fmt(mid(list, 'ratingsPerCpuS'))})`;
  const table = rows.map((row) => {
    const fast = mid(row.fast.lazy, 'ratingsPerS');
    const layers = mid(row.layers, 'ratingsPerS');
    const versusLayers = fmt(fast !== null && layers !== null ? fast / layers : null, 1);
    return (
      `| ${SHAPES[row.shape].label} | ${MODELS[row.model].label} | **${both(row.fast.lazy)}** | ${both(row.fast.exact)} | ` +
      `${fmt(layers)} | ${both(row.torch.exact)} | ${both(row.torch.lazy)} | **${ratio(row.ratios.lazyDense)}×** | ` +
      `${ratio(row.ratios.exactDense)}× | ${ratio(row.ratios.lazySparse)}× | ${versusLayers}× | ` +
      `${row.fast.lazy.map((m) => m.load).join('; ')} |`
    );
  });
  const searchTable =
    searches.length === 0
      ? ''
      : `
### The whole \`experiments/recsys.yaml\` search

\`foldwise run experiments/recsys.yaml --workers 2\` (14 runs × 3 folds, early stopping, refit of the best), wall time of the whole
command, in a fresh data folder each:

| path | wall (s) | best run | its CV RMSE | refit test RMSE |
|---|---|---|---|---|
${searches
  .map(
    (s) =>
      `| ${s.engine === 'fast' ? '**ratings engine**' : 'layers loop (FOLDWISE_RECSYS_ENGINE=layers)'} | ${fmt(s.wallS, 1)} | ` +
      `${s.bestFamily} | ${fmt(s.bestCvRmse, 4)} | ${fmt(s.testRmse, 4)} |`,
  )
  .join('\n')}

With the ratings engine the search is **${fmt(searches[0]!.wallS / searches[1]!.wallS, 2)}×** faster than on the layers loop.
`;

  const markdown =
    `## Recommendation families: ratings per second per worker (issue 14)

${machineLine()} · backend ${backend} · load average at start ${loadAtStart} · ` +
    `\`${['node --import tsx bench/recsys.ts', ...process.argv.slice(2)].join(' ')}\` · ` +
    `PyTorch ${withPython ? torchVersion : 'not measured'}

Synthetic ratings (worker/recsys/synthetic.ts, seed 42) with the users and items of MovieLens; the refit's 80 % non-test ratings,
one thread (PyTorch: \`torch.set_num_threads(1)\` and its OpenBLAS held to one thread by threadpoolctl, which
\`set_num_threads\` does not reach), Adam lr 0.001, batch 256, 16 factors, λ 0.01; ncf's MLP 64→32 relu, dropout 0.1,
on the side features. Ratings/s of the epochs after a warm-up epoch (in parentheses: per CPU second of the process),
median of ${options.runs} interleaved rounds; each ratio is the median of the per-round ratios (target ≥ 1.0×).
The layers loop trained ${options.layersEpochs} epochs per round.

Embedding steps: the ratings engine's default is lazy (Adam steps only the rows a batch touched, as PyTorch's SparseAdam);
\`FOLDWISE_EMBEDDING_STEPS=exact\` steps every row at every step, as the layers loop and PyTorch's Adam over dense
embedding gradients do (O(all embedding rows) per step besides O(batch)). PyTorch's MLP always takes Adam.

${TABLE_HEAD}
${table.join('\n')}
${searchTable}`;
  if (options.write) writeSection('recsys', markdown);
  else process.stdout.write(`${markdown}\n`);
}

await main();
