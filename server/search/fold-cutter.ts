/**
 * Fold cutting: stop training a configuration's remaining folds once its first folds are
 * clearly worse than the leader's. "Clearly" is paired and conservative: the run must have lost
 * to the leader on EVERY one of its finished folds (at least `minFolds` of them), each time by
 * more than `margin`. Folds share their splits across runs, so fold i of one run is compared
 * with fold i of the other — the same validation rows.
 */
import { betterBy, isBetter, type Direction } from '../../worker/contract/vocabulary.js';

export type FoldScores = ReadonlyMap<number, number | null>;

export type FoldCutRule = { readonly minFolds: number; readonly margin: number; readonly direction: Direction };

/**
 * The leader: among the other runs, the one with the best mean over the folds the candidate has
 * finished (it must have finished them all). Undefined when no run qualifies.
 */
export function pickLeader(candidate: FoldScores, others: readonly FoldScores[], direction: Direction): FoldScores | undefined {
  const folds = [...candidate.keys()];
  let leader: FoldScores | undefined;
  let leaderMean = 0;
  for (const other of others) {
    const scores = folds.map((fold) => other.get(fold));
    if (scores.some((score) => score === undefined || score === null || !Number.isFinite(score))) continue;
    const mean = (scores as number[]).reduce((a, b) => a + b, 0) / scores.length;
    if (leader === undefined || isBetter(direction, mean, leaderMean)) {
      leader = other;
      leaderMean = mean;
    }
  }
  return leader;
}

/**
 * Whether the candidate's remaining folds should be cut. A candidate with a non-finite fold score is never cut here (it fails on
 * its own).
 */
export function shouldCutFolds(candidate: FoldScores, others: readonly FoldScores[], rule: FoldCutRule): boolean {
  if (candidate.size < rule.minFolds) return false;
  const leader = pickLeader(candidate, others, rule.direction);
  if (!leader) return false;
  for (const [fold, score] of candidate) {
    const leaderScore = leader.get(fold);
    if (score === null || !Number.isFinite(score) || leaderScore === undefined || leaderScore === null) return false;
    if (betterBy(rule.direction, leaderScore, score) <= rule.margin) return false;
  }
  return true;
}
