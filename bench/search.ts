/**
 * The whole search of issue 6, timed end to end through the real CLI: fraud data (20,000 rows, 30
 * features, 3 % positives) exported once to CSV (the same file and test rows the Python baselines
 * use), grid depth {1,2,3} × width {32,64} × batch {64,128} × epochs {10,20}, 5-fold CV, refit of
 * the best on all training rows, test ROC AUC. Also: scaling from 1 to 2 workers, and the share of
 * wall time spent outside training.
 *
 *   node --import tsx bench/search.ts [--repeat 3] [--skip-scaling] [--skip-sklearn] [--foldcut]
 *
 * Each round runs GridSearchCV and the foldwise searches back to back; ratios are medians of the per-round ratios.
 *
 * Compares with bench/out/baselines.json when bench/baselines.ts has written it in the same session.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage } from '../server/storage/storage.js';
import { exportFraud, DEFAULT_CSV } from './export-fraud.js';
import { kernelScaling } from './kernel-scaling.js';
import { BENCH_EARLY_STOPPING, BENCH_FOLD_CUT } from './search-settings.js';
import { machineLine, median, writeSection } from './report.js';
import { python, runJson } from './baselines.js';

const OUT = fileURLToPath(new URL('./out', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/foldwise.js', import.meta.url));

export type Variant = {
  readonly key: string;
  readonly label: string;
  readonly yaml: string;
  /** Epoch-prefix sharing (README: a configuration that differs only in fewer epochs rides on the longer one). */
  readonly sharePrefixes?: boolean;
};

/** The benchmark's data: the fraud CSV and the seed of its splits (bench/search-seeds.ts varies both). */
export type SearchData = { readonly csv: string; readonly seed: number };
const DEFAULT_DATA: SearchData = { csv: DEFAULT_CSV, seed: 42 };

const BASE = (
  name: string,
  extra: string,
  grid = 'depth: [1, 2, 3]\n  width: [32, 64]\n  batchSize: [64, 128]\n  epochs: [10, 20]',
  data: SearchData = DEFAULT_DATA,
) => `
name: ${name}
dataset: { kind: csv, path: ${data.csv}, target: label }
task: binary
testSplit: { fraction: 0.2 }
model: { optimizer: adam, learningRate: 0.001, widthSchedule: halve, activation: relu }
grid:
  ${grid}
validation:
  kind: kfold
  k: 5
  stratified: true
${extra}
selection: { metric: auc }
seed: ${data.seed}
`;

/** Full training (GridSearchCV's protocol) on `data`. */
export const plainVariant = (data: SearchData = DEFAULT_DATA): Variant => ({
  key: 'plain',
  label: "foldwise, every configuration trained in full (as GridSearchCV); 10-epoch ones read off the 20-epoch ones' first epochs",
  yaml: BASE('bench-plain', '', undefined, data),
});

/** Early stopping on val_auc and fold cutting, the settings of bench/search-settings.ts, on `data`. */
export const smartVariant = (data: SearchData = DEFAULT_DATA): Variant => ({
  key: 'smart',
  label: 'foldwise, early stopping on val_auc + fold cutting',
  yaml: BASE('bench-smart', `  earlyStopping: ${BENCH_EARLY_STOPPING}\npruning:\n  foldCut: ${BENCH_FOLD_CUT}`, undefined, data),
});

const VARIANTS: Variant[] = [
  plainVariant(),
  {
    // The same search with epoch-prefix sharing off: every configuration trains on its own.
    key: 'plain-unshared',
    label: 'foldwise, every configuration trained in full and on its own (FOLDWISE_SHARE_PREFIXES=0)',
    yaml: BASE('bench-plain-unshared', ''),
    sharePrefixes: false,
  },
  {
    // Shows that fold cutting alone keeps GridSearchCV's winner while skipping folds.
    key: 'foldcut',
    label: 'foldwise, fold cutting only (full training otherwise)',
    yaml: BASE('bench-foldcut', `pruning:\n  foldCut: ${BENCH_FOLD_CUT}`),
  },
  smartVariant(),
];

export type Measured = {
  readonly wallS: number;
  /** From the search's start to its end, as recorded in the database: no process start-up, no refit. */
  readonly searchWallS: number;
  /** From the command's start to the search's (Node, the CLI's modules, workers ready, the data read and checked). */
  readonly beforeSearchS: number;
  /** Samples trained in the search (rows × epochs over every fold). */
  readonly searchSamples: number;
  readonly bestCvAuc: number | null;
  readonly bestParams: string;
  readonly testAuc: number | null;
  readonly epochsTrained: number;
  readonly runsPruned: number;
  readonly outsideTrainingShare: number;
};

export function runSearch(variant: Variant, workers: number, suffix: string): Measured {
  const dataDir = join(OUT, `search-${variant.key}-${suffix}`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const specPath = join(dataDir, 'spec.yaml');
  writeFileSync(specPath, variant.yaml);
  const started = process.hrtime.bigint();
  const startedAtMs = Date.now();
  const sharePrefixes = variant.sharePrefixes ?? true;
  const result = spawnSync(process.execPath, [BIN, '--data-dir', dataDir, 'run', specPath, '--workers', String(workers)], {
    encoding: 'utf8',
    env: { ...process.env, FOLDWISE_SHARE_PREFIXES: sharePrefixes ? '1' : '0' },
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`foldwise run failed (${result.status}): ${result.stderr}`);
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const [experiment] = storage.experiments.list();
    const runs = storage.runs.list(experiment!.experimentId);
    const refits = storage.runs.list(experiment!.experimentId, 'refit');
    const refitFolds = refits.flatMap((run) => storage.runs.folds(run.runId));
    const epochsOf = (list: readonly { stoppedEpoch: number | null }[]) =>
      list.reduce((sum, fold) => sum + (fold.stoppedEpoch === null ? 0 : fold.stoppedEpoch + 1), 0);
    const trained = trainedFolds(runs, (runId) => storage.runs.folds(runId), sharePrefixes);
    const epochsTrained = epochsOf(trained) + epochsOf(refitFolds);
    const searchTrainMs = trained.reduce((sum, fold) => sum + (fold.trainMs ?? 0), 0);
    const searchWallS = (experiment!.finishedAt! - experiment!.startedAt!) / 1000;
    const beforeSearchS = (experiment!.startedAt! - startedAtMs) / 1000;
    // Each fold trains on 4/5 of the 16,000 non-test rows.
    const searchSamples = epochsOf(trained) * 16_000 * (4 / 5);
    const model = storage.models.ofExperiment(experiment!.experimentId)[0];
    const best = model?.sourceRunId ? storage.runs.get(model.sourceRunId) : undefined;
    return {
      wallS,
      searchWallS,
      beforeSearchS,
      searchSamples,
      bestCvAuc: best?.scoreMean ?? null,
      bestParams: best ? describeParams(best.paramsJson) : '—',
      testAuc: model?.testMetrics.test_auc ?? null,
      epochsTrained,
      runsPruned: runs.filter((run) => run.status === 'pruned').length,
      outsideTrainingShare: Math.max(0, 1 - searchTrainMs / 1000 / (workers * searchWallS)),
    };
  } finally {
    storage.close();
  }
}

type FoldTimes = { readonly foldIndex: number; readonly stoppedEpoch: number | null; readonly trainMs: number | null };

/**
 * The folds that were trained. With epoch-prefix sharing (the default; FOLDWISE_SHARE_PREFIXES=0 is off) a
 * configuration that differs only in fewer epochs rides on the longer one's task and its fold
 * records the carrier's first epochs and time: per fold, only the longest of such a group trained.
 */
function trainedFolds<F extends FoldTimes>(
  runs: readonly { readonly runId: number; readonly paramsJson: string }[],
  foldsOf: (runId: number) => readonly F[],
  sharePrefixes: boolean,
): F[] {
  const all = runs.flatMap((run) => foldsOf(run.runId).map((fold) => ({ run, fold })));
  if (!sharePrefixes) return all.map(({ fold }) => fold);
  const longest = new Map<string, F>();
  for (const { run, fold } of all) {
    const { epochs: _epochs, ...rest } = JSON.parse(run.paramsJson) as Record<string, unknown>;
    const key = `${JSON.stringify(rest)}\0${fold.foldIndex}`;
    const held = longest.get(key);
    if (held === undefined || (fold.stoppedEpoch ?? -1) > (held.stoppedEpoch ?? -1)) longest.set(key, fold);
  }
  return [...longest.values()];
}

function describeParams(paramsJson: string): string {
  const p = JSON.parse(paramsJson) as Record<string, unknown>;
  return `depth ${p.depth}, width ${p.width}, batch ${p.batchSize}, epochs ${p.epochs}`;
}

export function fmt(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined ? '—' : value.toFixed(digits);
}

export type Baseline = { wall_s: number; best_cv_auc: number; test_auc: number; epochs_total: number };

/** The Python searches bench/baselines.ts measured (bench/out/baselines.json), by label. */
function readBaselines(): Record<string, Baseline> {
  const path = join(OUT, 'baselines.json');
  if (!existsSync(path)) return {};
  const raw = JSON.parse(readFileSync(path, 'utf8')) as {
    sklearn?: { full?: Baseline; early_stopping?: Baseline };
    optuna?: { no_pruning?: Baseline; median_pruner?: Baseline };
  };
  const entries: [string, Baseline | undefined][] = [
    ['GridSearchCV(MLPClassifier), n_jobs=2', raw.sklearn?.full],
    ['GridSearchCV, early_stopping=True', raw.sklearn?.early_stopping],
    ['Optuna + PyTorch, 2 processes', raw.optuna?.no_pruning],
    ['Optuna + PyTorch, MedianPruner', raw.optuna?.median_pruner],
  ];
  return Object.fromEntries(entries.filter((entry): entry is [string, Baseline] => entry[1] !== undefined));
}

/** Samples trained per second of the search's wall time. */
const rate = (m: Measured) => m.searchSamples / m.searchWallS;

type Round = {
  readonly sklearn: Baseline | undefined;
  /** The whole Python process of search_sklearn.py, start to exit (imports, the CSV, fit, test scoring), as `time` shows it. */
  readonly sklearnScriptS: number | undefined;
  readonly measured: Record<string, Measured>;
  readonly scaling: { readonly one: Measured; readonly two: Measured; readonly kernels: number } | undefined;
  /** The 1-minute load average when the round started. */
  readonly load: number;
};

const SCALING: Variant = {
  key: 'scaling',
  label: 'scaling',
  yaml: BASE('bench-scaling', '', 'depth: [1, 2]\n  width: [32, 64]\n  batchSize: [64, 128]\n  epochs: 10'),
};

/**
 * One paired round: GridSearchCV, then each foldwise variant, then the scaling pair, back to back, so
 * the ratios compare runs that shared the machine's conditions.
 */
async function runRound(index: number, args: readonly string[], variants: readonly Variant[]): Promise<Round> {
  const load = loadavg()[0]!;
  const script = args.includes('--skip-sklearn')
    ? undefined
    : await runJson<{ full: Baseline }>(
        python('search_sklearn.py', '--csv', DEFAULT_CSV, '--seed', '42', '--n-jobs', '2', '--variants', 'full'),
      );
  const sklearn = script?.value.full;
  if (sklearn)
    console.error(
      `#${index + 1} GridSearchCV: ${sklearn.wall_s.toFixed(1)} s, CV AUC ${fmt(sklearn.best_cv_auc)}, test AUC ${fmt(sklearn.test_auc)}`,
    );
  const measured: Record<string, Measured> = {};
  for (const variant of variants) {
    const m = runSearch(variant, 2, `2w-${index}`);
    measured[variant.key] = m;
    console.error(
      `#${index + 1} ${variant.key}: ${m.wallS.toFixed(1)} s, CV AUC ${fmt(m.bestCvAuc)}, test AUC ${fmt(m.testAuc)}, ` +
        `${m.epochsTrained} epochs`,
    );
  }
  let scaling: Round['scaling'];
  if (!args.includes('--skip-scaling')) {
    const one = runSearch(SCALING, 1, `1w-${index}`);
    const two = runSearch(SCALING, 2, `2w-${index}`);
    // The same machine's bound, right after: bare kernels in two processes against one (kernel-scaling.ts).
    scaling = { one, two, kernels: (await kernelScaling()).ratio };
    console.error(
      `#${index + 1} scaling: 2 workers ${fmt(rate(two) / rate(one), 2)}× one; bare kernels in 2 processes ${fmt(scaling.kernels, 2)}× one`,
    );
  }
  return { sklearn, sklearnScriptS: script?.seconds, measured, scaling, load };
}

/** The round whose value is the median of `of` over the rounds (the upper one for an even count). */
function medianRound<T>(items: readonly T[], of: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => of(a) - of(b));
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const repeat = Number(args[args.indexOf('--repeat') + 1] ?? 1) || 1;
  mkdirSync(OUT, { recursive: true });
  if (!existsSync(DEFAULT_CSV)) await exportFraud();
  const variants = VARIANTS.filter((v) => v.key !== 'foldcut' || args.includes('--foldcut'));

  const rounds: Round[] = [];
  for (let i = 0; i < repeat; i++) rounds.push(await runRound(i, args, variants));

  const rows: string[] = [];
  for (const variant of variants) {
    const ms = rounds.map((r) => r.measured[variant.key]!);
    const mid = medianRound(ms, (m) => m.wallS);
    rows.push(
      `| ${variant.label} | ${fmt(median(ms.map((m) => m.wallS)), 1)} | ${fmt(mid.bestCvAuc)} (${mid.bestParams}) | ` +
        `${fmt(mid.testAuc)} | ${mid.epochsTrained} | ${mid.runsPruned} | ` +
        `${(100 * mid.outsideTrainingShare).toFixed(1)} % |`,
    );
  }
  const sklearnRounds = rounds.flatMap((r) => (r.sklearn ? [r.sklearn] : []));
  if (sklearnRounds.length > 0) {
    const mid = medianRound(sklearnRounds, (b) => b.wall_s);
    rows.unshift(
      `| **GridSearchCV(MLPClassifier), n_jobs=2, this run** | ${fmt(median(sklearnRounds.map((b) => b.wall_s)), 1)} | ` +
        `${fmt(mid.best_cv_auc)} | ${fmt(mid.test_auc)} | ${mid.epochs_total} | | |`,
    );
  }
  const baselines = readBaselines();
  const baselineRows = Object.entries(baselines).map(
    ([name, b]) =>
      `| ${name} (from baselines.json) | ${fmt(b.wall_s, 1)} | ${fmt(b.best_cv_auc)} | ${fmt(b.test_auc)} | ${b.epochs_total} | | |`,
  );

  let scaling = '';
  const scaled = rounds.flatMap((r) => (r.scaling ? [r.scaling] : []));
  if (scaled.length > 0) {
    const speedups = scaled.map((s) => rate(s.two) / rate(s.one));
    const mid = medianRound(scaled, (s) => rate(s.two) / rate(s.one));
    const scalingRow = (workers: number, m: Measured) =>
      `| ${workers} | ${fmt(m.searchWallS, 1)} | ${Math.round(rate(m)).toLocaleString('en')} | ${fmt(m.wallS, 1)} | ` +
      `${(100 * m.outsideTrainingShare).toFixed(1)} % |`;
    scaling =
      `
### Scaling and overhead

8 configurations (depth {1,2} × width {32,64} × batch {64,128}) × 5 folds × 10 epochs, same data. Throughput = samples trained
in the search ÷ the search's wall time as recorded in the database (from dispatch of the first task to the last result; worker
start-up and the refit excluded, they are in the whole-command walls above). The round with the median speed-up:

| workers | search wall (s) | samples/s | whole command (s) | search time outside training |
|---|---|---|---|---|
${scalingRow(1, mid.one)}
${scalingRow(2, mid.two)}

2 workers give **${fmt(median(speedups), 2)}×** the throughput of 1, median of ${speedups.length} round(s) ` +
      `(${speedups.map((x) => fmt(x, 2)).join(', ')}; target ≥ 1.9×). The machine's own bound, measured right after in ` +
      `each round (bench/kernel-scaling.ts: a fold's bare kernels, no foldwise code, in two processes against one): ` +
      `**${fmt(median(scaled.map((s) => s.kernels)), 2)}×** (${scaled.map((s) => fmt(s.kernels, 2)).join(', ')}). ` +
      `"Outside training" = 1 − Σ fold training time ÷ (workers ×
search wall): scheduling, IPC messages, SQLite writes, per-task data preparation (target ≤ 5 %).`;
  }

  const paired = rounds.filter((r) => r.sklearn !== undefined);
  /** A foldwise variant's whole command over GridSearchCV, round by round: over its `fit` (default) or over its whole script. */
  const ratio = (key: string, base: (r: Round) => number = (r) => r.sklearn!.wall_s) => paired.map((r) => r.measured[key]!.wallS / base(r));
  const perRound = (ratios: readonly number[]) => `${fmt(median(ratios), 2)}×** (per round: ${ratios.map((x) => fmt(x, 2)).join(', ')})`;
  const plain = medianRound(rounds, (r) => r.measured.plain!.wallS).measured.plain!;
  const smart = medianRound(rounds, (r) => r.measured.smart!.wallS).measured.smart!;
  const unshared = medianRound(rounds, (r) => r.measured['plain-unshared']!.wallS).measured['plain-unshared']!;
  const sk = sklearnRounds.length > 0 ? medianRound(sklearnRounds, (b) => b.wall_s) : baselines['GridSearchCV(MLPClassifier), n_jobs=2'];
  const ratioText = (key: string, fallback: Measured) => {
    const ratios = ratio(key);
    return ratios.length > 0 ? perRound(ratios) : `${fmt(fallback.wallS / sk!.wall_s, 2)}×**`;
  };
  const target = sk
    ? `Against GridSearchCV${paired.length > 0 ? ' in the same rounds (median of the per-round ratios)' : ' (from baselines.json)'}: ` +
      `foldwise with full training took **${ratioText('plain', plain)} its wall time ` +
      `(test AUC ${fmt(plain.testAuc)} vs ${fmt(sk.test_auc)}); with epoch-prefix sharing off ` +
      `**${ratioText('plain-unshared', unshared)}; with early stopping and fold cutting ` +
      `**${ratioText('smart', smart)} (test AUC ${fmt(smart.testAuc)}). ` +
      `Targets (issue 14): full training ≤ 0.9×; early stopping + fold cutting ≤ 0.6× with test AUC ≥ GridSearchCV's − 0.005 = ` +
      `${fmt(sk.test_auc - 0.005)}.`
    : 'No GridSearchCV figure: run without --skip-sklearn (needs bench/python/setup.sh).';
  // GridSearchCV's wall above is its fit() alone, foldwise's the whole command: this pairs like with like.
  const wholeText = (key: string) => `**${perRound(ratio(key, (r) => r.sklearnScriptS!))}`;
  const whole =
    paired.length === 0
      ? ''
      : `\n\nThe same foldwise commands against the whole Python script rather than its \`fit\` (Python's start, the imports, ` +
        `reading the CSV, GridSearchCV.fit, scoring the test split, exit: ` +
        `${fmt(median(paired.map((r) => r.sklearnScriptS!)), 1)} s), as \`time\` shows a user each: full training ` +
        `${wholeText('plain')}, early stopping and fold cutting ${wholeText('smart')}. foldwise's full-training command spent ` +
        `${fmt(plain.beforeSearchS, 1)} s before its search started (Node and the CLI's modules, two workers loading ` +
        `TensorFlow.js, a worker reading and checking the CSV) and ${fmt(plain.wallS - plain.beforeSearchS - plain.searchWallS, 1)} s ` +
        `after it (the refit, scoring the test split, writing the model).`;

  writeSection(
    'search',
    `## Whole search: the issue-6 benchmark grid

${machineLine()} · \`node --import tsx bench/search.ts --repeat ${repeat}\` · medians of ${repeat} paired round(s), 2 workers · ` +
      `1-minute load average at each round's start: ${rounds.map((r) => r.load.toFixed(2)).join(', ')}

Data: \`bench/out/fraud.csv\` (foldwise's fraud generator, seed 42, 20,000 × 30, 3 % positives), 20 % stratified test split
(the rows in \`fraud.split.json\`). Grid: depth {1,2,3} × width {32,64} (halving) × batch {64,128} × epochs {10,20} = 24
configurations, 5-fold stratified CV, Adam lr 0.001, refit of the best on all 16,000 training rows. Wall time includes
starting the workers and the refit. Each round runs GridSearchCV, then each foldwise search, then the scaling pair.

| search | wall (s) | best CV ROC AUC (config) | refit test ROC AUC | epochs trained | runs pruned | search time outside training |
|---|---|---|---|---|---|---|
${[...rows, ...baselineRows].join('\n')}

${target}${whole}
${scaling}`,
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
