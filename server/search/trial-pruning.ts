/**
 * ASHA and fold cutting for a sampled search, made independent of timing. Trial n is compared
 * only with trials 1…n − lag — the trials its configuration was sampled from, all finished
 * before it started — and only with their folds that do not depend on timing
 * (trials.ts, referenceFoldCount). An ASHA stop ends only that fold: the trial's other folds train
 * or stop on their own, so its partial score (the mean over its folds, a stopped fold counting
 * its best score up to the rung) is the same in every run. A fold cut is judged once, on the
 * trial's first `minFolds` folds exactly, and its partial score is their mean.
 */
import type { Direction } from '../../worker/contract/vocabulary.js';
import { rungVerdict } from './asha.js';
import { shouldCutFolds, type FoldScores } from './fold-cutter.js';
import { rungKey, type FinishedTrial } from './trials.js';

/** Finished trials 1…number − lag (undefined ones: not finished, which cannot happen once trial `number` runs). */
function references(number: number, lag: number, finished: (n: number) => FinishedTrial | undefined): FinishedTrial[] {
  const found: FinishedTrial[] = [];
  for (let n = 1; n <= number - lag; n++) {
    const trial = finished(n);
    if (trial) found.push(trial);
  }
  return found;
}

/** ASHA for fold `foldIndex` of trial `number` at the end of `epoch` (0-based): its best so far against the same rung of earlier trials. */
export function trialRungVerdict(
  number: number,
  lag: number,
  foldIndex: number,
  epoch: number,
  bestSoFar: number,
  finished: (n: number) => FinishedTrial | undefined,
  rule: { readonly isRung: (epochs: number) => boolean; readonly reductionFactor: number; readonly direction: Direction },
): 'continue' | 'stop' {
  if (!rule.isRung(epoch + 1)) return 'continue';
  const key = rungKey(foldIndex, epoch + 1);
  const earlier = references(number, lag, finished).flatMap((trial) => {
    const score = trial.rungScores.get(key);
    return score === undefined ? [] : [score];
  });
  return rungVerdict(bestSoFar, earlier, rule);
}

/**
 * Whether trial `number` is cut, judged on its first `minFolds` folds once all of them are done
 * (`mine`: fold index → score of its done folds), against earlier trials' reference folds.
 */
export function trialFoldCut(
  number: number,
  lag: number,
  mine: FoldScores,
  finished: (n: number) => FinishedTrial | undefined,
  rule: { readonly minFolds: number; readonly margin: number; readonly direction: Direction },
): boolean {
  const judged = new Map<number, number | null>();
  for (let fold = 0; fold < rule.minFolds; fold++) {
    if (!mine.has(fold)) return false;
    judged.set(fold, mine.get(fold)!);
  }
  const others = references(number, lag, finished).map((trial) => trial.foldScores);
  return shouldCutFolds(judged, others, rule);
}
