/**
 * What the run page's prediction charts read (GET /api/experiments/:id/runs/:runId/predictions):
 * the stored out-of-fold predictions of the run (a refit's page: of its source run) and the test
 * predictions of its newest refit, cut and binned by server/results/run-diagnostics.ts.
 *
 * The operating threshold is the refit's frozen one, else the one `selection.threshold` chooses on
 * the same out-of-fold predictions, else 0.5, and says which. The test predictions are only drawn:
 * nothing here is chosen on them (DESIGN.md).
 */
import { DEFAULT_THRESHOLD, type TaskKind } from '../../worker/contract/vocabulary.js';
import { describeObjective, operatingPointOf } from '../results/operating-point.js';
import {
  calibrationBins,
  type CalibrationBin,
  type CurveSet,
  multiclassConfusion,
  operatingPoint,
  type OperatingPoint,
  pooled,
  prCurves,
  rocCurves,
  scatterSample,
  thresholdFor,
  thresholdStops,
  type ThresholdRow,
} from '../results/run-diagnostics.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { ModelRecord } from '../storage/model-store.js';
import type { StoredPredictions } from '../storage/out-of-fold-store.js';
import type { Run } from '../storage/run-store.js';
import type { Storage } from '../storage/storage.js';

/** Where the drawn predictions come from, for every task. */
type Provenance = {
  /** The search run whose folds' out-of-fold predictions are drawn (a refit run's source), by its number. */
  readonly sourceRunNumber: number;
  readonly foldsDrawn: number;
  readonly nFolds: number;
  /** The refit whose test predictions are drawn; null when none is. */
  readonly test: { readonly refitRunNumber: number; readonly modelId: number; readonly rows: number } | null;
  /** Why the test split is not drawn, or null. */
  readonly testNote: string | null;
};

export type BinaryPredictionViews = Provenance & {
  readonly kind: 'binary';
  readonly positiveClass: string;
  readonly negativeClass: string;
  /** The operating threshold marked on every chart and where the slider starts. */
  readonly threshold: { readonly value: number; readonly source: 'refit' | 'cross-validation' | 'default'; readonly label: string };
  readonly roc: CurveSet;
  /** With the positive share of the pooled rows: the precision of guessing. */
  readonly pr: CurveSet & { readonly prevalence: number };
  /** The threshold on the pooled out-of-fold rows, on each fold's, and on the test split's. */
  readonly points: { readonly pooled: OperatingPoint; readonly folds: readonly OperatingPoint[]; readonly test: OperatingPoint | null };
  readonly calibration: { readonly outOfFold: readonly CalibrationBin[]; readonly test: readonly CalibrationBin[] | null };
  /** The slider's stops over the pooled out-of-fold rows; null when they lack a class. */
  readonly slider: { readonly rows: readonly ThresholdRow[]; readonly start: number } | null;
};

export type MulticlassPredictionViews = Provenance & {
  readonly kind: 'multiclass';
  readonly classes: readonly string[];
  /** counts[actual][predicted] of the most probable class. */
  readonly outOfFold: readonly (readonly number[])[];
  readonly testCounts: readonly (readonly number[])[] | null;
};

type Scatter = { readonly actual: readonly number[]; readonly predicted: readonly number[]; readonly total: number };

export type RegressionPredictionViews = Provenance & {
  readonly kind: 'regression';
  readonly outOfFold: Scatter;
  readonly testPoints: Scatter | null;
};

export type PredictionViews =
  | BinaryPredictionViews
  | MulticlassPredictionViews
  | RegressionPredictionViews
  | { readonly kind: 'none'; readonly task: TaskKind; readonly message: string };

type Stores = Pick<Storage, 'runs' | 'models' | 'outOfFold' | 'testPredictions'>;

/** The charts' data of `run` (search or refit) of `experiment`. */
export function predictionViews(stores: Stores, experiment: Experiment, run: Run): PredictionViews {
  const source = run.kind === 'refit' && run.sourceRunId !== null ? stores.runs.get(run.sourceRunId) : run;
  const folds = stores.outOfFold.ofRun(source.runId);
  const task = experiment.task;
  if (folds.length === 0) return { kind: 'none', task, message: nothingToDraw(source, task) };
  const models = stores.models.ofExperiment(experiment.experimentId);
  // A refit run draws its own test predictions; a search run its newest refit's.
  const model = models.find((m) => (run.kind === 'refit' ? m.runId === run.runId : m.sourceRunId === run.runId)) ?? null;
  const test = model === null ? null : stores.testPredictions.ofModel(model.modelId);
  const provenance: Provenance = {
    sourceRunNumber: source.number,
    foldsDrawn: folds.length,
    nFolds: source.nFolds,
    test:
      model === null || test === null
        ? null
        : { refitRunNumber: stores.runs.get(model.runId).number, modelId: model.modelId, rows: test.targets.length },
    testNote:
      model === null
        ? 'not refitted yet: a refit scores the test split once'
        : test === null
          ? 'its refit was made before foldwise kept test predictions; refit again to draw them'
          : null,
  };
  if (task === 'binary') return binaryViews(experiment, folds, test, model, provenance);
  if (task === 'multiclass') {
    const width = folds[0]!.width;
    const classes = folds[0]!.classes ?? Array.from({ length: width }, (_, i) => `class ${i}`);
    const testCounts = test === null ? null : multiclassConfusion(test, width);
    return { kind: 'multiclass', ...provenance, classes, outOfFold: multiclassConfusion(pooled(folds), width), testCounts };
  }
  return {
    kind: 'regression',
    ...provenance,
    outOfFold: compactScatter(scatterSample(pooled(folds))),
    testPoints: test === null ? null : compactScatter(scatterSample(test)),
  };
}

function nothingToDraw(source: Run, task: TaskKind): string {
  if (source.status === 'queued' || source.status === 'running') return 'Drawn when a fold has finished, from its out-of-fold predictions.';
  if (source.foldsDone === 0) return 'No fold finished: there are no predictions to draw.';
  const what = task === 'regression' ? 'regression runs’ out-of-fold predictions' : 'out-of-fold predictions';
  return `This run trained before foldwise kept ${what}: search again to draw them.`;
}

function binaryViews(
  experiment: Experiment,
  folds: readonly StoredPredictions[],
  test: StoredPredictions | null,
  model: ModelRecord | null,
  provenance: Provenance,
): BinaryPredictionViews {
  const all = pooled(folds);
  const threshold = operatingThreshold(experiment, all, model, provenance);
  const classes = folds[0]!.classes;
  const positiveClass = classes?.[1] ?? experiment.positiveClass ?? '1';
  let positives = 0;
  for (const target of all.targets) positives += target;
  return {
    kind: 'binary',
    ...provenance,
    positiveClass,
    negativeClass: classes?.[0] ?? `not ${positiveClass}`,
    threshold,
    roc: rocCurves(folds, test),
    pr: { ...prCurves(folds, test), prevalence: positives / all.targets.length },
    points: {
      pooled: operatingPoint(all, threshold.value),
      folds: folds.map((fold) => operatingPoint(fold, threshold.value)),
      test: test === null ? null : operatingPoint(test, threshold.value),
    },
    calibration: { outOfFold: calibrationBins(all), test: test === null ? null : calibrationBins(test) },
    slider: thresholdStops(all, threshold.value),
  };
}

function operatingThreshold(
  experiment: Experiment,
  all: ReturnType<typeof pooled>,
  model: ModelRecord | null,
  provenance: Provenance,
): BinaryPredictionViews['threshold'] {
  const decision = model?.decision ?? null;
  if (decision !== null) {
    const number = provenance.test?.refitRunNumber;
    const frozen = number === undefined ? 'frozen by its refit' : `frozen by refit #${number}`;
    return {
      value: decision.threshold,
      source: decision.objective === null ? 'default' : 'refit',
      label: `${frozen}: ${operatingPointOf(decision).chosenBy}`,
    };
  }
  const objective = experiment.spec.selection?.threshold ?? null;
  const chosen = objective === null ? null : thresholdFor(all, objective);
  if (objective !== null && chosen !== null)
    return {
      value: chosen,
      source: 'cross-validation',
      label: `${describeObjective(objective)} on these pooled out-of-fold predictions (selection.threshold); a refit freezes it`,
    };
  return { value: DEFAULT_THRESHOLD, source: 'default', label: `the default ${DEFAULT_THRESHOLD}: no selection.threshold` };
}

/** Float32 values printed as such (7 significant digits), not as the 17 digits of their double. */
function compactScatter(scatter: Scatter): Scatter {
  const compact = (values: readonly number[]) => values.map((value) => Number(value.toPrecision(7)));
  return { actual: compact(scatter.actual), predicted: compact(scatter.predicted), total: scatter.total };
}
