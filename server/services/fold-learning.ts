/**
 * Folds whose model never learned. A k-fold run averages its folds' scores, so one fold stuck at
 * chance (dead units at its initialisation, a bad split) hides in the mean and its std: the run
 * page flags it instead. Chance is known where the metric says it: a validation AUC of 0.5 (binary;
 * recorded whatever the selection metric) and an R² of 0 (regression: predicting the mean).
 */
import { metricKey, type TaskKind } from '../../worker/contract/vocabulary.js';
import type { Fold } from '../storage/run-store.js';

/** What the flag says: the fold's score at chance while the run's other finished folds learned. */
export type NeverLearned = {
  readonly metric: string;
  readonly score: number;
  readonly chance: number;
  /** The median score of the run's other finished folds. */
  readonly othersMedian: number;
};

const CHANCE: Partial<Record<TaskKind, { readonly metric: string; readonly chance: number }>> = {
  binary: { metric: metricKey('val', 'auc'), chance: 0.5 },
  regression: { metric: metricKey('val', 'r2'), chance: 0 },
};
/** A fold at most this far above chance has not learned… */
export const NEAR_CHANCE = 0.05;
/** …when the run's other folds are, at their median, at least this far above it. */
export const LEARNED_MARGIN = 0.2;

/**
 * The folds of one run flagged as never learned, by fold index: finished folds (done or pruned)
 * whose score is within NEAR_CHANCE of chance (or below it) while the median of the other finished
 * folds is LEARNED_MARGIN above it. None for a holdout run (no other fold to compare with) or a
 * task without a chance level (multiclass).
 */
export function neverLearnedFolds(task: TaskKind, folds: readonly Fold[]): Map<number, NeverLearned> {
  const flagged = new Map<number, NeverLearned>();
  const level = CHANCE[task];
  if (level === undefined) return flagged;
  const scores = folds
    .filter((fold) => fold.status === 'done' || fold.status === 'pruned')
    .map((fold) => ({ foldIndex: fold.foldIndex, score: fold.bestMetrics?.[level.metric] }))
    .filter((entry): entry is { foldIndex: number; score: number } => typeof entry.score === 'number' && Number.isFinite(entry.score));
  for (const { foldIndex, score } of scores) {
    const others = scores.filter((other) => other.foldIndex !== foldIndex).map((other) => other.score);
    if (others.length === 0 || score > level.chance + NEAR_CHANCE) continue;
    const othersMedian = median(others);
    if (othersMedian >= level.chance + LEARNED_MARGIN) flagged.set(foldIndex, { ...level, score, othersMedian });
  }
  return flagged;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
