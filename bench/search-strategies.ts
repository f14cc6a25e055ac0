/**
 * Search strategies at the same budget (issue 12): foldwise's random and TPE searches against
 * Optuna's TPE, on the fraud CSV of the search benchmark (bench/out/fraud.csv), over the space
 * learning rate (log 1e-4…1e-1), L2 (log 1e-6…1e-2), dropout (0…0.5), width (int, log 8…128),
 * depth (1…3), batch (32, 64, 128, 256), 5-fold stratified CV, `--epochs` epochs per fold (no
 * early stopping, no pruning: the samplers alone differ), 2 workers each.
 *
 *   node --import tsx bench/search-strategies.ts [--seeds 42,43,44] [--trials 50] [--epochs 20]
 *        [--workers 2] [--skip-optuna] [--grid-db bench/out/search-plain-2w-0/foldwise.db]
 *        [--pruned] [--smart-grid-db bench/out/search-smart-2w-0/foldwise.db]
 *
 * - For each seed: `foldwise run` of a random and of a tpe spec (`seed` fixes the folds, the
 *   initial weights and the sampler), then bench/python/search_optuna_tpe.py — Optuna's
 *   TPESampler(multivariate=True, constant_liar=True), a PyTorch MLP of the same shape — on the
 *   very folds foldwise cut for that seed (written to bench/out/fraud.folds-SEED.json from
 *   foldwise's own splitter). A search of `--trials` trials is run once; the best CV ROC AUC
 *   after 10, 25 and 50 trials is read off its first trials (trial numbers, which is what a
 *   search of that budget would have run: foldwise's trial n never depends on later ones), and
 *   after all `--trials`.
 *   Figures: medians over the seeds. Targets: foldwise TPE ≥ Optuna TPE and ≥ random at each budget.
 * - Time for TPE to reach the grid benchmark's best CV AUC: from each seed's tpe run, the
 *   time from the search's start until a finished trial scores at least the best run of the
 *   grid benchmark's full-training variant (bench/search.ts leaves its database in
 *   bench/out/search-plain-2w-0; run that first, or pass --grid-db), against that grid's search
 *   wall, and their median over the seeds. Target ≤ 40 %.
 * - With --pruned, the same like with like: a TPE search per seed with the grid benchmark's early
 *   stopping (val_auc, patience 3) and fold cutting (minFolds 2, margin 0.01) and 20 epochs, timed
 *   to the best of bench/search.ts's grid with them (its database bench/out/search-smart-2w-0).
 *
 * Takes long: with the defaults, each foldwise search trains 50 × 5 folds × 20 epochs (about 3 to
 * 4 minutes on 2 cores) and each Optuna search the same in PyTorch (about 10 minutes): about an
 * hour for 3 seeds. `--trials 25 --epochs 10` gives a first look in a quarter of that. Needs
 * Debian's python3-optuna, python3-torch and python3-sklearn (bench/python/setup.sh installs them).
 * Writes the `search-strategies` section of BENCHMARKS.md and bench/out/search-strategies.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../worker/contract/spec.js';
import { loadDataset } from '../worker/data/load.js';
import { splitTest, validationSplits } from '../worker/data/splits.js';
import { openStorage } from '../server/storage/storage.js';
import { DEFAULT_CSV, exportFraud } from './export-fraud.js';
import { python, runJson } from './baselines.js';
import { BENCH_EARLY_STOPPING, BENCH_FOLD_CUT } from './search-settings.js';
import { machineLine, median, writeSection } from './report.js';

const OUT = fileURLToPath(new URL('./out', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/foldwise.js', import.meta.url));
const BUDGETS = [10, 25, 50] as const;
const STRATEGIES = ['random', 'tpe'] as const;

type Options = {
  readonly seeds: number[];
  readonly trials: number;
  readonly epochs: number;
  readonly workers: number;
  readonly skipOptuna: boolean;
  readonly gridDb: string;
  /** Also TPE with early stopping and fold cutting, timed against the grid benchmark's search with them (`smartGridDb`). */
  readonly pruned: boolean;
  readonly smartGridDb: string;
};

/** One search's trials in trial order: score (null when not complete) and seconds from the search's start to its end. */
type Trials = { readonly scores: (number | null)[]; readonly doneAfterS: (number | null)[]; readonly wallS: number };

/** A foldwise search's experiment name, which is also its data folder's under bench/out. */
const searchName = (strategy: string, seed: number, pruned: boolean) => `strategies-${strategy}${pruned ? '-pruned' : ''}-${seed}`;

/** With `pruned`: the grid benchmark's early stopping and fold cutting, and its longest budget (20 epochs). */
function specYaml(strategy: string, seed: number, options: Options, pruned = false): string {
  const epochs = pruned ? 20 : options.epochs;
  const validation = pruned
    ? `{ kind: kfold, k: 5, stratified: true, earlyStopping: ${BENCH_EARLY_STOPPING} }`
    : '{ kind: kfold, k: 5, stratified: true }';
  return `
name: ${searchName(strategy, seed, pruned)}
dataset: { kind: csv, path: ${DEFAULT_CSV}, target: label }
task: binary
testSplit: { fraction: 0.2 }
model: { optimizer: adam, activation: relu, widthSchedule: constant, epochs: ${epochs} }
search: { strategy: ${strategy}, trials: ${options.trials} }
space:
  learningRate: { float: [1.0e-4, 1.0e-1], log: true }
  l2: { float: [1.0e-6, 1.0e-2], log: true }
  dropout: { float: [0, 0.5] }
  width: { int: [8, 128], log: true }
  depth: { int: [1, 3] }
  batchSize: [32, 64, 128, 256]
validation: ${validation}
${pruned ? `pruning: { foldCut: ${BENCH_FOLD_CUT} }` : ''}
selection: { metric: auc }
seed: ${seed}
`;
}

/** The training rows and each fold's validation rows foldwise cuts from the CSV for `seed`, for the Python side. */
async function writeFolds(seed: number, options: Options): Promise<string> {
  const spec = parseSpec(specYaml('tpe', seed, options));
  const table = await loadDataset(spec.dataset, seed, 'binary');
  const { train } = splitTest(table.y, 'binary', spec.testSplit.fraction, seed);
  const folds = validationSplits(table.y, train, spec.validation, 'binary', seed);
  const path = join(OUT, `fraud.folds-${seed}.json`);
  writeFileSync(path, `${JSON.stringify({ seed, train: Array.from(train), folds: folds.map((f) => Array.from(f.validation)) })}\n`);
  return path;
}

function runFoldwise(strategy: string, seed: number, options: Options, pruned = false): Trials {
  const dataDir = join(OUT, searchName(strategy, seed, pruned));
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const specPath = join(dataDir, 'spec.yaml');
  writeFileSync(specPath, specYaml(strategy, seed, options, pruned));
  const args = [BIN, '--data-dir', dataDir, 'run', specPath, '--workers', String(options.workers), '--no-refit'];
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`foldwise run (${strategy}, seed ${seed}) failed (${result.status}): ${result.stderr}`);
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const [experiment] = storage.experiments.list();
    const runs = storage.runs.list(experiment!.experimentId).sort((a, b) => a.trialNumber! - b.trialNumber!);
    const started = experiment!.startedAt!;
    return {
      scores: runs.map((run) => (run.status === 'done' ? run.scoreMean : null)),
      doneAfterS: runs.map((run) => (run.finishedAt === null ? null : (run.finishedAt - started) / 1000)),
      wallS: (experiment!.finishedAt! - started) / 1000,
    };
  } finally {
    storage.close();
  }
}

type OptunaTrial = { number: number; state: string; value: number | null; complete_s: number | null };

async function runOptuna(seed: number, foldsPath: string, options: Options): Promise<Trials> {
  const argv = python(
    'search_optuna_tpe.py',
    ...['--csv', DEFAULT_CSV, '--folds', foldsPath, '--seed', String(seed)],
    ...['--trials', String(options.trials), '--epochs', String(options.epochs), '--workers', String(options.workers)],
  );
  // Optuna's multivariate TPE with constant_liar and parallel workers can fail on a running trial's
  // missing categorical value (IndexError in _calculate_categorical_params; optuna/optuna#4459):
  // a timing accident of the other worker, so the search is run once more from the start.
  const { value } = await runJson<{ wall_s: number; trials: OptunaTrial[] }>(argv).catch((error: unknown) => {
    console.error(`Optuna TPE, seed ${seed}: failed (${(error as Error).message}); running it once more`);
    return runJson<{ wall_s: number; trials: OptunaTrial[] }>(argv);
  });
  const trials = value.trials.sort((a, b) => a.number - b.number).slice(0, options.trials);
  return {
    scores: trials.map((t) => (t.state === 'COMPLETE' ? t.value : null)),
    doneAfterS: trials.map((t) => t.complete_s),
    wallS: value.wall_s,
  };
}

/** Best score among the first `budget` trials. */
function bestOf(trials: Trials, budget: number): number | null {
  const scores = trials.scores.slice(0, budget).filter((s): s is number => s !== null);
  return scores.length === 0 ? null : Math.max(...scores);
}

/** Seconds from the search's start until a finished trial scored at least `target`; null if none did. */
function timeToReach(trials: Trials, target: number): number | null {
  const times = trials.scores.flatMap((score, i) => (score !== null && score >= target ? [trials.doneAfterS[i]!] : []));
  return times.length === 0 ? null : Math.min(...times);
}

/** The grid benchmark's best CV AUC and search wall, from the database bench/search.ts leaves behind. */
function gridFigures(path: string): { best: number; wallS: number } | null {
  if (!existsSync(path)) return null;
  const storage = openStorage(path);
  try {
    const [experiment] = storage.experiments.list();
    if (!experiment?.startedAt || !experiment.finishedAt) return null;
    const scores = storage.runs
      .list(experiment.experimentId)
      .flatMap((run) => (run.status === 'done' && run.scoreMean !== null ? [run.scoreMean] : []));
    return { best: Math.max(...scores), wallS: (experiment.finishedAt - experiment.startedAt) / 1000 };
  } finally {
    storage.close();
  }
}

/**
 * Time for TPE to reach the grid's best, per seed and as the median over the seeds (a seed that
 * never reached it counts as slower than every seed that did, so the median stays honest).
 */
function timeToGridLine(
  tpe: Record<number, Trials>,
  grid: { best: number; wallS: number },
  options: Options,
  gridLabel: string,
  tpeLabel: string,
): string {
  const percentOfGrid = (seconds: number) => `${((100 * seconds) / grid.wallS).toFixed(0)} %`;
  const perSeed = options.seeds.map((seed) => ({ seed, trials: tpe[seed]!, reached: timeToReach(tpe[seed]!, grid.best) }));
  const cells = perSeed.map(({ seed, trials, reached }) =>
    reached === null
      ? `seed ${seed} not in ${options.trials} trials (${trials.wallS.toFixed(0)} s)`
      : `seed ${seed} ${reached.toFixed(0)} s (${percentOfGrid(reached)})`,
  );
  const medianSeconds = median(perSeed.map(({ reached }) => reached ?? Number.POSITIVE_INFINITY));
  const verdict = Number.isFinite(medianSeconds)
    ? `median **${medianSeconds.toFixed(0)} s = ${percentOfGrid(medianSeconds)}** of the grid's search wall`
    : 'median: not reached';
  return (
    `Time to the grid's best CV AUC (${fmt(grid.best)}, ${gridLabel}, whose search took ` +
    `${grid.wallS.toFixed(1)} s): ${tpeLabel}, from the search's start until a finished trial scored at least that — ` +
    `${cells.join('; ')}; ${verdict}. Target ≤ 40 %.`
  );
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const number = (flag: string, fallback: number) => {
    const text = value(flag);
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a whole number from 1 up, got ${text}`);
    return n;
  };
  const seeds = (value('--seeds') ?? '42,43,44').split(',').map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error('--seeds: expected whole numbers, e.g. 42,43,44');
  return {
    seeds,
    trials: number('--trials', 50),
    epochs: number('--epochs', 20),
    workers: number('--workers', 2),
    skipOptuna: argv.includes('--skip-optuna'),
    gridDb: value('--grid-db') ?? join(OUT, 'search-plain-2w-0', 'foldwise.db'),
    pruned: argv.includes('--pruned'),
    smartGridDb: value('--smart-grid-db') ?? join(OUT, 'search-smart-2w-0', 'foldwise.db'),
  };
}

const fmt = (value: number | null | undefined, digits = 4) => (value === null || value === undefined ? '—' : value.toFixed(digits));

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  if (!existsSync(DEFAULT_CSV)) await exportFraud();
  const results: Record<string, Record<number, Trials>> = { random: {}, tpe: {}, optuna: {}, 'tpe-pruned': {} };
  for (const seed of options.seeds) {
    const foldsPath = await writeFolds(seed, options);
    for (const strategy of STRATEGIES) {
      results[strategy]![seed] = runFoldwise(strategy, seed, options);
      console.error(`foldwise ${strategy}, seed ${seed}: best ${fmt(bestOf(results[strategy]![seed]!, options.trials))}`);
    }
    if (options.pruned) {
      results['tpe-pruned']![seed] = runFoldwise('tpe', seed, options, true);
      console.error(
        `foldwise tpe, early stopping and fold cutting, seed ${seed}: best ${fmt(bestOf(results['tpe-pruned']![seed]!, options.trials))}`,
      );
    }
    if (!options.skipOptuna) {
      results.optuna![seed] = await runOptuna(seed, foldsPath, options);
      console.error(`Optuna TPE, seed ${seed}: best ${fmt(bestOf(results.optuna![seed]!, options.trials))}`);
    }
  }
  writeFileSync(join(OUT, 'search-strategies.json'), `${JSON.stringify({ options, results }, null, 2)}\n`);

  const budgets = [...new Set([...BUDGETS.filter((b) => b <= options.trials), options.trials])];
  const medianAt = (key: string, budget: number) => {
    const values = Object.values(results[key]!).flatMap((trials) => {
      const best = bestOf(trials, budget);
      return best === null ? [] : [best];
    });
    return values.length === 0 ? null : median(values);
  };
  const rows = budgets.map((budget) => {
    const [random = null, tpe = null, optuna = null] = ['random', 'tpe', 'optuna'].map((key) => medianAt(key, budget));
    const meets = (a: number | null, b: number | null) => (a === null || b === null ? '—' : a >= b ? 'yes' : 'no');
    return `| ${budget} | ${fmt(random)} | ${fmt(tpe)} | ${fmt(optuna)} | ${meets(tpe, optuna)} | ${meets(tpe, random)} |`;
  });
  const bestFor = (key: string, seed: number, budget: number) => {
    const trials = results[key]![seed];
    return trials === undefined ? null : bestOf(trials, budget);
  };
  const perSeed = options.seeds.map((seed) => {
    const cells = budgets.map((b) => ['random', 'tpe', 'optuna'].map((key) => fmt(bestFor(key, seed, b))).join(' / '));
    return `| ${seed} | ${cells.join(' | ')} |`;
  });

  const grid = gridFigures(options.gridDb);
  const timeLine =
    grid === null
      ? `Time to the grid's best: no grid database at \`${options.gridDb}\` (run \`bench/search.ts\` first, or pass \`--grid-db\`).`
      : timeToGridLine(results.tpe!, grid, options, 'the full-training grid of bench/search.ts', 'foldwise TPE');
  const smartGrid = options.pruned ? gridFigures(options.smartGridDb) : null;
  const prunedLine = !options.pruned
    ? ''
    : smartGrid === null
      ? `\n\nNo database of the grid with early stopping and fold cutting at \`${options.smartGridDb}\` (run \`bench/search.ts\` first).`
      : `\n\n${timeToGridLine(
          results['tpe-pruned']!,
          smartGrid,
          options,
          'the grid of bench/search.ts with early stopping and fold cutting, like with like',
          `foldwise TPE with the same early stopping ${BENCH_EARLY_STOPPING} and fold cutting ${BENCH_FOLD_CUT}, 20 epochs`,
        )}`;

  writeSection(
    'search-strategies',
    `## Search strategies at the same budget (issue 12)

${machineLine()} · \`node --import tsx bench/search-strategies.ts --seeds ${options.seeds.join(',')} --trials ${options.trials} ` +
      `--epochs ${options.epochs} --workers ${options.workers}${options.pruned ? ' --pruned' : ''}\`

Data: \`bench/out/fraud.csv\` (20,000 × 30, 3 % positives), 20 % test split and 5 stratified folds as foldwise cuts them for each
seed (Optuna trains on the same folds). Space: learning rate (log 1e-4…1e-1), L2 (log 1e-6…1e-2), dropout (0…0.5), width (int,
log 8…128), depth (1…3), batch (32, 64, 128, 256); ${options.epochs} epochs per fold, no early stopping or pruning;
${options.workers} workers each. Best CV ROC AUC after the first N trials, median over seeds ${options.seeds.join(', ')}.

| trials | foldwise random | foldwise TPE | Optuna TPE (PyTorch) | TPE ≥ Optuna | TPE ≥ random |
|---|---|---|---|---|---|
${rows.join('\n')}

Per seed (random / TPE / Optuna):

| seed | ${budgets.map((b) => `${b} trials`).join(' | ')} |
|---|${budgets.map(() => '---').join('|')}|
${perSeed.join('\n')}

${timeLine}${prunedLine}`,
  );
}

await main();
