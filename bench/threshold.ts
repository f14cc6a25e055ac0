/**
 * The operating threshold of issue 11 on the default fraud data (experiments/default.yaml: 20,000
 * rows, 30 features, 3 % positives; 12 configurations × 5 folds), in one run:
 *
 *   - foldwise: the default experiment on the exported CSV (bench/export-fraud.ts: the same
 *     values and test rows the generator gives), with `selection.threshold: { objective: f1 }`:
 *     the threshold chosen on the selected configuration's pooled out-of-fold predictions, frozen
 *     into the refit, the test split scored once at it;
 *   - scikit-learn (bench/python/threshold_sklearn.py): GridSearchCV's winner over the same grid,
 *     its threshold chosen by TunedThresholdClassifierCV's protocol on the winner's out-of-fold
 *     predictions (Debian's scikit-learn 1.2 lacks the class; the script writes it out);
 *   - for both, test F1 at the chosen threshold and at 0.5; and how many of foldwise's
 *     configurations are tied with the best (corrected resampled t-test, Holm, α = 0.05).
 *
 * Expected (issue 11): foldwise's test F1 ≥ scikit-learn's − 0.01, and each ≥ its own F1 at 0.5.
 * Writes the `threshold` section of BENCHMARKS.md and bench/out/threshold.json.
 *
 *   node --import tsx bench/threshold.ts [--seeds 42,43,44,45,46] [--workers 2] [--csv other-export.csv --no-write] [--report-only]
 *
 * Each seed generates its own data set (bench/out/threshold-fraud-SEED.csv) and cuts its own splits: with
 * about 120 positives in a test split, one seed's F1 moves by a few hundredths, so the verdict is on medians.
 *
 * `--csv` takes another file in export-fraud.ts's layout (with its .split.json), e.g. a few
 * thousand of its rows for a quick check of the script; `--no-write` prints the section instead
 * of writing BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { selectionOf } from '../server/selection/selection.js';
import { openStorage } from '../server/storage/storage.js';
import { meanAndStd } from '../server/storage/run-store.js';
import { selectBackend } from '../worker/backend.js';
import { predictFromCsv } from '../worker/models/model-files.js';
import { confusionAt, decisionMetrics } from '../worker/training/metrics.js';
import { python, runJson } from './baselines.js';
import { exportFraud, splitPathFor } from './export-fraud.js';
import { machineLine, median, writeSection } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = fileURLToPath(new URL('./out', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/foldwise.js', import.meta.url));

/** experiments/default.yaml on the exported CSV, with the threshold chosen for F1. */
const SPEC = (csv: string, seed: number) => `
name: bench-threshold
dataset: { kind: csv, path: ${csv}, target: label }
task: binary
testSplit: { fraction: 0.2 }
model: { activation: relu, optimizer: adam, learningRate: 0.003, widthSchedule: halve }
grid: { depth: [1, 2, 3], width: [32, 64], batchSize: [128, 256], epochs: 20 }
validation:
  kind: kfold
  k: 5
  stratified: true
  earlyStopping: { monitor: val_auc, patience: 4, minDelta: 0.0005, restoreBestWeights: true }
selection: { metric: auc, direction: maximize, threshold: { objective: f1 } }
seed: ${seed}
`;

type SklearnThreshold = {
  best_params: Record<string, unknown>;
  best_cv_auc: number;
  test_auc: number;
  threshold: number;
  cv_f1: number;
  cv_f1_by_fold: number[];
  test_f1_at_threshold: number;
  test_f1_at_half: number;
  configs: number;
  loadavg_start: number[];
  search_s: number;
  threshold_s: number;
  runtime: { sklearn: string | null; python_version: string };
};

type FoldwiseThreshold = {
  readonly selectedRun: number;
  readonly params: string;
  readonly bestCvAuc: number | null;
  readonly testAuc: number | null;
  readonly threshold: number;
  readonly pooledF1: number | null;
  readonly cvF1Mean: number | null;
  readonly cvF1Std: number | null;
  readonly testF1AtThreshold: number;
  readonly testF1AtHalf: number;
  readonly tiedWithBest: number | null;
  readonly configs: number;
  readonly wallS: number;
};

function log(message: string): void {
  process.stderr.write(`[threshold] ${message}\n`);
}

/** The test rows of the exported CSV (foldwise's test split), keyed by column, and their labels. */
function testRows(csv: string): { rows: Record<string, string>[]; labels: Float32Array } {
  const all = parse(readFileSync(csv, 'utf8'), { columns: true }) as Record<string, string>[];
  const { test } = JSON.parse(readFileSync(splitPathFor(csv), 'utf8')) as { test: number[] };
  const rows = test.map((index) => all[index]!);
  return { rows, labels: Float32Array.from(rows, (row) => Number(row.label)) };
}

async function runFoldwise(csv: string, seed: number, workers: number): Promise<FoldwiseThreshold> {
  const dataDir = join(OUT, 'threshold-foldwise');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const specPath = join(dataDir, 'spec.yaml');
  writeFileSync(specPath, SPEC(csv, seed));
  const started = performance.now();
  const result = spawnSync(process.execPath, [BIN, '--data-dir', dataDir, 'run', specPath, '--workers', String(workers)], {
    encoding: 'utf8',
  });
  const wallS = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`foldwise run failed (${result.status}): ${result.stderr}`);
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  let chosen: { path: string; threshold: number } & Omit<FoldwiseThreshold, 'testF1AtHalf' | 'wallS'>;
  try {
    const experiment = storage.experiments.findByName('bench-threshold')!;
    const selection = selectionOf(experiment, storage.runs);
    const model = storage.models.ofExperiment(experiment.experimentId).find((m) => m.sourceRunId === selection.selected?.runId);
    if (!model?.decision || !selection.selected) throw new Error('the selected configuration has no refit with a decision');
    const cv = meanAndStd(model.decision.folds.f1 ?? []);
    const { params } = selection.selected;
    chosen = {
      path: model.path,
      selectedRun: selection.selected.number,
      params: `depth ${params.depth}, width ${params.width}, batch ${params.batchSize}`,
      bestCvAuc: selection.selected.scoreMean,
      testAuc: model.testMetrics.test_auc ?? null,
      threshold: model.decision.threshold,
      pooledF1: model.decision.pooled,
      cvF1Mean: cv.mean,
      cvF1Std: cv.std,
      testF1AtThreshold: model.testMetrics.test_f1 ?? Number.NaN,
      tiedWithBest: [...selection.comparisons.values()].some((c) => c.tied === null)
        ? null
        : [...selection.comparisons.values()].filter((c) => c.tied === true).length,
      configs: selection.ranked.length,
    };
  } finally {
    storage.close();
  }
  // F1 at 0.5 of the same refit model on the same test rows (predict's probabilities).
  const { tf } = await selectBackend();
  const { rows, labels } = testRows(csv);
  const predicted = await predictFromCsv(tf, chosen.path, rows);
  const p = predicted.rows.map((row) => row[2] as number);
  const atHalf = decisionMetrics(confusionAt(labels, p, 0.5)).f1;
  const atThreshold = decisionMetrics(confusionAt(labels, p, chosen.threshold)).f1;
  if (Math.abs(atThreshold - chosen.testF1AtThreshold) > 1e-12)
    log(`warning: predict's F1 at the threshold (${atThreshold}) differs from the refit's (${chosen.testF1AtThreshold})`);
  const { path: _path, ...figures } = chosen;
  return { ...figures, testF1AtHalf: atHalf, wallS };
}

const f4 = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : value.toFixed(4));

function markdown(results: readonly SeedResult[], commands: readonly string[]): string {
  const fwF1 = median(results.map((r) => r.foldwise.testF1AtThreshold));
  const skF1 = median(results.map((r) => r.sklearn.test_f1_at_threshold));
  const verdict = (ok: boolean) => (ok ? 'yes' : '**no**');
  const fwHalf = median(results.map((r) => r.foldwise.testF1AtHalf));
  const skHalf = median(results.map((r) => r.sklearn.test_f1_at_half));
  const atLeastHalf = (atThreshold: number, atHalf: number) => `${verdict(atThreshold >= atHalf)} (${f4(atThreshold)} vs ${f4(atHalf)})`;
  const seedsAtLeastHalf = (of: (r: SeedResult) => [number, number]) => results.filter((r) => of(r)[0] >= of(r)[1]).length;
  const skParams = (sk: SklearnThreshold) =>
    `(${(sk.best_params.hidden_layer_sizes as number[]).join(', ')}), batch ${String(sk.best_params.batch_size)}`;
  const rows = results.flatMap(({ seed, foldwise: fw, sklearn: sk }) => [
    `| ${seed} | foldwise | run #${fw.selectedRun}: ${fw.params} | ${f4(fw.bestCvAuc)} | ${f4(fw.threshold)} | ` +
      `${f4(fw.cvF1Mean)} ± ${f4(fw.cvF1Std)} | **${f4(fw.testF1AtThreshold)}** | ${f4(fw.testF1AtHalf)} | ${f4(fw.testAuc)} | ` +
      `${fw.tiedWithBest ?? '—'} of ${fw.configs} |`,
    `| ${seed} | scikit-learn | ${skParams(sk)} | ${f4(sk.best_cv_auc)} | ${f4(sk.threshold)} | ${f4(sk.cv_f1)} | ` +
      `**${f4(sk.test_f1_at_threshold)}** | ${f4(sk.test_f1_at_half)} | ${f4(sk.test_auc)} | |`,
  ]);
  const differences = results.map((r) => r.foldwise.testF1AtThreshold - r.sklearn.test_f1_at_threshold);
  const sk = results[0]!.sklearn;
  return [
    '## Operating threshold: F1 on the test split at a threshold chosen in CV (issue 11)',
    '',
    `${machineLine()} · written by \`bench/threshold.ts --seeds ${results.map((r) => r.seed).join(',')}\``,
    '',
    "The default experiment's data (fraud, 20,000 rows, 3 % positives; foldwise's stratified 20 % test split) and grid " +
      '(depth {1,2,3} × width {32,64} halving × batch {128,256}, 20 epochs, 5-fold CV, ranked by ROC AUC). Each tool ' +
      'chooses a configuration, then a threshold for F1 without the test split, then scores the test split once. ' +
      'foldwise: `selection.threshold: { objective: f1 }` on the pooled out-of-fold predictions of the selected ' +
      `configuration (early stopping on val_auc, as the default experiment); scikit-learn ${sk.runtime.sklearn}: the ` +
      "GridSearchCV winner (MLPClassifier, 20 epochs), TunedThresholdClassifierCV's protocol (mean F1 curve over folds, " +
      '100 thresholds; the class itself is not in Debian’s scikit-learn). Each seed generates its own data and splits.',
    '',
    '```sh',
    ...commands,
    '```',
    '',
    '| seed | tool | configuration | CV ROC AUC | threshold | CV F1 at it | test F1 at it | test F1 at 0.5 | test ROC AUC | ' +
      'tied with best |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    `- Median test F1 at the chosen threshold over ${results.length} seeds: foldwise **${f4(fwF1)}**, scikit-learn ` +
      `**${f4(skF1)}**; foldwise ≥ scikit-learn − 0.01: ${verdict(fwF1 >= skF1 - 0.01)}. Per-seed differences foldwise − ` +
      `scikit-learn: ${differences.map((d) => (d >= 0 ? '+' : '') + d.toFixed(4)).join(', ')}.`,
    `- At 0.5, foldwise's refit scores a median test F1 of ${f4(fwHalf)} and scikit-learn's ${f4(skHalf)}; the chosen ` +
      'threshold adds a median ' +
      `${f4(median(results.map((r) => r.foldwise.testF1AtThreshold - r.foldwise.testF1AtHalf)))} (foldwise, pooled out-of-fold ` +
      `predictions) and ${f4(median(results.map((r) => r.sklearn.test_f1_at_threshold - r.sklearn.test_f1_at_half)))} ` +
      '(scikit-learn, mean of the per-fold F1 curves).',
    `- Each at least its own F1 at 0.5 (medians over the seeds, the verdict): foldwise ${atLeastHalf(fwF1, fwHalf)}, ` +
      `scikit-learn ${atLeastHalf(skF1, skHalf)}; seed by seed, foldwise on ` +
      `${seedsAtLeastHalf((r) => [r.foldwise.testF1AtThreshold, r.foldwise.testF1AtHalf])} of ${results.length}, scikit-learn on ` +
      `${seedsAtLeastHalf((r) => [r.sklearn.test_f1_at_threshold, r.sklearn.test_f1_at_half])} ` +
      '(about 120 positives in a test split: one seed moves by a few hundredths either way).',
    "- foldwise's CV F1 is the mean ± std over the 5 folds at the frozen threshold; scikit-learn's is the highest point " +
      'of the fold-averaged F1 curve.',
    '- "Tied with best": configurations (the best included) not significantly worse than the best at α = 0.05 ' +
      '(corrected resampled t-test over the 5 folds, Holm-adjusted), on the default experiment of each seed.',
    `- Not timed for comparison (the machine was shared with other work; load average at the start of the Python ` +
      `scripts: ${results.map((r) => r.sklearn.loadavg_start[0]).join(', ')}).`,
  ].join('\n');
}

type Options = { seeds: number[]; workers: number; csv: string | null; write: boolean; reportOnly?: boolean };

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { seeds: [42, 43, 44, 45, 46], workers: 2, csv: null, write: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--workers' && Number.isInteger(Number(value))) {
      options.workers = Number(value);
      i++;
    } else if ((flag === '--seeds' || flag === '--seed') && value !== undefined && /^\d+(,\d+)*$/.test(value)) {
      options.seeds = value.split(',').map(Number);
      i++;
    } else if (flag === '--csv' && value !== undefined) {
      options.csv = resolve(value);
      i++;
    } else if (flag === '--no-write') options.write = false;
    else if (flag === '--report-only') options.reportOnly = true;
    else
      throw new Error(
        `usage: threshold.ts [--seeds 42,43,...] [--workers N] [--csv FILE] [--no-write] [--report-only] (bad argument: ${flag})`,
      );
  }
  return options;
}

type SeedResult = { readonly seed: number; readonly foldwise: FoldwiseThreshold; readonly sklearn: SklearnThreshold };

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { seeds, workers, csv: otherCsv, write, reportOnly } = parseArgs(process.argv.slice(2));
  const saved = reportOnly ? (JSON.parse(readFileSync(join(OUT, 'threshold.json'), 'utf8')) as { results: SeedResult[] }) : null;
  const results: SeedResult[] = saved?.results ?? [];
  const perSeed = relative(ROOT, join(OUT, 'threshold-fraud-SEED.csv'));
  const commands = [
    `node --import tsx bench/export-fraud.ts --out ${perSeed} --seed SEED`,
    `foldwise run <the default experiment on that CSV, seed SEED, selection.threshold: { objective: f1 }> --workers ${workers}`,
    python('threshold_sklearn.py', '--csv', perSeed, '--seed', 'SEED', '--n-jobs', String(workers)).join(' '),
  ];
  for (const seed of reportOnly ? [] : seeds) {
    const csvPath = otherCsv ?? join(OUT, `threshold-fraud-${seed}.csv`);
    const csv = relative(ROOT, csvPath);
    if (otherCsv === null) {
      log(`seed ${seed}: exporting the fraud data set`);
      await exportFraud({ out: csvPath, seed });
    }
    log(`seed ${seed}: foldwise, the default experiment with selection.threshold f1`);
    const foldwise = await runFoldwise(csvPath, seed, workers);
    log(`seed ${seed}: scikit-learn, GridSearchCV, then the threshold on the winner's out-of-fold predictions`);
    const sklearnArgs = python('threshold_sklearn.py', '--csv', csv, '--seed', String(seed), '--n-jobs', String(workers));
    const sklearn = (await runJson<SklearnThreshold>(sklearnArgs)).value;
    results.push({ seed, foldwise, sklearn });
    log(`seed ${seed}: foldwise test F1 ${f4(foldwise.testF1AtThreshold)}, scikit-learn ${f4(sklearn.test_f1_at_threshold)}`);
  }
  mkdirSync(OUT, { recursive: true });
  if (!reportOnly) writeFileSync(join(OUT, 'threshold.json'), `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
  const section = markdown(results, commands);
  if (write) writeSection('threshold', section);
  else console.log(section);
}
