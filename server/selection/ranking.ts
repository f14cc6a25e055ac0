/**
 * The one ranking of an experiment's finished search runs: best first by the mean of the
 * selection metric over folds, and, where two means are the same up to floating-point noise,
 * the simpler model first. Everything that orders runs (the leaderboard, `foldwise show`, the
 * results downloads, the selection rules and so the refit) goes through `rankRuns`.
 */
import type { ExperimentSpec } from '../../worker/contract/spec.js';
import { betterBy } from '../../worker/contract/vocabulary.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { Run } from '../storage/run-store.js';

/**
 * Two means closer than this, relative to the larger, are the same score. Fold scores summed in
 * another order differ in the 16th digit: without this a 1,315-parameter run outranked a
 * 67-parameter one with the same score (iris-multiclass).
 */
export const SCORE_TIE_RELATIVE = 1e-9;

/** The same score up to floating-point noise (see SCORE_TIE_RELATIVE). */
export function sameScore(a: number, b: number): boolean {
  return Math.abs(a - b) <= SCORE_TIE_RELATIVE * Math.max(Math.abs(a), Math.abs(b));
}

/** Epochs a refit of the run trains: what early stopping chose (the median best epoch), or the grid's epochs without it. */
export function refitEpochsOf(spec: ExperimentSpec, run: Pick<Run, 'refitEpochs' | 'params'>): number {
  return spec.validation.earlyStopping ? (run.refitEpochs ?? run.params.epochs) : run.params.epochs;
}

/** Simpler first: fewer trainable parameters, then fewer refit epochs; 0 when the two are equally simple. */
export function bySimplicity(spec: ExperimentSpec): (a: Run, b: Run) => number {
  return (a, b) => (a.paramCount ?? Infinity) - (b.paramCount ?? Infinity) || refitEpochsOf(spec, a) - refitEpochsOf(spec, b);
}

export type RankingExperiment = Pick<Experiment, 'selectionDirection' | 'spec'>;

/**
 * Finished search runs (done, with a finite mean), best first by their mean in the experiment's
 * direction. Runs whose means are the same score (sameScore, taken from the first of each group)
 * are ordered by simplicity, then by their hyperparameters' canonical JSON, so that the order never
 * depends on rounding noise or on the order runs were created in.
 */
export function rankRuns(experiment: RankingExperiment, runs: readonly Run[]): Run[] {
  const direction = experiment.selectionDirection;
  const simpler = bySimplicity(experiment.spec);
  const tieBreak = (a: Run, b: Run) => simpler(a, b) || (a.paramsJson < b.paramsJson ? -1 : a.paramsJson > b.paramsJson ? 1 : 0);
  const byScore = runs
    .filter((run) => run.status === 'done' && run.scoreMean !== null && Number.isFinite(run.scoreMean))
    .sort((a, b) => betterBy(direction, b.scoreMean!, a.scoreMean!) || tieBreak(a, b));
  const ranked: Run[] = [];
  for (let start = 0; start < byScore.length; ) {
    const leader = byScore[start]!.scoreMean!;
    let end = start + 1;
    while (end < byScore.length && sameScore(leader, byScore[end]!.scoreMean!)) end++;
    ranked.push(...byScore.slice(start, end).sort(tieBreak));
    start = end;
  }
  return ranked;
}
