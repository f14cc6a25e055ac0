/**
 * Engine throughput of issue 6: the reference MLP 30→64→32→1 (relu, sigmoid output), 16,000
 * training rows of the fraud data set, batch 128, Adam (lr 1e-3), one thread, on every
 * TensorFlow.js backend present, for
 *
 *   - `model.fit` on the layers model of worker/models.ts;
 *   - the previous loop: `runTask` with FOLDWISE_MLP_ENGINE=layers (train.ts's own loop over the
 *     layers model, `optimizer.minimize`);
 *   - the engine: `runTask` as the worker runs it (worker/engine/, the default for `mlp`), and
 *     again with its kernels' loops (products included) in JavaScript (FOLDWISE_ENGINE_KERNELS=js), to measure what
 *     the SIMD kernels (worker/engine/kernels/) give;
 *   - both loops again as a search fold (5-fold CV, fold 0: 12,800 rows, per-epoch validation
 *     metrics on 3,200 rows), the path a search actually takes;
 *
 * interleaved round by round (median of --runs rounds; ratios are medians of per-round ratios,
 * i.e. measured in the same run), after untimed warm-up epochs per variant. samples/s =
 * training rows × epochs / training time (`trainMs` of the task, or the `fit` call). Also the
 * CPU time of this process per sample (a figure the shared machine's load disturbs less), the
 * kernels dispatched per step, the stacked-fold experiment (the step's matrix products batched
 * over k = 5 folds against 5 single-fold steps), and PyTorch / scikit-learn: run in the same
 * session by bench/python/engine.py when Debian's python3-torch is installed (else read from
 * bench/out/baselines.json, else the issue's reference figures).
 *
 *   node --import tsx bench/engine.ts [--runs 3] [--epochs 20] [--cpu-epochs 5] [--warmup-epochs 2] [--backends wasm,cpu] [--no-python]
 *   node --import tsx bench/engine.ts --report-only   # rewrite the section from bench/out/engine.json
 *
 * Writes the `engine` section of BENCHMARKS.md and bench/out/engine.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@tensorflow/tfjs';
import { selectBackend, type TensorFlow } from '../worker/backend.js';
import { loadDataset } from '../worker/data/load.js';
import { MLP_ENGINE_ENV_VAR } from '../worker/engine/engine-trainer.js';
import { ENGINE_KERNELS_ENV_VAR } from '../worker/engine/kernels/kernel-memory.js';
import { buildModel } from '../worker/models/layers.js';
import { fitStandardizer, gather, gatherStandardized } from '../worker/data/preprocess.js';
import { BACKENDS, type BackendName, type Task } from '../worker/contract/protocol.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../worker/contract/spec.js';
import { splitTest } from '../worker/data/splits.js';
import { runTask } from '../worker/training/run-task.js';
import { DEFAULT_CSV, DEFAULT_SEED, exportFraud, FRAUD_DATASET, TEST_FRACTION } from './export-fraud.js';
import { machineLine, median, writeSection } from './report.js';
import { BASELINES_JSON, PYTHON, python, runJson } from './baselines.js';
import { withEnv } from './env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = fileURLToPath(new URL('./out', import.meta.url));
const BATCH = 128;
const FOLDS = 5;
/** The issue's reference figures (samples/s, one core), quoted when nothing was measured here. */
const ISSUE_REFERENCE = { torch: '170,000 – 325,000', sklearn: '220,000 – 390,000', wasmFit: 'about 45,000', cpuFit: 'about 15,000' };

const REFERENCE_PARAMS: Params = {
  ...DEFAULT_PARAMS,
  family: 'mlp',
  depth: 2,
  width: 64,
  widthSchedule: 'halve',
  activation: 'relu',
  optimizer: 'adam',
  learningRate: 0.001,
  l2: 0,
  dropout: 0,
  batchSize: BATCH,
};

type Options = { runs: number; epochs: number; cpuEpochs: number; warmupEpochs: number; backends: BackendName[] | null; python: boolean };

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { runs: 3, epochs: 20, cpuEpochs: 5, warmupEpochs: 2, backends: null, python: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--runs') options.runs = positive(value(), arg);
    else if (arg === '--epochs') options.epochs = positive(value(), arg);
    else if (arg === '--cpu-epochs') options.cpuEpochs = positive(value(), arg);
    else if (arg === '--warmup-epochs') options.warmupEpochs = positive(value(), arg);
    else if (arg === '--backends')
      options.backends = value()
        .split(',')
        .map((name) => backendName(name.trim()));
    else if (arg === '--no-python') options.python = false;
    else
      throw new Error(
        `unknown argument ${arg}; expected --runs N, --epochs N, --cpu-epochs N, --warmup-epochs N, --backends wasm,cpu, --no-python`,
      );
  }
  return options;
}

function positive(text: string, name: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${text}`);
  return value;
}

function backendName(name: string): BackendName {
  const found = BACKENDS.find((backend) => backend === name);
  if (found === undefined) throw new Error(`unknown backend ${name}; expected one of ${BACKENDS.join(', ')}`);
  return found;
}

function log(message: string): void {
  process.stderr.write(`[engine] ${message}\n`);
}

// ───────────────────────────── the variants ─────────────────────────────

type Measurement = { readonly samplesPerS: number; readonly cpuSamplesPerS: number };
type VariantKey = 'fit' | 'layers' | 'engine' | 'engineJs' | 'layersFold' | 'engineFold';
type Variant = { readonly key: VariantKey; readonly label: string; run(epochs: number): Promise<Measurement> };

const VARIANT_LABELS: Record<VariantKey, string> = {
  fit: '`model.fit` (layers model)',
  layers: 'previous loop (train.ts, `optimizer.minimize`)',
  engine: '**engine** (worker/engine/)',
  engineJs: "engine, its kernels' loops (products included) in JavaScript (`FOLDWISE_ENGINE_KERNELS=js`)",
  layersFold: 'previous loop, search fold + per-epoch validation',
  engineFold: '**engine**, search fold + per-epoch validation',
};

const spec = validateSpec({
  name: 'bench-engine',
  dataset: FRAUD_DATASET,
  seed: DEFAULT_SEED,
  testSplit: { fraction: TEST_FRACTION },
  validation: { kind: 'kfold', k: FOLDS, stratified: true },
});

function task(kind: Task['kind'], epochs: number, modelDir: string): Task {
  return {
    taskId: `bench:${kind}`,
    runId: 1,
    foldIndex: 0,
    attempt: 1,
    kind,
    spec,
    taskKind: 'binary',
    params: { ...REFERENCE_PARAMS, epochs },
    ...(kind === 'refit' ? { refit: { epochs, modelDir } } : {}),
  };
}

/** CPU seconds of this process (user + system) spent in `body`, with its wall time. */
async function timed<T>(body: () => Promise<T>): Promise<{ value: T; cpuSeconds: number }> {
  const before = process.cpuUsage();
  const value = await body();
  const used = process.cpuUsage(before);
  return { value, cpuSeconds: (used.user + used.system) / 1e6 };
}

type Data = {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly n: number;
  readonly nFeatures: number;
  readonly foldTrainRows: number;
};

async function loadData(): Promise<Data> {
  const table = await loadDataset(spec.dataset, spec.seed, 'binary');
  const { train } = splitTest(table.y, 'binary', spec.testSplit.fraction, spec.seed);
  const standardizer = fitStandardizer(table.x, table.nFeatures, train);
  return {
    x: gatherStandardized(table.x, table.nFeatures, train, standardizer),
    y: gather(table.y, train),
    n: train.length,
    nFeatures: table.nFeatures,
    foldTrainRows: train.length - Math.round(train.length / FOLDS),
  };
}

function variants(tf: TensorFlow, backend: BackendName, data: Data, modelDir: string): Variant[] {
  const ctx = { tf, backend };
  const viaRunTask =
    (engine: 'fast' | 'layers', kind: Task['kind'], kernels: 'wasm' | 'js' = 'wasm') =>
    async (epochs: number): Promise<Measurement> => {
      const { value: result, cpuSeconds } = await timed(() =>
        withEnv({ [MLP_ENGINE_ENV_VAR]: engine, [ENGINE_KERNELS_ENV_VAR]: kernels }, () =>
          runTask(task(kind, epochs, modelDir), ctx, () => undefined),
        ),
      );
      const samples = (kind === 'refit' ? data.n : data.foldTrainRows) * epochs;
      return { samplesPerS: samples / (result.trainMs / 1000), cpuSamplesPerS: samples / cpuSeconds };
    };
  return [
    {
      key: 'fit',
      label: VARIANT_LABELS.fit,
      async run(epochs) {
        const model = buildModel(tf, { ...REFERENCE_PARAMS, epochs }, data.nFeatures, 'binary', 2, 7);
        const optimizer = tf.train.adam(REFERENCE_PARAMS.learningRate);
        model.compile({ optimizer, loss: 'binaryCrossentropy' });
        const x = tf.tensor2d(data.x, [data.n, data.nFeatures]);
        const y = tf.tensor2d(data.y, [data.n, 1]);
        try {
          const started = performance.now();
          const { cpuSeconds } = await timed(() => model.fit(x, y, { batchSize: BATCH, epochs, shuffle: true, verbose: 0 }));
          const seconds = (performance.now() - started) / 1000;
          return { samplesPerS: (data.n * epochs) / seconds, cpuSamplesPerS: (data.n * epochs) / cpuSeconds };
        } finally {
          x.dispose();
          y.dispose();
          optimizer.dispose();
          model.dispose();
        }
      },
    },
    { key: 'layers', label: VARIANT_LABELS.layers, run: viaRunTask('layers', 'refit') },
    { key: 'engine', label: VARIANT_LABELS.engine, run: viaRunTask('fast', 'refit') },
    { key: 'engineJs', label: VARIANT_LABELS.engineJs, run: viaRunTask('fast', 'refit', 'js') },
    { key: 'layersFold', label: VARIANT_LABELS.layersFold, run: viaRunTask('layers', 'search') },
    { key: 'engineFold', label: VARIANT_LABELS.engineFold, run: viaRunTask('fast', 'search') },
  ];
}

/** Kernels dispatched per training step: one epoch under tf.profile, op wrappers not counted. */
async function kernelsPerStep(tf: TensorFlow, variant: Variant): Promise<number> {
  const profile = await tf.profile(async () => {
    await variant.run(1);
  });
  const kernels = profile.kernels.filter((kernel) => !kernel.name.endsWith('__op')).length;
  const steps = Math.ceil((variant.key.endsWith('Fold') ? 12_800 : 16_000) / BATCH);
  return kernels / steps;
}

// ───────────────────────────── stacked folds ─────────────────────────────

/**
 * The stacked-fold experiment: the 8 matrix products of one engine step (reference MLP, batch
 * 128, augmented layout), as rank-3 products over k stacked folds (one kernel each, fresh
 * operands every step as in training), against k = 1. Stacking can only save what k single
 * steps spend outside their products, so products(k) / (k · products(1)) bounds its gain.
 */
function stackedProducts(tf: TensorFlow, k: number, repeats: number): number {
  const engine = tf.engine();
  const b = BATCH;
  const shapes: [number, number, number, string][] = [
    [b, 31, 65, 'relu'],
    [b, 65, 33, 'relu'],
    [b, 33, 1, 'sigmoid'],
    [1, b, 33, ''],
    [33, 1, b, ''],
    [33, b, 65, ''],
    [65, 33, b, ''],
    [65, b, 31, ''],
  ];
  const values = shapes.map(
    ([m, inner, n]) =>
      [
        Float32Array.from({ length: k * m * inner }, (_, i) => Math.sin(i)),
        Float32Array.from({ length: k * inner * n }, (_, i) => Math.cos(i)),
      ] as const,
  );
  const step = () => {
    const tensors: Tensor[] = [];
    shapes.forEach(([m, inner, n, activation], i) => {
      const a = tf.tensor3d(values[i]![0], [k, m, inner]);
      const w = tf.tensor3d(values[i]![1], [k, inner, n]);
      const out =
        activation === ''
          ? engine.runKernel('BatchMatMul', { a, b: w }, { transposeA: false, transposeB: false })
          : engine.runKernel('_FusedMatMul', { a, b: w }, { transposeA: false, transposeB: false, activation, leakyreluAlpha: 0 });
      (out as Tensor).dataSync();
      tensors.push(a, w, out as Tensor);
    });
    for (const tensor of tensors) tensor.dispose();
  };
  for (let i = 0; i < 20; i++) step();
  const before = process.cpuUsage();
  for (let i = 0; i < repeats; i++) step();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / repeats;
}

// ───────────────────────────── Python, same session ─────────────────────────────

type PythonEngine = { sklearn: { median_samples_per_s: number }; torch: { median_samples_per_s: number } };

function pythonAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, sklearn, threadpoolctl'], { stdio: 'ignore' });
  return probe.status === 0;
}

async function runPythonEngine(csv: string, epochs: number): Promise<PythonEngine> {
  if (epochs !== 20) log(`note: engine.py always trains 20 epochs (samples/s compare regardless)`);
  return (await runJson<PythonEngine>(python('engine.py', '--csv', csv, '--runs', '1', '--seed', String(DEFAULT_SEED)))).value;
}

type Baselines = {
  readonly date: string;
  readonly engine: {
    readonly sklearnSamplesPerS: number;
    readonly torchSamplesPerS: number;
    readonly runs: readonly { readonly runtime: { readonly loadavg_1_5_15?: readonly number[] } }[];
  };
};

function readBaselines(): Baselines | null {
  if (!existsSync(BASELINES_JSON)) return null;
  try {
    return JSON.parse(readFileSync(BASELINES_JSON, 'utf8')) as Baselines;
  } catch {
    return null;
  }
}

// ───────────────────────────── main ─────────────────────────────

type BackendResult = {
  readonly backend: BackendName;
  readonly epochs: number;
  readonly results: Record<VariantKey, Measurement[]>;
  readonly ratios: {
    readonly engineOverFit: number[];
    readonly engineOverLayers: number[];
    readonly foldEngineOverLayers: number[];
    /** The engine with its SIMD kernels over the same engine with its JavaScript loops, per round. */
    readonly kernelsOverJs?: number[];
  };
  readonly kernels: Partial<Record<VariantKey, number>>;
  readonly stacked: {
    readonly k: number;
    readonly singleMicros: number;
    readonly stackedMicros: number;
    readonly engineStepMicros: number;
  };
  readonly python: PythonEngine[];
};

async function benchBackend(backend: BackendName, options: Options, data: Data, csv: string | null): Promise<BackendResult | null> {
  let tf: TensorFlow;
  try {
    ({ tf } = await selectBackend(backend));
  } catch (error) {
    log(`${backend}: not available (${error instanceof Error ? error.message : String(error)})`);
    return null;
  }
  if (tf.getBackend() !== backend) return null;
  const epochs = backend === 'cpu' ? options.cpuEpochs : options.epochs;
  const modelDir = mkdtempSync(join(tmpdir(), 'foldwise-bench-engine-'));
  const list = variants(tf, backend, data, modelDir);
  const results = Object.fromEntries(list.map((variant) => [variant.key, [] as Measurement[]])) as Record<VariantKey, Measurement[]>;
  const ratios = {
    engineOverFit: [] as number[],
    engineOverLayers: [] as number[],
    foldEngineOverLayers: [] as number[],
    kernelsOverJs: [] as number[],
  };
  const python: PythonEngine[] = [];
  try {
    log(`${backend}: kernels per step, and warm-up (${options.warmupEpochs} epochs per variant)`);
    const kernels: Partial<Record<VariantKey, number>> = {};
    for (const variant of list) {
      kernels[variant.key] = await kernelsPerStep(tf, variant);
      await variant.run(options.warmupEpochs);
    }
    for (let round = 0; round < options.runs; round++) {
      const measured = {} as Record<VariantKey, Measurement>;
      for (const variant of list) {
        measured[variant.key] = await variant.run(epochs);
        results[variant.key].push(measured[variant.key]);
        log(
          `${backend} round ${round + 1}/${options.runs}: ${variant.key} ` +
            `${Math.round(measured[variant.key].samplesPerS)} samples/s (cpu ` +
            `${Math.round(measured[variant.key].cpuSamplesPerS)})`,
        );
      }
      ratios.engineOverFit.push(measured.engine.samplesPerS / measured.fit.samplesPerS);
      ratios.engineOverLayers.push(measured.engine.samplesPerS / measured.layers.samplesPerS);
      ratios.foldEngineOverLayers.push(measured.engineFold.samplesPerS / measured.layersFold.samplesPerS);
      ratios.kernelsOverJs.push(measured.engine.samplesPerS / measured.engineJs.samplesPerS);
      if (backend === 'wasm' && csv !== null) {
        log(`python round ${round + 1}/${options.runs}: bench/python/engine.py --runs 1`);
        python.push(await runPythonEngine(csv, epochs));
      }
    }
    log(`${backend}: stacked-fold products`);
    const k = FOLDS;
    const singleMicros = stackedProducts(tf, 1, 300);
    const stackedMicros = stackedProducts(tf, k, 100);
    const engineStepMicros = (BATCH / median(results.engine.map((m) => m.cpuSamplesPerS))) * 1e6;
    return { backend, epochs, results, ratios, kernels, stacked: { k, singleMicros, stackedMicros, engineStepMicros }, python };
  } finally {
    rmSync(modelDir, { recursive: true, force: true });
  }
}

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');
const fmtRatio = (value: number) => `${value.toFixed(2)}×`;
const range = (values: readonly number[]) => `${fmt(Math.min(...values))} – ${fmt(Math.max(...values))}`;

function report(
  machine: string,
  options: Options,
  results: BackendResult[],
  missing: BackendName[],
  baselines: Baselines | null,
  load: { start: number[]; end: number[] },
  seconds: number,
): string {
  const lines: string[] = [];
  const wasm = results.find((result) => result.backend === 'wasm');
  const sameRunTorch = wasm && wasm.python.length > 0 ? median(wasm.python.map((p) => p.torch.median_samples_per_s)) : null;
  const sameRunSklearn = wasm && wasm.python.length > 0 ? median(wasm.python.map((p) => p.sklearn.median_samples_per_s)) : null;
  const engineWasm = wasm ? median(wasm.results.engine.map((m) => m.samplesPerS)) : null;

  lines.push('## Engine: training throughput of the reference MLP', '');
  lines.push(
    `${machine} · load average ${load.start.map((v) => v.toFixed(1)).join(' / ')} at the start, ` +
      `${load.end.map((v) => v.toFixed(1)).join(' / ')} at the end (1 / 5 / 15 min; 2 cores, shared) · ` +
      `${Math.round(seconds)} s`,
    '',
  );
  lines.push(
    `\`node --import tsx bench/engine.ts --runs ${options.runs} --epochs ${options.epochs} --cpu-epochs ` +
      `${options.cpuEpochs} --warmup-epochs ${options.warmupEpochs}\``,
    '',
  );
  lines.push(
    `MLP 30→64→32→1 (relu, sigmoid output), fraud data (20,000 rows, seed ${DEFAULT_SEED}): the 16,000 non-test ` +
      `rows (a search fold: 12,800 rows, its 3,200 validation rows scored every epoch), batch ${BATCH}, Adam lr ` +
      `1e-3, one thread (wasm: \`setThreadsCount(1)\`). Variants run interleaved round by round after untimed ` +
      `warm-up epochs (${options.warmupEpochs} each, as a long-lived worker process is warm); **median of ` +
      `${options.runs} rounds**, ratios are medians of per-round ratios (same run). samples/s = rows × epochs / ` +
      `training time (\`trainMs\` of the task, or the \`fit\` call); "CPU" divides by this process's CPU time ` +
      `instead (less disturbed by other load on the machine). Kernels per step: one epoch under \`tf.profile\`, op ` +
      `wrappers not counted.`,
    '',
  );

  lines.push(
    '| backend | path | epochs | samples/s (median) | range | CPU samples/s | kernels / step | vs `model.fit` | vs previous loop |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const result of results) {
    for (const key of ['fit', 'layers', 'engine', 'engineJs', 'layersFold', 'engineFold'] as const) {
      const values = result.results[key];
      // engine.json files written before the engineJs variant have none.
      if (values === undefined) continue;
      const vsFit = key === 'engine' ? fmtRatio(median(result.ratios.engineOverFit)) : '';
      const vsLayers =
        key === 'engine'
          ? fmtRatio(median(result.ratios.engineOverLayers))
          : key === 'engineFold'
            ? fmtRatio(median(result.ratios.foldEngineOverLayers))
            : '';
      const kernels = result.kernels[key];
      lines.push(
        `| ${result.backend} | ${VARIANT_LABELS[key]} | ${result.epochs} | ` +
          `${fmt(median(values.map((m) => m.samplesPerS)))} | ${range(values.map((m) => m.samplesPerS))} | ` +
          `${fmt(median(values.map((m) => m.cpuSamplesPerS)))} | ${kernels === undefined ? '' : kernels.toFixed(0)} | ` +
          `${vsFit} | ${vsLayers} |`,
      );
    }
  }
  for (const backend of missing) {
    const reason =
      backend === 'tensorflow' ? '`@tensorflow/tfjs-node` cannot download libtensorflow on this machine' : 'backend did not start';
    lines.push(`| ${backend} | not installed here (${reason}) | | | | | | | |`);
  }
  lines.push('');
  for (const result of results) {
    const kernelsOverJs = result.ratios.kernelsOverJs;
    if (kernelsOverJs === undefined || kernelsOverJs.length === 0) continue;
    lines.push(
      `${result.backend}: the engine with its loops in WebAssembly SIMD (worker/engine/kernels/) against the ` +
        `same engine with them in JavaScript: **${fmtRatio(median(kernelsOverJs))}** (per round: ` +
        `${kernelsOverJs.map(fmtRatio).join(', ')}); the same results bit for bit.`,
      '',
    );
  }

  lines.push(
    '### Against PyTorch and scikit-learn (targets: issue 6, engine ≥ 50 % of PyTorch single-thread; issue 14, ' +
      '≥ 150 % of PyTorch and ≥ 120 % of scikit-learn)',
    '',
  );
  if (sameRunTorch !== null && engineWasm !== null && wasm) {
    const ratios = wasm.python.map((p, i) => wasm.results.engine[i]!.samplesPerS / p.torch.median_samples_per_s);
    const ratio = median(ratios);
    const sklearnRatio = median(wasm.python.map((p, i) => wasm.results.engine[i]!.samplesPerS / p.sklearn.median_samples_per_s));
    lines.push(
      `Measured in the same session, one \`bench/python/engine.py --runs 1\` (one fit of each library) after each ` +
        `wasm round, with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset:`,
      '',
    );
    lines.push('| engine | samples/s (median) | range |', '|---|---:|---:|');
    lines.push(`| PyTorch 1 thread, plain loop | ${fmt(sameRunTorch)} | ${range(wasm.python.map((p) => p.torch.median_samples_per_s))} |`);
    lines.push(
      `| scikit-learn MLPClassifier (BLAS 1 thread) | ${fmt(sameRunSklearn!)} | ` +
        `${range(wasm.python.map((p) => p.sklearn.median_samples_per_s))} |`,
    );
    lines.push(`| foldwise engine, wasm | ${fmt(engineWasm)} | ${range(wasm.results.engine.map((m) => m.samplesPerS))} |`, '');
    lines.push(
      `**Engine / PyTorch = ${(ratio * 100).toFixed(0)} %** (median of per-round ratios; ≥ 50 %: ` +
        `${ratio >= 0.5 ? '✓' : '✗'}; ≥ 150 %: ${ratio >= 1.5 ? '✓' : '✗'}). ` +
        `**Engine / scikit-learn = ${(sklearnRatio * 100).toFixed(0)} %** (≥ 120 %: ${sklearnRatio >= 1.2 ? '✓' : '✗'}).`,
      '',
    );
  } else if (baselines !== null && engineWasm !== null) {
    const ratio = engineWasm / baselines.engine.torchSamplesPerS;
    lines.push(
      `From bench/out/baselines.json (${baselines.date.slice(0, 16)} UTC, another session: ratios are only ` +
        `indicative): PyTorch ${fmt(baselines.engine.torchSamplesPerS)} samples/s, scikit-learn ` +
        `${fmt(baselines.engine.sklearnSamplesPerS)}. Engine (wasm) / PyTorch = **${(ratio * 100).toFixed(0)} %** ` +
        `(target ≥ 50 %: ${ratio >= 0.5 ? '✓' : '✗'}).`,
      '',
    );
  } else {
    const engineShare =
      engineWasm === null
        ? 'not measured'
        : `${fmt(engineWasm)}, i.e. ${((engineWasm / 170_000) * 100).toFixed(0)} – ` +
          `${((engineWasm / 325_000) * 100).toFixed(0)} % of that PyTorch range`;
    lines.push(
      `Python was not measured (no Debian python3-torch here, no bench/out/baselines.json). The issue's reference ` +
        `figures for this machine type: PyTorch 1 thread ${ISSUE_REFERENCE.torch} samples/s, scikit-learn ` +
        `${ISSUE_REFERENCE.sklearn}; the engine's wasm median above is ${engineShare}.`,
      '',
    );
  }
  lines.push(
    `The issue's reference figures, measured on a quiet machine of this type: PyTorch ${ISSUE_REFERENCE.torch}, ` +
      `scikit-learn ${ISSUE_REFERENCE.sklearn}, wasm \`model.fit\` ${ISSUE_REFERENCE.wasmFit}, cpu \`model.fit\` ` +
      `${ISSUE_REFERENCE.cpuFit} samples/s. This machine is shared: compare ratios within a run, not absolute ` +
      `figures across runs.`,
    '',
  );
  if (wasm) {
    const cpuEngine = median(wasm.results.engine.map((m) => m.cpuSamplesPerS));
    const cpuFit = median(wasm.results.fit.map((m) => m.cpuSamplesPerS));
    lines.push(
      `Without other load, wall time approaches CPU time: the engine's CPU-time figure on wasm, ${fmt(cpuEngine)} ` +
        `samples/s, is ${((cpuEngine / 325_000) * 100).toFixed(0)} – ${((cpuEngine / 170_000) * 100).toFixed(0)} % of ` +
        `the issue's quiet-machine PyTorch range. CPU time is itself inflated by contention (\`model.fit\`'s CPU-time ` +
        `figure here, ${fmt(cpuFit)}, against the issue's quiet ${ISSUE_REFERENCE.wasmFit}), so that is a lower bound ` +
        `for a quiet machine, not a measurement of one.`,
      '',
    );
  }

  lines.push('### Stacked folds (train the k folds of a configuration as one model): measured, dropped', '');
  lines.push(
    'The 8 matrix products of one engine step for k folds stacked on a leading axis (one rank-3 kernel each, ' +
      'fresh operands every step as in training) against one fold; CPU µs per step. Stacking could only save what ' +
      'the k single-fold steps spend outside their products (dispatch, JavaScript), so it pays only if the stacked ' +
      'products cost well under k single ones.',
    '',
  );
  lines.push(
    '| backend | products, 1 fold | products, k = 5 stacked | stacked / (5 × single) | whole engine step, 1 fold ' +
      '| best case for stacking vs 5 single steps |',
    '|---|---:|---:|---:|---:|---:|',
  );
  for (const result of results) {
    const { k, singleMicros, stackedMicros, engineStepMicros } = result.stacked;
    // Best case: stacking keeps everything outside the products at one fold's cost.
    const bestCase = (k * engineStepMicros) / (stackedMicros + (engineStepMicros - singleMicros));
    lines.push(
      `| ${result.backend} | ${singleMicros.toFixed(0)} µs | ${stackedMicros.toFixed(0)} µs | ` +
        `${(stackedMicros / (k * singleMicros)).toFixed(2)} | ${engineStepMicros.toFixed(0)} µs | ` +
        `${fmtRatio(bestCase)} |`,
    );
  }
  lines.push(
    '',
    'On wasm a product with a batch dimension > 1 leaves XNNPACK for a naive loop (tfjs-backend-wasm ' +
      '`batch_mat_mul_impl.cc` only sends unbatched, untransposed products to XNNPACK), so the stacked products cost ' +
      'more than k separate fast ones; after the engine cut a step to 8 kernels, dispatch is a small share of it ' +
      'anyway. The 1.5× bar is not reachable, so foldwise keeps one task per (run, fold) and the coordinator needs ' +
      'no change.',
    '',
  );

  lines.push('### tfjs-node (`tensorflow` backend): not measured here', '');
  lines.push(
    '`@tensorflow/tfjs-node` cannot install on this machine (its install downloads libtensorflow), so this is ' +
      "**not measured**, only placed from published figures: TensorFlow.js's team measured tfjs-node training about " +
      '4× slower than eager tf.keras on MNIST (tensorflow/tfjs#628, gap still there in 2019); users measured it ' +
      'about 2× faster than wasm on convolution-heavy models (vladmandic/face-api#108, wacky6/hikaru#5), but slower ' +
      'than wasm on a tiny dense model where per-op binding cost dominates (tensorflow/tfjs#4402: 54 ms in tfjs-node ' +
      "against 20 ms on wasm). The engine's step is 8 small products (batch 128, ≤ 65 columns): on tfjs-node they " +
      "would run on native AVX2 GEMMs but each would pay the binding cost, so our estimate is between the engine's " +
      'wasm figure and about twice it. The engine needs no change to run there (it calls the standard `BatchMatMul` ' +
      '/ `_FusedMatMul` kernels and reads tensors synchronously, which tfjs-node supports on CPU).',
    '',
  );
  return lines.join('\n');
}

/** `--report-only`: rewrites the section from bench/out/engine.json without measuring again. */
function rewriteReport(): void {
  const saved = JSON.parse(readFileSync(join(OUT, 'engine.json'), 'utf8')) as {
    machine: string;
    options: Options;
    results: BackendResult[];
    missing: BackendName[];
    load: { start: number[]; end: number[] };
    seconds: number;
  };
  writeSection('engine', report(saved.machine, saved.options, saved.results, saved.missing, readBaselines(), saved.load, saved.seconds));
  log('rewrote the engine section of BENCHMARKS.md from bench/out/engine.json');
}

async function main(): Promise<void> {
  if (process.argv.includes('--report-only')) return rewriteReport();
  const options = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const load = { start: loadavg(), end: [] as number[] };
  log(`loading the fraud data (${FRAUD_DATASET.rows} rows)`);
  const data = await loadData();

  let csv: string | null = null;
  if (options.python && pythonAvailable()) {
    if (!existsSync(DEFAULT_CSV)) await exportFraud({ out: DEFAULT_CSV, seed: DEFAULT_SEED });
    csv = relative(ROOT, DEFAULT_CSV);
  } else if (options.python) {
    log('python3 with torch, sklearn and threadpoolctl not found: PyTorch figures come from bench/out/baselines.json or the issue');
  }

  const wanted = options.backends ?? [...BACKENDS];
  const results: BackendResult[] = [];
  const missing: BackendName[] = [];
  for (const backend of wanted) {
    const result = await benchBackend(backend, options, data, csv);
    if (result === null) missing.push(backend);
    else results.push(result);
  }
  load.end = loadavg();
  const seconds = (performance.now() - started) / 1000;
  const machine = machineLine();
  const markdown = report(machine, options, results, missing, readBaselines(), load, seconds);
  writeSection('engine', markdown);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(
    join(OUT, 'engine.json'),
    `${JSON.stringify({ date: new Date().toISOString(), machine, options, load, seconds, results, missing }, null, 2)}\n`,
  );
  log(`wrote the engine section of BENCHMARKS.md and bench/out/engine.json in ${Math.round(seconds)} s`);
}

await main();
