/**
 * The Python baselines of issue 6, measured on this machine, for the other bench scripts to
 * compare foldwise against in the same run:
 *
 *   1. bench/export-fraud.ts writes the fraud data set and foldwise's own test split;
 *   2. bench/python/setup.sh installs Debian's python3-sklearn, python3-torch, python3-optuna
 *      (and python3-threadpoolctl) when missing, and reports the BLAS kernel numpy uses;
 *   3. bench/python/engine.py (--engine-repeats times, default 3): single-thread samples/s of
 *      the reference MLP, scikit-learn and PyTorch, median of 3 fits each per run;
 *   4. bench/python/search_sklearn.py: GridSearchCV over the 24-configuration grid, with and
 *      without scikit-learn's early stopping;
 *   5. bench/python/search_optuna.py: Optuna + PyTorch, two processes on one SQLite storage,
 *      without pruning and with MedianPruner.
 *
 * Every Python script prints one JSON object on stdout. Python runs as Debian's /usr/bin/python3
 * (not whatever python3 is first on PATH), with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset
 * for that command only. Writes the `baselines` section of BENCHMARKS.md and the raw results to
 * bench/out/baselines.json.
 *
 *   node --import tsx bench/baselines.ts [--engine-repeats 3] [--seed 42] [--skip-search]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportFraud, type ExportSummary } from './export-fraud.js';
import { machineLine, median, writeSection } from './report.js';

export const PYTHON = '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = fileURLToPath(new URL('./out', import.meta.url));
export const BASELINES_JSON = resolve(OUT_DIR, 'baselines.json');
const PY_DIR = 'bench/python';
/** Prefix of every Python command: those two variables unset together, for that command only. */
const PY_ENV = ['env', '-u', 'OPENBLAS_CORETYPE', '-u', 'OPENBLAS_L2_SIZE'] as const;

// ───────────────────────────── result shapes (what the Python scripts print) ─────────────────────────────

type Runtime = {
  python: string;
  python_version: string;
  numpy: string;
  sklearn: string | null;
  torch: string | null;
  optuna: string | null;
  blas_kernel: string | null;
  loadavg_1_5_15?: number[];
  threadpools?: unknown;
};
type EngineFigures = {
  seconds: number[];
  cpu_seconds: number[];
  samples_per_s: number[];
  median_samples_per_s: number;
  samples_per_cpu_s: number[];
  median_samples_per_cpu_s: number;
};
type EngineResult = { sklearn: EngineFigures; torch: EngineFigures; runtime: Runtime; loadavg_start: number[] };
type SearchFigures = {
  wall_s: number;
  /** CPU seconds of the search, all its processes; cpu_s / 2 = the best wall on two idle cores. */
  cpu_s: number;
  best_cv_auc: number;
  test_auc: number;
  epochs_total: number;
  epochs_cv: number;
  epochs_refit: number;
  best_params: Record<string, unknown>;
};
type SklearnVariant = SearchFigures & { refit_s: number; mean_epochs_per_fit: number; median_kept_epoch: number; mean_kept_epoch: number };
type SklearnResult = { full: SklearnVariant; early_stopping: SklearnVariant; runtime: Runtime; n_jobs: number; loadavg_start: number[] };
type OptunaVariant = SearchFigures & {
  search_s: number;
  refit_s: number;
  storage: string;
  trials: number;
  complete: number;
  pruned: number;
  failed: number;
  distinct_configs: number;
  duplicate_trials: number;
  folds_trained: number;
  busy_share: number;
};
type OptunaResult = { no_pruning: OptunaVariant; median_pruner: OptunaVariant; runtime: Runtime; loadavg_start: number[] };

export type Baselines = {
  readonly date: string;
  readonly machine: string;
  readonly seed: number;
  readonly commands: readonly string[];
  readonly export: ExportSummary & { readonly seconds: number };
  readonly setup: Runtime & { readonly seconds: number };
  readonly engine: {
    readonly runs: readonly EngineResult[];
    readonly sklearnSamplesPerS: number;
    readonly torchSamplesPerS: number;
    readonly sklearnSamplesPerCpuS: number;
    readonly torchSamplesPerCpuS: number;
    readonly seconds: number;
  };
  readonly sklearn: (SklearnResult & { readonly seconds: number }) | null;
  readonly optuna: (OptunaResult & { readonly seconds: number }) | null;
  readonly totalSeconds: number;
};

// ───────────────────────────── running the scripts ─────────────────────────────

/** Runs a command from the repository root; stderr streams through, stdout's last line is parsed as JSON. */
export function runJson<T>(argv: readonly string[]): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited with ${code}`));
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolvePromise({ value: JSON.parse(last) as T, seconds: (performance.now() - started) / 1000 });
      } catch {
        reject(new Error(`${argv.join(' ')} printed no JSON on its last stdout line: ${JSON.stringify(last.slice(0, 200))}`));
      }
    });
  });
}

export function python(script: string, ...args: string[]): string[] {
  return [...PY_ENV, PYTHON, `${PY_DIR}/${script}`, ...args];
}

function log(message: string): void {
  process.stderr.write(`[baselines] ${message}\n`);
}

export async function runBaselines(
  options: { readonly engineRepeats?: number; readonly seed?: number; readonly skipSearch?: boolean } = {},
): Promise<Baselines> {
  const engineRepeats = options.engineRepeats ?? 3;
  const seed = options.seed ?? 42;
  const started = performance.now();
  const commands: string[] = [];
  const csv = relative(ROOT, resolve(OUT_DIR, 'fraud.csv'));

  log('exporting the fraud data set');
  const exportStarted = performance.now();
  commands.push(`node --import tsx bench/export-fraud.ts --out ${csv} --seed ${seed}`);
  const exported = await exportFraud({ out: resolve(ROOT, csv), seed });
  const exportSummary = {
    ...exported,
    csv: relative(ROOT, exported.csv),
    split: relative(ROOT, exported.split),
    seconds: (performance.now() - exportStarted) / 1000,
  };

  log('bench/python/setup.sh');
  commands.push('bash bench/python/setup.sh');
  const setup = await runJson<Runtime>(['bash', `${PY_DIR}/setup.sh`]);

  const engineArgs = python('engine.py', '--csv', csv, '--runs', '3', '--seed', String(seed));
  commands.push(`${engineArgs.join(' ')}   # ×${engineRepeats}`);
  const engineRuns: EngineResult[] = [];
  let engineSeconds = 0;
  for (let i = 0; i < engineRepeats; i++) {
    log(`engine.py run ${i + 1}/${engineRepeats}`);
    const run = await runJson<EngineResult>(engineArgs);
    engineRuns.push(run.value);
    engineSeconds += run.seconds;
  }

  let sklearn: Baselines['sklearn'] = null;
  let optuna: Baselines['optuna'] = null;
  if (!options.skipSearch) {
    log('search_sklearn.py (GridSearchCV, n_jobs=2; then with early_stopping=True)');
    const sklearnArgs = python('search_sklearn.py', '--csv', csv, '--seed', String(seed), '--n-jobs', '2');
    commands.push(sklearnArgs.join(' '));
    const sk = await runJson<SklearnResult>(sklearnArgs);
    sklearn = { ...sk.value, seconds: sk.seconds };

    log('search_optuna.py (Optuna + PyTorch, 2 processes, SQLite; then with MedianPruner)');
    const optunaArgs = python('search_optuna.py', '--csv', csv, '--seed', String(seed), '--workers', '2', '--storage', 'sqlite');
    commands.push(optunaArgs.join(' '));
    const op = await runJson<OptunaResult>(optunaArgs);
    optuna = { ...op.value, seconds: op.seconds };
  }

  return {
    date: new Date().toISOString(),
    machine: machineLine(),
    seed,
    commands,
    export: exportSummary,
    setup: { ...setup.value, seconds: setup.seconds },
    engine: {
      runs: engineRuns,
      sklearnSamplesPerS: median(engineRuns.map((r) => r.sklearn.median_samples_per_s)),
      torchSamplesPerS: median(engineRuns.map((r) => r.torch.median_samples_per_s)),
      sklearnSamplesPerCpuS: median(engineRuns.map((r) => r.sklearn.median_samples_per_cpu_s)),
      torchSamplesPerCpuS: median(engineRuns.map((r) => r.torch.median_samples_per_cpu_s)),
      seconds: engineSeconds,
    },
    sklearn,
    optuna,
    totalSeconds: (performance.now() - started) / 1000,
  };
}

// ───────────────────────────── report ─────────────────────────────

const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');
const secs = (s: number): string => `${s.toFixed(1)} s`;
const auc = (a: number): string => a.toFixed(4);

function hiddenOf(params: Record<string, unknown>): string {
  const hidden = params.hidden_layer_sizes ?? params.hidden;
  return Array.isArray(hidden) ? `(${hidden.join(', ')})` : '?';
}

function configOf(params: Record<string, unknown>): string {
  const batch = params.batch_size ?? params.batch;
  const epochs = params.max_iter ?? params.epochs;
  return `${hiddenOf(params)}, batch ${String(batch)}, ${String(epochs)} epochs`;
}

export function baselinesMarkdown(b: Baselines): string {
  const all = (pick: (r: EngineResult) => EngineFigures): number[] => b.engine.runs.flatMap((r) => pick(r).samples_per_s);
  const range = (values: number[]): string => `${thousands(Math.min(...values))} – ${thousands(Math.max(...values))}`;
  const skAll = all((r) => r.sklearn);
  const ptAll = all((r) => r.torch);
  const setup = b.setup;
  const lines: string[] = [
    '## Python baselines: scikit-learn, PyTorch, Optuna',
    '',
    `${b.machine} · written by \`bench/baselines.ts\` in ${secs(b.totalSeconds)} (${b.date.slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `Python ${setup.python_version} (\`${setup.python}\`, Debian's, not the \`python3\` on PATH) · scikit-learn ` +
      `${setup.sklearn} · PyTorch ${setup.torch} · Optuna ${setup.optuna} · numpy ${setup.numpy}. ` +
      `BLAS kernel numpy uses (threadpoolctl): **${setup.blas_kernel ?? 'unknown'}**, with OPENBLAS_CORETYPE and ` +
      `OPENBLAS_L2_SIZE unset for every Python command. ` +
      `Data: foldwise's fraud generator, ${b.export.rows} rows × ${b.export.features} features, ` +
      `${b.export.positives} positives, seed ${b.seed}; ` +
      `foldwise's stratified test split (\`splitTest(y, 'binary', 0.2, seed)\`): ${b.export.trainRows} training ` +
      `rows, ${b.export.testRows} test rows (${b.export.testPositives} positive).`,
    '',
    '```sh',
    ...b.commands,
    '```',
    '',
    `### Engine: reference MLP 30→64→32→1, ${thousands(16000)} rows, 20 epochs, batch 128, Adam, one thread`,
    '',
    `Median of ${b.engine.runs.length} runs of \`engine.py\`, each the median of 3 fits (range over all ` +
      `${skAll.length} fits). Time of the fit call only. ` +
      "Per CPU-second: the same samples over the process's CPU time, which other processes competing for the cores " +
      'inflate much less than the wall time.',
    '',
    '| engine | samples/s (median) | range | samples per CPU-second (median) |',
    '|---|---:|---:|---:|',
    `| scikit-learn MLPClassifier (BLAS limited to 1 thread) | ${thousands(b.engine.sklearnSamplesPerS)} | ` +
      `${range(skAll)} | ${thousands(b.engine.sklearnSamplesPerCpuS)} |`,
    `| PyTorch, \`torch.set_num_threads(1)\`, plain loop | ${thousands(b.engine.torchSamplesPerS)} | ` +
      `${range(ptAll)} | ${thousands(b.engine.torchSamplesPerCpuS)} |`,
  ];

  if (b.sklearn !== null && b.optuna !== null) {
    const sk = b.sklearn;
    const op = b.optuna;
    lines.push(
      '',
      '### Whole search: 24 configurations × 5-fold CV, refit on all training rows, test ROC AUC',
      '',
      'Grid: depth {1,2,3} × width {32,64} × batch {64,128} × epochs {10,20}; hidden layers by the "halve" schedule, ' +
        'width w, depth d → (w, w/2, …, w/2^(d−1)), e.g. (64, 32, 16). StratifiedKFold(5, shuffle=True, ' +
        'random_state=seed) in both tools; ' +
        'standardisation fitted per fold. One run of each (a whole search is too long to repeat within `npm run bench`).',
      '',
      '| tool | wall | CPU time / 2 cores | best CV ROC AUC | refit test ROC AUC | epochs trained (CV + refit) | best configuration |',
      '|---|---:|---:|---:|---:|---:|---|',
      `| GridSearchCV(MLPClassifier), n_jobs=${sk.n_jobs}, refit=True | ${secs(sk.full.wall_s)} | ` +
        `${secs(sk.full.cpu_s / 2)} | ${auc(sk.full.best_cv_auc)} | ${auc(sk.full.test_auc)} | ` +
        `${thousands(sk.full.epochs_total)} (${thousands(sk.full.epochs_cv)} + ${sk.full.epochs_refit}) | ` +
        `${configOf(sk.full.best_params)} |`,
      `| GridSearchCV, MLPClassifier(early_stopping=True) | ${secs(sk.early_stopping.wall_s)} | ` +
        `${secs(sk.early_stopping.cpu_s / 2)} | ${auc(sk.early_stopping.best_cv_auc)} | ` +
        `${auc(sk.early_stopping.test_auc)} | ${thousands(sk.early_stopping.epochs_total)} ` +
        `(${thousands(sk.early_stopping.epochs_cv)} + ${sk.early_stopping.epochs_refit}) | ` +
        `${configOf(sk.early_stopping.best_params)} |`,
      `| Optuna + PyTorch, 2 processes, ${op.no_pruning.storage} storage | ${secs(op.no_pruning.wall_s)} | ` +
        `${secs(op.no_pruning.cpu_s / 2)} | ${auc(op.no_pruning.best_cv_auc)} | ${auc(op.no_pruning.test_auc)} | ` +
        `${thousands(op.no_pruning.epochs_total)} (${thousands(op.no_pruning.epochs_cv)} + ` +
        `${op.no_pruning.epochs_refit}) | ${configOf(op.no_pruning.best_params)} |`,
      `| Optuna + PyTorch, MedianPruner | ${secs(op.median_pruner.wall_s)} | ${secs(op.median_pruner.cpu_s / 2)} | ` +
        `${auc(op.median_pruner.best_cv_auc)} | ${auc(op.median_pruner.test_auc)} | ` +
        `${thousands(op.median_pruner.epochs_total)} (${thousands(op.median_pruner.epochs_cv)} + ` +
        `${op.median_pruner.epochs_refit}) | ${configOf(op.median_pruner.best_params)} |`,
      '',
      `- scikit-learn without early stopping: \`tol=0, n_iter_no_change=10**6\`, so each fit runs all its epochs ` +
        `(${sk.full.mean_epochs_per_fit} per fold on average); refit ${secs(sk.full.refit_s)} of the wall. ` +
        `Epochs are counted from each fitted fold's \`n_iter_\`.`,
      `- scikit-learn's \`early_stopping=True\` (defaults: 10 % held out, patience 10, tol 1e-4) watches held-out ` +
        `**accuracy**, nearly flat from the first epoch on a 3 %-positive task: ` +
        `it trains ${sk.early_stopping.mean_epochs_per_fit} epochs per fold on average (it cannot stop before epoch ` +
        `12 with patience 10, so the 10-epoch configurations run out), ` +
        `but then restores the weights of the epoch with the best held-out accuracy: epoch ` +
        `${sk.early_stopping.median_kept_epoch} in the median fold (mean ${sk.early_stopping.mean_kept_epoch}). ` +
        `Best CV AUC ${auc(sk.early_stopping.best_cv_auc)} against ${auc(sk.full.best_cv_auc)} without it; the ` +
        `per-configuration CV AUCs are in baselines.json.`,
      `- Optuna: GridSampler, a trial = the 5 folds, value = mean validation AUC; each fold's AUC reported as an ` +
        `intermediate value (step = fold index). ` +
        `Without pruning: ${op.no_pruning.trials} trials for ${op.no_pruning.distinct_configs} distinct ` +
        `configurations (${op.no_pruning.duplicate_trials} duplicated by the two workers' race), ` +
        `${op.no_pruning.folds_trained} folds trained; ` +
        `MedianPruner (defaults: 5 startup trials, no warm-up): ${op.median_pruner.complete} complete, ` +
        `${op.median_pruner.pruned} pruned, ${op.median_pruner.folds_trained} folds trained. ` +
        `Training (fit + validation AUC) fills ${Math.round(op.no_pruning.busy_share * 100)} % / ` +
        `${Math.round(op.median_pruner.busy_share * 100)} % of 2 × the search wall; the rest is process start-up ` +
        `(importing torch), data loading and the study storage.`,
      `- Wall times: GridSearchCV.fit (search + refit); Optuna from creating the study to the refit model's test ` +
        `score, worker start-up included. ` +
        '"CPU time / 2 cores": the CPU seconds of all the search\'s processes over the same span, halved: the wall ' +
        'time two otherwise idle cores would need at best. ' +
        `The machine is shared: load average (1 min) when each script started: engine ` +
        `${b.engine.runs.map((r) => r.loadavg_start[0]).join(' / ')}, GridSearchCV ${sk.loadavg_start[0]}, Optuna ` +
        `${op.loadavg_start[0]} (2 cores; above 2 means other processes were competing).`,
    );
  }
  lines.push('', `Raw results: \`bench/out/baselines.json\` (git-ignored), read by the other bench scripts to compare in the same run.`);
  return lines.join('\n');
}

function parseArgs(argv: readonly string[]): { engineRepeats?: number; seed?: number; skipSearch?: boolean } {
  const options: { engineRepeats?: number; seed?: number; skipSearch?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--skip-search') options.skipSearch = true;
    else if ((flag === '--engine-repeats' || flag === '--seed') && Number.isInteger(Number(argv[i + 1]))) {
      const value = Number(argv[++i]);
      if (flag === '--seed') options.seed = value;
      else options.engineRepeats = value;
    } else throw new Error(`usage: baselines.ts [--engine-repeats N] [--seed N] [--skip-search] (bad argument: ${flag})`);
  }
  return options;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2));
  const baselines = await runBaselines(options);
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(BASELINES_JSON, `${JSON.stringify(baselines, null, 2)}\n`);
  if (!options.skipSearch) writeSection('baselines', baselinesMarkdown(baselines));
  log(
    `done in ${secs(baselines.totalSeconds)}; wrote ` +
      `${relative(ROOT, BASELINES_JSON)}${options.skipSearch ? '' : ' and the baselines section of BENCHMARKS.md'}`,
  );
}
