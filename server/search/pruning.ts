/**
 * The seam through which the coordinator asks whether to cut work short: ASHA at the end of each
 * epoch, fold cutting after each fold. A grid asks about everything trained so far (asynchronous,
 * so timing decides what it is compared with); a sampled search asks only about earlier trials
 * fixed by the trial's number (trial-pruning.ts), so that its trial sequence does not depend on
 * timing.
 */
import type { PruningSpec } from '../../worker/contract/spec.js';
import type { Direction } from '../../worker/contract/vocabulary.js';
import { AshaPruner } from './asha.js';
import { shouldCutFolds, type FoldScores } from './fold-cutter.js';

/** A fold cut: why, and (for a sampled trial) how many leading folds its partial score counts. */
export type FoldCut = { readonly reason: string; readonly foldsCounted?: number };

export type FoldPruning = {
  /** At the end of `epoch` (0-based), with the fold's best selection score so far: why it should stop, or null. */
  atEpoch(runId: number, foldIndex: number, epoch: number, bestSoFar: number): string | null;
  /** After a fold of a still running run finished: a fold cut of the run, or null. */
  afterFold(runId: number): FoldCut | null;
  /** Whether an ASHA stop ends the run at once (grid), or only that fold (a sampled trial's folds all train or stop on their own). */
  readonly stopEndsRun: boolean;
};

export type PruningRules = {
  readonly pruning: PruningSpec | undefined;
  readonly direction: Direction;
  /** `val_auc`, …: the curve ASHA reads. */
  readonly selectionKey: string;
};

/** ASHA's reason to stop a fold at a rung. */
export function ashaReason(rules: PruningRules, foldIndex: number, epoch: number, best: number): string {
  return (
    `ASHA: best ${rules.selectionKey} ${best.toFixed(4)} after ${epoch + 1} epochs ` +
    `was not in the top 1/${rules.pruning!.asha!.reductionFactor} of fold ${foldIndex}`
  );
}

/** Fold cutting's reason to cut a run. */
export function foldCutReason(rules: PruningRules, folds: Iterable<number>): string {
  return `fold cut: worse than the leader on each of folds ${[...folds].join(', ')} by more than ${rules.pruning!.foldCut!.margin}`;
}

/**
 * Pruning for a grid: ASHA rungs filled by every fold in the order they arrive, and the fold cut
 * against every other run's finished folds (`foldScores`: run id → fold index → score).
 */
export function gridPruning(rules: PruningRules, foldScores: () => Map<number, FoldScores>): FoldPruning {
  const { asha, foldCut } = rules.pruning ?? {};
  const pruner = asha ? new AshaPruner({ ...asha, direction: rules.direction }) : null;
  return {
    stopEndsRun: true,
    atEpoch: (_runId, foldIndex, epoch, best) =>
      pruner?.report(foldIndex, epoch, best) === 'stop' ? ashaReason(rules, foldIndex, epoch, best) : null,
    afterFold(runId) {
      if (!foldCut) return null;
      const scores = foldScores();
      const mine = scores.get(runId) ?? new Map<number, number | null>();
      scores.delete(runId);
      const cut = shouldCutFolds(mine, [...scores.values()], { ...foldCut, direction: rules.direction });
      return cut ? { reason: foldCutReason(rules, mine.keys()) } : null;
    },
  };
}
