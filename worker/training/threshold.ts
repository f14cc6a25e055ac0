/**
 * The operating threshold of a binary classifier, chosen on out-of-fold predictions for a
 * `selection.threshold` objective (vocabulary.ts THRESHOLD_OBJECTIVES). Every distinct way of
 * cutting the sorted scores is a candidate, from "no row positive" to "every row positive"; the
 * objective is evaluated exactly on each (one sweep after one sort, O(n log n)).
 *
 * A row is predicted positive when p > threshold (metrics.ts `confusionAt`, `predict`, the ONNX
 * graph's Greater). The threshold of a cut lies between the lowest score taken positive and the
 * highest left negative: their midpoint, rounded to float32 (the ONNX graph compares in float32),
 * and never the positive score itself, so the frozen threshold reproduces the cut in every runtime.
 * Ties between candidates (the same objective value up to 1e-12) go to the threshold nearest 0.5:
 * the least departure from the default operating point.
 */
import type { Confusion } from '../contract/protocol.js';
import type { ThresholdSpec } from '../contract/spec.js';
import { DEFAULT_THRESHOLD, objectiveMetricName } from '../contract/vocabulary.js';
import { decisionMetrics } from './metrics.js';

/** Objective values closer than this are equal (then the threshold nearest 0.5 wins). */
const OBJECTIVE_TIE = 1e-12;

export type ThresholdChoice = {
  /** Predict positive when p > threshold. */
  readonly threshold: number;
  /** The objective's value at the threshold on the predictions it was chosen on (see objectiveValue). */
  readonly value: number;
  /** Why the threshold is not what the objective asked for (a precision or recall no threshold reaches), or null. */
  readonly note: string | null;
};

/**
 * The value of an objective for a confusion matrix: f1, balanced accuracy, MCC or Youden's J
 * (TPR + TNR − 1); the recall of `recall_at_precision`, the precision of `precision_at_recall`;
 * the cost per row of `cost`. Its direction is the vocabulary's (`directionOf`: cost is minimised).
 */
export function objectiveValue(objective: ThresholdSpec, c: Confusion): number {
  const metrics = decisionMetrics(c);
  switch (objective.objective) {
    case 'youden': {
      const tpr = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
      const tnr = c.tn + c.fp === 0 ? 0 : c.tn / (c.tn + c.fp);
      return tpr + tnr - 1;
    }
    case 'cost':
      return (objective.falsePositive * c.fp + objective.falseNegative * c.fn) / (c.tp + c.fp + c.tn + c.fn);
    default:
      return metrics[objectiveMetricName(objective.objective) as keyof typeof metrics];
  }
}

type Candidate = { readonly threshold: number; readonly confusion: Confusion };

/**
 * The threshold that optimises `objective` on labels `yTrue` (0/1) and probabilities `prob`
 * (finite). `recall_at_precision` / `precision_at_recall` maximise recall (precision) among the
 * thresholds whose precision (recall) reaches `value`, the other one breaking ties; when none
 * does, the threshold of the highest precision (recall) is taken and `note` says so.
 * @throws {RangeError} on empty or non-finite input, or labels without both classes.
 */
export function chooseThreshold(yTrue: ArrayLike<number>, prob: ArrayLike<number>, objective: ThresholdSpec): ThresholdChoice {
  const candidates = thresholdCandidates(yTrue, prob);
  const metricsOf = (candidate: Candidate) => decisionMetrics(candidate.confusion);
  /** A candidate's score to maximise, lexicographically; null when it does not satisfy the constraint. */
  let score: (candidate: Candidate) => readonly number[] | null;
  let fallback: ((candidate: Candidate) => readonly number[]) | null = null;
  let fallbackNote = '';
  switch (objective.objective) {
    case 'recall_at_precision': {
      const { value } = objective;
      score = (c) => {
        const m = metricsOf(c);
        return c.confusion.tp + c.confusion.fp > 0 && m.precision >= value ? [m.recall, m.precision] : null;
      };
      fallback = (c) => [metricsOf(c).precision, metricsOf(c).recall];
      fallbackNote = `no threshold reaches precision ${value} on the out-of-fold predictions; took the one of the highest precision`;
      break;
    }
    case 'precision_at_recall': {
      const { value } = objective;
      score = (c) => {
        const m = metricsOf(c);
        return m.recall >= value ? [m.precision, m.recall] : null;
      };
      fallback = (c) => [metricsOf(c).recall, metricsOf(c).precision];
      fallbackNote = `no threshold reaches recall ${value} on the out-of-fold predictions; took the one of the highest recall`;
      break;
    }
    case 'cost':
      score = (c) => [-objectiveValue(objective, c.confusion)];
      break;
    default:
      score = (c) => [objectiveValue(objective, c.confusion)];
  }
  let best = bestCandidate(candidates, score);
  let note: string | null = null;
  if (best === null) {
    best = bestCandidate(candidates, fallback!)!;
    note = fallbackNote;
  }
  return { threshold: best.threshold, value: objectiveValue(objective, best.confusion), note };
}

/** The candidate of the highest score (lexicographic; ties within OBJECTIVE_TIE: the threshold nearest 0.5); null when none qualifies. */
function bestCandidate(candidates: readonly Candidate[], score: (candidate: Candidate) => readonly number[] | null): Candidate | null {
  let best: { candidate: Candidate; score: readonly number[] } | null = null;
  for (const candidate of candidates) {
    const s = score(candidate);
    if (s === null) continue;
    if (best === null) {
      best = { candidate, score: s };
      continue;
    }
    const order = compareScores(s, best.score);
    const nearer = Math.abs(candidate.threshold - DEFAULT_THRESHOLD) < Math.abs(best.candidate.threshold - DEFAULT_THRESHOLD);
    if (order > 0 || (order === 0 && nearer)) best = { candidate, score: s };
  }
  return best?.candidate ?? null;
}

/** 1 when a is higher, −1 when lower, 0 when equal within OBJECTIVE_TIE in every component. */
function compareScores(a: readonly number[], b: readonly number[]): number {
  for (let k = 0; k < a.length; k++) {
    const difference = a[k]! - b[k]!;
    if (Math.abs(difference) > OBJECTIVE_TIE) return difference > 0 ? 1 : -1;
  }
  return 0;
}

/**
 * Every distinct cut of the scores, with its threshold and confusion matrix: none positive (the
 * highest score), then each distinct score in turn joining the positives (tied rows together).
 */
export function thresholdCandidates(yTrue: ArrayLike<number>, prob: ArrayLike<number>): Candidate[] {
  const n = yTrue.length;
  if (n === 0 || prob.length !== n) throw new RangeError(`threshold search needs as many probabilities as labels (${prob.length}, ${n})`);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(prob[i])) throw new RangeError(`probability ${prob[i]} at index ${i} is not finite`);
    if (yTrue[i] === 1) positives++;
    else if (yTrue[i] !== 0) throw new RangeError(`binary labels must be 0 or 1, got ${yTrue[i]} at index ${i}`);
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('threshold search needs both classes among the labels');
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => prob[b]! - prob[a]!);
  const candidates: Candidate[] = [{ threshold: prob[order[0]!]!, confusion: { tp: 0, fp: 0, tn: negatives, fn: positives } }];
  let tp = 0;
  let fp = 0;
  for (let start = 0; start < n; ) {
    const score = prob[order[start]!]!;
    let end = start;
    while (end < n && prob[order[end]!] === score) {
      if (yTrue[order[end]!] === 1) tp++;
      else fp++;
      end++;
    }
    const next = end < n ? prob[order[end]!]! : null;
    candidates.push({ threshold: cutBelow(score, next), confusion: { tp, fp, tn: negatives - fp, fn: positives - tp } });
    start = end;
  }
  return candidates;
}

/**
 * A threshold t with next ≤ t < score (float32), so that p > t takes `score` and leaves `next`:
 * their midpoint in float32, or `next` itself when the midpoint rounds up to `score`. Below the
 * lowest score (next null): 0, or lower when the lowest score is 0 itself.
 */
function cutBelow(score: number, next: number | null): number {
  if (next === null) return score > 0 ? 0 : score - 1;
  const middle = Math.fround((score + next) / 2);
  return middle < score && middle >= next ? middle : next;
}
