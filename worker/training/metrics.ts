/**
 * Evaluation metrics, hand-written so that they are exact and identical in every backend
 * (TensorFlow.js's streaming AUC approximates with thresholds). Definitions follow
 * scikit-learn. Binary labels are 0/1; a non-finite score or prediction makes the metric NaN
 * (the protocol turns it into `null`), so a diverged model never gets a flattering number.
 */
import type { Confusion } from '../contract/protocol.js';
import { BINARY_FOLD_METRICS, DEFAULT_THRESHOLD, type DecisionMetric, TASK_METRICS, type TaskKind } from '../contract/vocabulary.js';
import type { LossKind } from '../models/output-head.js';

type Numbers = ArrayLike<number>;

/** Log loss clips probabilities to [EPSILON, 1 - EPSILON], as Keras does, so one confident mistake is finite. */
const EPSILON = 1e-7;

/**
 * ROC AUC: the probability that a random positive scores above a random negative, ties
 * counting one half (the Mann–Whitney U statistic with average ranks).
 * @returns NaN when only one class is present or a score is not finite.
 */
export function rocAuc(yTrue: Numbers, score: Numbers): number {
  checkLengths(yTrue.length, score.length);
  const { positives, negatives } = countBinary(yTrue);
  if (positives === 0 || negatives === 0 || !allFinite(score)) return Number.NaN;

  const pos = sortedScoresOf(yTrue, score, 1, positives);
  const neg = sortedScoresOf(yTrue, score, 0, negatives);
  // Tied scores form one group, ranked from low to high; ranks are 1-based.
  let positiveRankSum = 0;
  for (let i = 0, j = 0; i < positives || j < negatives; ) {
    const start = i + j;
    const value = j === negatives || (i < positives && pos[i]! <= neg[j]!) ? pos[i]! : neg[j]!;
    const firstPositive = i;
    while (i < positives && pos[i] === value) i++;
    while (j < negatives && neg[j] === value) j++;
    positiveRankSum += (i - firstPositive) * ((start + i + j - 1) / 2 + 1);
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Average precision, as scikit-learn's `average_precision_score`: Σ (Rₖ − Rₖ₋₁)·Pₖ over the
 * distinct score thresholds from high to low (tied scores enter together), R₀ = 0. A step
 * function, not the trapezoidal PR AUC, which is optimistic.
 * @returns NaN when there is no positive or a score is not finite.
 */
export function averagePrecision(yTrue: Numbers, score: Numbers): number {
  checkLengths(yTrue.length, score.length);
  const { positives } = countBinary(yTrue);
  if (positives === 0 || !allFinite(score)) return Number.NaN;

  const negatives = yTrue.length - positives;
  const pos = sortedScoresOf(yTrue, score, 1, positives);
  const neg = sortedScoresOf(yTrue, score, 0, negatives);
  // From the highest score down, tied scores entering together.
  let previousRecall = 0;
  let sum = 0;
  for (let i = positives - 1, j = negatives - 1; i >= 0 || j >= 0; ) {
    const value = j < 0 || (i >= 0 && pos[i]! >= neg[j]!) ? pos[i]! : neg[j]!;
    while (i >= 0 && pos[i] === value) i--;
    while (j >= 0 && neg[j] === value) j--;
    const truePositives = positives - 1 - i;
    const recall = truePositives / positives;
    const precision = truePositives / (yTrue.length - 2 - i - j); // rows scored at or above this threshold
    sum += (recall - previousRecall) * precision;
    previousRecall = recall;
  }
  return sum;
}

/** Mean binary cross-entropy of probabilities of the positive class, clipped to [1e-7, 1 − 1e-7]. */
export function binaryLogLoss(yTrue: Numbers, prob: Numbers): number {
  checkLengths(yTrue.length, prob.length);
  countBinary(yTrue);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const p = clipProbability(prob[i]!);
    sum -= yTrue[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / yTrue.length;
}

/**
 * Mean categorical cross-entropy: −log of the probability given to the true class, clipped.
 * @param probs row-major n × nClasses.
 */
export function categoricalLogLoss(yTrue: Numbers, probs: Numbers, nClasses: number): number {
  checkLengths(yTrue.length * nClasses, probs.length);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    sum -= Math.log(clipProbability(probs[i * nClasses + classIndex(yTrue[i]!, nClasses)]!));
  }
  return sum / yTrue.length;
}

/** Share of rows whose probability is on the right side of 0.5 (`p > 0.5` is positive, as in Keras). */
export function binaryAccuracy(yTrue: Numbers, prob: Numbers): number {
  checkLengths(yTrue.length, prob.length);
  countBinary(yTrue);
  if (!allFinite(prob)) return Number.NaN;
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if ((prob[i]! > 0.5 ? 1 : 0) === yTrue[i]) correct++;
  return correct / yTrue.length;
}

/**
 * Share of rows whose highest probability is on the true class (ties: the first class).
 * @param probs row-major n × nClasses.
 */
export function multiclassAccuracy(yTrue: Numbers, probs: Numbers, nClasses: number): number {
  checkLengths(yTrue.length * nClasses, probs.length);
  if (!allFinite(probs)) return Number.NaN;
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) {
    let best = 0;
    for (let k = 1; k < nClasses; k++) if (probs[i * nClasses + k]! > probs[i * nClasses + best]!) best = k;
    if (best === classIndex(yTrue[i]!, nClasses)) correct++;
  }
  return correct / yTrue.length;
}

/**
 * The confusion matrix of probabilities at `threshold`: a row is predicted positive when its
 * probability is above it (`p > threshold`, as `binaryAccuracy` at 0.5 and `predict`).
 */
export function confusionAt(yTrue: Numbers, prob: Numbers, threshold: number): Confusion {
  checkLengths(yTrue.length, prob.length);
  countBinary(yTrue);
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (!(prob[i]! > threshold)) continue;
    if (yTrue[i] === 1) tp++;
    else fp++;
  }
  const { positives, negatives } = countBinary(yTrue);
  return { tp, fp, tn: negatives - fp, fn: positives - tp };
}

/**
 * The threshold-dependent metrics of a confusion matrix, as scikit-learn defines them, with its
 * `zero_division=0`: precision tp/(tp+fp), recall tp/(tp+fn), F1 2tp/(2tp+fp+fn), each 0 when its
 * denominator is; balanced accuracy, the mean recall of the classes present; Matthews correlation
 * (tp·tn − fp·fn)/√((tp+fp)(tp+fn)(tn+fp)(tn+fn)), 0 when a margin is empty.
 */
export function decisionMetrics(c: Confusion): Record<DecisionMetric, number> {
  const { tp, fp, tn, fn } = c;
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const rates = [tp + fn > 0 ? tp / (tp + fn) : null, tn + fp > 0 ? tn / (tn + fp) : null].filter((r): r is number => r !== null);
  const margins = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn);
  return {
    accuracy: ratio(tp + tn, tp + fp + tn + fn),
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    balanced_accuracy: rates.length === 0 ? 0 : rates.reduce((sum, rate) => sum + rate, 0) / rates.length,
    mcc: margins === 0 ? 0 : (tp * tn - fp * fn) / Math.sqrt(margins),
  };
}

/** Brier score: the mean squared difference between the probability of the positive class and the 0/1 label. */
export function brierScore(yTrue: Numbers, prob: Numbers): number {
  checkLengths(yTrue.length, prob.length);
  countBinary(yTrue);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) sum += (prob[i]! - yTrue[i]!) ** 2;
  return sum / yTrue.length;
}

/**
 * A binary fold's metrics of its out-of-fold predictions (BINARY_FOLD_METRICS): the
 * threshold-dependent ones at `threshold` (0.5 during the search), the Brier score and the log loss.
 * NaN everywhere when a probability is not finite.
 */
export function binaryFoldMetrics(yTrue: Numbers, prob: Numbers, threshold = DEFAULT_THRESHOLD): Record<string, number> {
  const finite = allFinite(prob);
  const decided = decisionMetrics(confusionAt(yTrue, prob, threshold));
  const metrics: Record<string, number> = { ...decided, brier: brierScore(yTrue, prob), log_loss: binaryLogLoss(yTrue, prob) };
  return Object.fromEntries(BINARY_FOLD_METRICS.map((name) => [name, finite ? metrics[name]! : Number.NaN]));
}

/** Mean squared error. */
export function mse(yTrue: Numbers, yPred: Numbers): number {
  checkLengths(yTrue.length, yPred.length);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) sum += (yTrue[i]! - yPred[i]!) ** 2;
  return sum / yTrue.length;
}

/** Root mean squared error, in the target's units. */
export function rmse(yTrue: Numbers, yPred: Numbers): number {
  return Math.sqrt(mse(yTrue, yPred));
}

/** Mean absolute error. */
export function mae(yTrue: Numbers, yPred: Numbers): number {
  checkLengths(yTrue.length, yPred.length);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) sum += Math.abs(yTrue[i]! - yPred[i]!);
  return sum / yTrue.length;
}

/** Coefficient of determination 1 − SS_res / SS_tot. NaN when the target is constant (SS_tot = 0). */
export function r2(yTrue: Numbers, yPred: Numbers): number {
  checkLengths(yTrue.length, yPred.length);
  let mean = 0;
  for (let i = 0; i < yTrue.length; i++) mean += yTrue[i]!;
  mean /= yTrue.length;
  let residual = 0;
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    residual += (yTrue[i]! - yPred[i]!) ** 2;
    total += (yTrue[i]! - mean) ** 2;
  }
  return total === 0 ? Number.NaN : 1 - residual / total;
}

/** The mean of a training loss (output-head.ts) over rows, as the training step minimises it (clipped cross-entropies). */
export function meanLoss(loss: LossKind, yTrue: Float32Array, predictions: Float32Array, nClasses: number): number {
  switch (loss) {
    case 'binary_crossentropy':
      return binaryLogLoss(yTrue, predictions);
    case 'categorical_crossentropy':
      return categoricalLogLoss(yTrue, predictions, nClasses);
    case 'mean_squared_error':
      return mse(yTrue, predictions);
  }
}

/** The accuracy of a classification task's probabilities (binary: n of class 1; multiclass: n × nClasses, row-major). */
export function accuracyOf(
  task: Exclude<TaskKind, 'regression'>,
  yTrue: Float32Array,
  probabilities: Float32Array,
  nClasses: number,
): number {
  return task === 'binary' ? binaryAccuracy(yTrue, probabilities) : multiclassAccuracy(yTrue, probabilities, nClasses);
}

/**
 * All metrics of a task, keyed exactly as `TASK_METRICS[task]` (without `val_`/`test_`).
 * @param predictions binary: n probabilities of class 1; multiclass: n × nClasses
 *   probabilities, row-major; regression: n values.
 * @param nClasses the number of classes (ignored for binary and regression).
 */
export function evaluate(task: TaskKind, yTrue: Float32Array, predictions: Float32Array, nClasses: number): Record<string, number> {
  const metrics = ((): Record<string, number> => {
    switch (task) {
      case 'binary':
        return {
          loss: binaryLogLoss(yTrue, predictions),
          accuracy: binaryAccuracy(yTrue, predictions),
          auc: rocAuc(yTrue, predictions),
          pr_auc: averagePrecision(yTrue, predictions),
        };
      case 'multiclass':
        return { loss: categoricalLogLoss(yTrue, predictions, nClasses), accuracy: multiclassAccuracy(yTrue, predictions, nClasses) };
      case 'regression':
        return { loss: mse(yTrue, predictions), rmse: rmse(yTrue, predictions), mae: mae(yTrue, predictions), r2: r2(yTrue, predictions) };
    }
  })();
  // Keep the key order of the contract: curves and tables are laid out from it.
  return Object.fromEntries(TASK_METRICS[task].map((name) => [name, metrics[name]!]));
}

// ───────────────────────────── helpers ─────────────────────────────

function checkLengths(expected: number, actual: number): void {
  if (expected !== actual) throw new RangeError(`metric inputs disagree in length: expected ${expected} predictions, got ${actual}`);
  if (expected === 0) throw new RangeError('metric of an empty set');
}

/** Counts the classes of 0/1 labels; anything else is a caller bug. */
function countBinary(yTrue: Numbers): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const label = yTrue[i];
    if (label === 1) positives++;
    else if (label !== 0) throw new RangeError(`binary labels must be 0 or 1, got ${label} at index ${i}`);
  }
  return { positives, negatives: yTrue.length - positives };
}

function classIndex(label: number, nClasses: number): number {
  if (!Number.isInteger(label) || label < 0 || label >= nClasses) throw new RangeError(`class index ${label} outside 0..${nClasses - 1}`);
  return label;
}

function clipProbability(p: number): number {
  // Math.min/max propagate NaN, so a diverged model's loss stays NaN.
  return Math.min(1 - EPSILON, Math.max(EPSILON, p));
}

function allFinite(values: Numbers): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

/**
 * The scores of the rows labelled `label` (`count` of them), ascending. A typed array's own
 * numeric sort, without a comparator: several times faster than sorting indices by score, and
 * the AUCs are computed every epoch.
 */
function sortedScoresOf(yTrue: Numbers, score: Numbers, label: 0 | 1, count: number): Float64Array {
  const scores = new Float64Array(count);
  for (let i = 0, k = 0; i < yTrue.length; i++) if (yTrue[i] === label) scores[k++] = score[i]!;
  return scores.sort();
}
