/**
 * Seeds experiments whose runs have stored predictions, as a real search and refit leave them, for
 * the run page's prediction charts: a binary, a multiclass or a regression task, two search runs
 * of 3 folds with their out-of-fold predictions, and the first run refitted (a model row with its
 * test predictions and, binary, an operating threshold chosen on the out-of-fold predictions).
 * Deterministic for a seed.
 */
import { createHash } from 'node:crypto';
import { encodeOutOfFold, type Decision } from '../../worker/contract/protocol.js';
import { DEFAULT_PARAMS, validateSpec } from '../../worker/contract/spec.js';
import { directionOf, scopedMetrics, type TaskKind } from '../../worker/contract/vocabulary.js';
import { confusionAt, decisionMetrics } from '../../worker/training/metrics.js';
import { canonicalParamsJson } from '../../server/search/grid.js';
import { pooled, thresholdFor } from '../../server/results/run-diagnostics.js';
import type { Storage } from '../../server/storage/storage.js';

export const IRIS_CLASSES = ['setosa', 'versicolor', 'virginica'] as const;

export type SeededPredictions = {
  readonly experimentId: number;
  readonly runIds: readonly number[];
  readonly refitRunId: number;
  readonly modelId: number;
  /** Rows per fold and in the test split. */
  readonly foldRows: number;
  readonly testRows: number;
  /** Binary: the positive class, and the threshold frozen into the refit. */
  readonly positiveClass: string | null;
  readonly threshold: number | null;
};

function lcg(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

type Rows = { targets: Float32Array; predictions: Float32Array };

/** Binary rows: a quarter positive, scored by a noisy, a little overconfident model (`skill` shifts it). */
function binaryRows(n: number, random: () => number, skill: number): Rows {
  const targets = Float32Array.from({ length: n }, () => (random() < 0.25 ? 1 : 0));
  const predictions = targets.map((y) => 1 / (1 + Math.exp(-(1.7 * normal(random) + (y === 1 ? skill : -skill - 0.8)))));
  return { targets, predictions };
}

/** Three classes, each row's probabilities a softmax with the true class ahead by `skill` on average. */
function multiclassRows(n: number, random: () => number, skill: number): Rows {
  const targets = Float32Array.from({ length: n }, (_, i) => i % 3);
  const predictions = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const logits = [0, 1, 2].map((k) => normal(random) * 0.9 + (k === targets[i] ? skill : 0) + (k === 1 ? 0.4 : 0));
    const total = logits.reduce((sum, l) => sum + Math.exp(l), 0);
    logits.forEach((l, k) => {
      predictions[i * 3 + k] = Math.exp(l) / total;
    });
  }
  return { targets, predictions };
}

/** A noisy sine: actual values, and predictions that follow them with errors that grow at the ends. */
function regressionRows(n: number, random: () => number, skill: number): Rows {
  const x = Array.from({ length: n }, () => random() * 6 - 3);
  const targets = Float32Array.from(x, (v) => 2 * Math.sin(v) + 0.2 * normal(random));
  const predictions = Float32Array.from(x, (v, i) => targets[i]! + ((0.15 + 0.1 * Math.abs(v)) * normal(random)) / skill);
  return { targets, predictions };
}

const ROWS: Record<TaskKind, (n: number, random: () => number, skill: number) => Rows> = {
  binary: binaryRows,
  multiclass: multiclassRows,
  regression: regressionRows,
};

const DATASETS: Record<TaskKind, Record<string, unknown>> = {
  binary: { kind: 'fraud', rows: 2000, features: 8 },
  multiclass: { kind: 'iris' },
  regression: { kind: 'sine', rows: 3000 },
};

const METRIC: Record<TaskKind, string> = { binary: 'auc', multiclass: 'accuracy', regression: 'rmse' };

export function seedPredictions(
  storage: Storage,
  task: TaskKind,
  options: { name?: string; foldRows?: number; testRows?: number; seed?: number; threshold?: boolean } = {},
): SeededPredictions {
  const name = options.name ?? `${task}-drawn`;
  const foldRows = options.foldRows ?? (task === 'multiclass' ? 45 : task === 'regression' ? 900 : 400);
  const testRows = options.testRows ?? (task === 'multiclass' ? 30 : 300);
  const random = lcg(options.seed ?? 7);
  const metric = METRIC[task];
  const spec = validateSpec({
    name,
    dataset: DATASETS[task],
    task,
    grid: { width: [16, 32] },
    validation: { kind: 'kfold', k: 3 },
    ...(task === 'binary' && options.threshold !== false ? { selection: { threshold: { objective: 'f1' } } } : {}),
  });
  const classes = task === 'binary' ? ['0', '1'] : task === 'multiclass' ? [...IRIS_CLASSES] : undefined;
  const width = task === 'multiclass' ? 3 : 1;
  const specText = `# seeded by test/helpers/seed-predictions.ts\n${JSON.stringify(spec)}\n`;
  return storage.batch(() => {
    const { experiments, runs } = storage;
    const experiment = experiments.create({
      name,
      specText,
      spec,
      specHash: createHash('sha256').update(specText).digest('hex'),
      datasetKind: String(DATASETS[task].kind),
      task,
      selectionMetric: metric,
      selectionDirection: directionOf(metric),
      positiveClass: task === 'binary' ? '1' : null,
    });
    const experimentId = experiment.experimentId;
    runs.createSearchRuns(
      experimentId,
      [16, 32].map((w) => canonicalParamsJson({ ...DEFAULT_PARAMS, width: w })),
      3,
    );
    const searchRuns = runs.list(experimentId);
    const foldsOf = new Map<number, Rows[]>();
    searchRuns.forEach((run, r) => {
      const folds: Rows[] = [];
      for (let foldIndex = 0; foldIndex < 3; foldIndex++) {
        const rows = ROWS[task](foldRows, random, 1.6 + 0.3 * foldIndex - 0.4 * r);
        folds.push(rows);
        runs.startFold(run.runId, foldIndex, 1);
        storage.finishSearchFold(
          run.runId,
          foldIndex,
          1,
          {
            bestEpoch: 4,
            stoppedEpoch: 6,
            score: task === 'regression' ? 0.4 + 0.05 * foldIndex + 0.1 * r : 0.9 - 0.02 * foldIndex - 0.05 * r,
            bestMetrics: {},
            paramCount: 100 * (r + 1),
            trainMs: 100,
            backend: 'cpu',
            workerName: 'worker-1',
          },
          encodeOutOfFold(rows.targets, rows.predictions, width, classes),
        );
      }
      foldsOf.set(run.runId, folds);
    });
    experiments.setStatus(experimentId, 'done');

    const source = searchRuns[0]!;
    const refit = runs.createRefitRun(experimentId, source.paramsJson, source.runId);
    runs.startFold(refit.runId, 0, 1);
    const test = ROWS[task](testRows, random, 1.5);
    const objective = spec.selection?.threshold ?? null;
    const threshold = task !== 'binary' ? null : objective === null ? 0.5 : thresholdFor(pooled(foldsOf.get(source.runId)!), objective)!;
    const decision: Decision | null =
      threshold === null
        ? null
        : {
            threshold,
            objective,
            positiveClass: '1',
            pooled: null,
            folds: {
              f1: foldsOf.get(source.runId)!.map((fold) => decisionMetrics(confusionAt(fold.targets, fold.predictions, threshold)).f1),
            },
            confusion: confusionAt(test.targets, test.predictions, threshold),
            note: null,
          };
    storage.finishRefit(
      refit.runId,
      1,
      {
        bestEpoch: 4,
        stoppedEpoch: 4,
        score: 0.88,
        bestMetrics: {},
        paramCount: 100,
        trainMs: 100,
        backend: 'cpu',
        workerName: 'worker-1',
        testPredictions: encodeOutOfFold(test.targets, test.predictions, width, classes),
      },
      {
        runId: refit.runId,
        experimentId,
        sourceRunId: source.runId,
        format: 'tfjs-layers',
        path: '/nowhere',
        testMetrics: scopedMetrics('test', { [metric]: 0.88 }),
        decision,
      },
    );
    return {
      experimentId,
      runIds: searchRuns.map((run) => run.runId),
      refitRunId: refit.runId,
      modelId: storage.models.ofExperiment(experimentId)[0]!.modelId,
      foldRows,
      testRows,
      positiveClass: task === 'binary' ? '1' : null,
      threshold,
    };
  });
}
