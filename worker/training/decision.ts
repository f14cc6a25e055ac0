/**
 * What folds and refits report beyond the per-epoch metrics: a search fold's out-of-fold
 * predictions at its chosen epoch (and, binary, its precision, recall, F1, … at 0.5), a refit's
 * test predictions, and a binary refit's operating point: the threshold chosen on the source
 * run's pooled out-of-fold predictions (`selection.threshold`, threshold.ts; 0.5 without it), its
 * value fold by fold, and the test split scored once at it (DESIGN.md: nothing here looks at the
 * test split before the threshold is frozen).
 */
import { type Decision, decodeOutOfFold, encodeOutOfFold, type OutOfFold, type Task, type TaskResult } from '../contract/protocol.js';
import { DECISION_METRICS, DEFAULT_THRESHOLD, objectiveMetricName, scopedMetrics } from '../contract/vocabulary.js';
import type { PositiveClass } from '../data/positive-class.js';
import { binaryFoldMetrics, brierScore, binaryLogLoss, confusionAt, decisionMetrics } from './metrics.js';
import type { TaskData } from './task-data.js';
import { chooseThreshold, objectiveValue } from './threshold.js';
import type { Trainer } from './types.js';

/**
 * A search fold's result with its out-of-fold predictions (the trainer holds the chosen epoch's
 * weights) and, for binary tasks, BINARY_FOLD_METRICS of them in `bestMetrics`.
 */
export async function withOutOfFold(result: TaskResult, trainer: Trainer, data: TaskData, task: Task): Promise<TaskResult> {
  const predictions = await trainer.heldPredictions();
  const foldMetrics = task.taskKind === 'binary' ? scopedMetrics('val', binaryFoldMetrics(data.held.y, predictions)) : {};
  return { ...result, bestMetrics: { ...result.bestMetrics, ...foldMetrics }, outOfFold: heldOutPredictions(task, data, predictions) };
}

/**
 * The held-out rows' targets and predictions as a message carries them: a search fold's
 * out-of-fold predictions, or a refit's test predictions (drawn on the run page, never used to
 * choose anything). Classification carries its class labels.
 */
export function heldOutPredictions(task: Task, data: TaskData, predictions: Float32Array): OutOfFold {
  const width = task.taskKind === 'multiclass' ? data.nClasses : 1;
  if (task.taskKind === 'regression' && data.held.y.length > REGRESSION_ROWS_KEPT) {
    const { targets, values } = everyKth(data.held.y, predictions, REGRESSION_ROWS_KEPT);
    return encodeOutOfFold(targets, values, 1);
  }
  return encodeOutOfFold(data.held.y, predictions, width, data.classes ?? undefined);
}

/**
 * Regression predictions are only drawn (predicted against actual), never used to choose: a
 * held-out part of a ratings data set can hold 200,000 rows, so at most this many are kept, an
 * even stride through the rows. Classification keeps every row: thresholds are chosen on them.
 */
export const REGRESSION_ROWS_KEPT = 5000;

function everyKth(targets: Float32Array, predictions: Float32Array, limit: number) {
  const stride = Math.ceil(targets.length / limit);
  const n = Math.ceil(targets.length / stride);
  const kept = { targets: new Float32Array(n), values: new Float32Array(n) };
  for (let i = 0; i < n; i++) {
    kept.targets[i] = targets[i * stride]!;
    kept.values[i] = predictions[i * stride]!;
  }
  return kept;
}

/** Said when a threshold is asked for but the source run has no out-of-fold predictions to choose it on. */
const NO_OUT_OF_FOLD =
  'the source run has no out-of-fold predictions (it was trained before foldwise kept them): ' +
  `the default ${DEFAULT_THRESHOLD} is used; run the search again to choose a threshold`;

/**
 * A binary refit's operating point and its test metrics at it: the threshold from
 * `spec.selection.threshold` on the pooled out-of-fold predictions the task carries (0.5 without
 * it), each DECISION_METRICS and the objective per fold at that threshold, and the test split's
 * confusion matrix and metrics (`test_…`: DECISION_METRICS at the threshold, Brier score, log loss).
 * @param testY the test rows' targets (1 = positive); @param testP their probabilities of the positive class.
 */
export function refitDecision(
  task: Task,
  positive: PositiveClass,
  testY: Float32Array,
  testP: Float32Array,
): { readonly decision: Decision; readonly testMetrics: Record<string, number | null> } {
  const folds = (task.refit?.outOfFold ?? []).map(decodeOutOfFold);
  const objective = task.spec.selection?.threshold ?? null;
  let threshold = DEFAULT_THRESHOLD;
  let pooled: number | null = null;
  let note: string | null = null;
  if (objective !== null && folds.length === 0) note = NO_OUT_OF_FOLD;
  else if (objective !== null) {
    const choice = chooseThreshold(concat(folds.map((f) => f.targets)), concat(folds.map((f) => f.predictions)), objective);
    ({ threshold, note } = choice);
    pooled = choice.value;
  }
  const perFold = folds.map((fold) => confusionAt(fold.targets, fold.predictions, threshold));
  const foldValues: Record<string, (number | null)[]> = {};
  for (const name of DECISION_METRICS) foldValues[name] = perFold.map((c) => finiteOrNull(decisionMetrics(c)[name]));
  if (objective !== null)
    foldValues[objectiveMetricName(objective.objective)] = perFold.map((c) => finiteOrNull(objectiveValue(objective, c)));
  const confusion = confusionAt(testY, testP, threshold);
  const testMetrics = scopedMetrics('test', {
    ...decisionMetrics(confusion),
    brier: brierScore(testY, testP),
    log_loss: binaryLogLoss(testY, testP),
  });
  return {
    decision: { threshold, objective, positiveClass: positive.label, pooled, folds: foldValues, confusion, note },
    testMetrics,
  };
}

function concat(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((sum, array) => sum + array.length, 0));
  let at = 0;
  for (const array of arrays) {
    out.set(array, at);
    at += array.length;
  }
  return out;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}
