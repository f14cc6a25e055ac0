/**
 * The provisional ranking while a search runs. Folds train in waves (every run's first fold
 * first), so until the last wave no run has finished and rankRuns ranks nothing. A run still
 * training with some folds finished is ranked here by the mean over those folds — by rankRuns
 * itself, on its partial mean, so ties break as they do for finished runs — and shown apart from
 * the finished runs with "(2/5 folds)": a mean over two folds is not comparable with one over five.
 */
import { meanAndStd, type Run, type RunStatus } from '../storage/run-store.js';
import { rankRuns, type RankingExperiment } from './ranking.js';
import type { FoldScores } from './selection.js';

/** Runs that may still finish: a pruned or failed run's partial mean ranks nothing. */
const UNFINISHED: ReadonlySet<RunStatus> = new Set(['queued', 'running', 'interrupted']);

/** An unfinished run's place in the provisional ranking. */
export type ProvisionalRank = {
  readonly run: Run;
  /** 1 = leading among the unfinished runs (finished runs are ranked apart, by rankRuns). */
  readonly rank: number;
  /** Mean and std of the selection metric over the finished folds. */
  readonly scoreMean: number;
  readonly scoreStd: number | null;
  readonly foldsDone: number;
  readonly nFolds: number;
};

/**
 * Unfinished search runs with at least one scored fold, best first by the mean over their
 * finished folds. A run with a fold that finished without a finite score is left out, as
 * rankRuns leaves out a finished run whose mean is not finite.
 */
export function rankProvisional(experiment: RankingExperiment, runs: readonly Run[], foldScores: FoldScores): ProvisionalRank[] {
  const partial = new Map<number, { readonly run: Run; readonly std: number | null; readonly foldsDone: number }>();
  const standIns: Run[] = [];
  for (const run of runs) {
    if (run.kind !== 'search' || !UNFINISHED.has(run.status)) continue;
    const scores = [...(foldScores.get(run.runId)?.values() ?? [])];
    const { mean, std } = meanAndStd(scores);
    if (scores.length === 0 || mean === null) continue;
    partial.set(run.runId, { run, std, foldsDone: scores.length });
    standIns.push({ ...run, status: 'done', scoreMean: mean, scoreStd: std });
  }
  return rankRuns(experiment, standIns).map((standIn, index) => {
    const { run, std, foldsDone } = partial.get(standIn.runId)!;
    return { run, rank: index + 1, scoreMean: standIn.scoreMean!, scoreStd: std, foldsDone, nFolds: run.nFolds };
  });
}

/** A run as the progress line names it (by its number in the experiment): its score over `foldsDone` of `nFolds` folds. */
export type Standing = {
  readonly runId: number;
  readonly number: number;
  readonly score: number;
  readonly foldsDone: number;
  readonly nFolds: number;
};

function standingOf(run: Run, score: number, foldsDone: number): Standing {
  return { runId: run.runId, number: run.number, score, foldsDone, nFolds: run.nFolds };
}

/** The best finished run (rankRuns' first) and the leading unfinished one (rankProvisional's first), either possibly null. */
export function searchStandings(
  experiment: RankingExperiment,
  runs: readonly Run[],
  foldScores: FoldScores,
): { readonly best: Standing | null; readonly leading: Standing | null } {
  const best = rankRuns(experiment, runs)[0];
  const leading = rankProvisional(experiment, runs, foldScores)[0];
  return {
    best: best ? standingOf(best, best.scoreMean!, best.nFolds) : null,
    leading: leading ? standingOf(leading.run, leading.scoreMean, leading.foldsDone) : null,
  };
}
