/**
 * Which configuration an experiment hands the user, and which others are as good as far as the
 * folds can tell. One module, used by the refit (its default source), the leaderboard, the
 * compare page, `foldwise show` and its JSON, and the choice of model for `predict`/`export`.
 *
 * - The ranking is rankRuns (ties within floating-point noise go to the simpler model).
 * - `selection.rule: best` picks rank 1; `one-standard-error` picks the simplest configuration
 *   whose mean is within one standard error of the best's (Breiman et al. 1984; Hastie,
 *   Tibshirani & Friedman, ESL §7.10), falling back to best with a warning when that cannot be
 *   computed.
 * - Every other finished configuration is compared with rank 1 over their shared folds by the
 *   corrected resampled t-test, the p-values Holm-adjusted; those whose adjusted p exceeds
 *   `selection.alpha` are tied with the best. A holdout has one split: no test, and it says so.
 */
import { selectionRuleFor, type ExperimentSpec, type SelectionRule } from '../../worker/contract/spec.js';
import type { Run, RunStore } from '../storage/run-store.js';
import { correctedResampledTTest, holmAdjust, type PairedTest } from './paired-test.js';
import { bySimplicity, rankRuns, type RankingExperiment } from './ranking.js';

/** Fold scores of runs: run id → fold index → score (RunStore.foldScores). */
export type FoldScores = ReadonlyMap<number, ReadonlyMap<number, number | null>>;

/** One configuration against the best (rank 1). */
export type RunComparison = {
  readonly runId: number;
  /** Folds both finished with a score: the pairs the test used. */
  readonly sharedFolds: number;
  /** Mean over the shared folds of (this run − the best), in the metric's units. */
  readonly meanDifference: number | null;
  /** Two-sided p-value of the corrected resampled t-test; null where no test is possible. */
  readonly pValue: number | null;
  /** pValue after Holm's adjustment across every configuration compared with the best. */
  readonly adjustedP: number | null;
  /** Not significantly different from the best at alpha (the best itself: true); null where no test is possible. */
  readonly tied: boolean | null;
};

export type Selection = {
  /** The rule the spec asks for. */
  readonly rule: SelectionRule;
  /** The rule that chose `selected`: `best` when `one-standard-error` could not be applied (see `warning`). */
  readonly appliedRule: SelectionRule;
  readonly alpha: number;
  /** Finished runs, best first. */
  readonly ranked: readonly Run[];
  /** Rank 1: what plain `best` chooses. */
  readonly best: Run | null;
  /** The configuration the rule chose: what a refit of "the best" trains and `predict` uses. */
  readonly selected: Run | null;
  /** For one-standard-error: the standard error of the best's mean (sample std over folds / √folds). */
  readonly standardError: number | null;
  /** Why the rule fell back to best, or null. */
  readonly warning: string | null;
  /** Why no paired test is possible (a holdout has one split), or null. */
  readonly testNote: string | null;
  /** Each finished run (the best included) against the best. */
  readonly comparisons: ReadonlyMap<number, RunComparison>;
};

/**
 * n_test / n_train of one split, the correction's ratio: 1/(k−1) for k-fold, fraction/(1 − fraction) for a holdout.
 * Repeated k-fold keeps 1/(k−1): each split still trains on (k−1)/k of the rows; the test's n becomes k·repeats
 * (every fold of every repeat), which is the corrected repeated k-fold test of Bouckaert & Frank (2004).
 */
export function testTrainRatio(spec: ExperimentSpec): number {
  const v = spec.validation;
  return v.kind === 'kfold' ? 1 / (v.k - 1) : v.fraction / (1 - v.fraction);
}

/** One fold of a paired comparison: both scores and their difference (other − reference). */
export type FoldPair = { readonly foldIndex: number; readonly reference: number; readonly other: number; readonly difference: number };

/** Two runs over the folds both finished, with the corrected resampled t-test of their differences. */
export function pairedComparison(
  spec: ExperimentSpec,
  reference: ReadonlyMap<number, number | null> | undefined,
  other: ReadonlyMap<number, number | null> | undefined,
): { readonly folds: readonly FoldPair[]; readonly test: PairedTest | null } {
  const folds: FoldPair[] = [];
  for (const [foldIndex, a] of [...(reference ?? new Map<number, number | null>())].sort((x, y) => x[0] - y[0])) {
    const b = other?.get(foldIndex);
    if (a === null || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    folds.push({ foldIndex, reference: a, other: b, difference: b - a });
  }
  return {
    folds,
    test: correctedResampledTTest(
      folds.map((fold) => fold.difference),
      testTrainRatio(spec),
    ),
  };
}

/** Sample standard deviation over folds divided by √folds; null with fewer than two scores. */
function standardErrorOf(scores: ReadonlyMap<number, number | null> | undefined): number | null {
  const values = [...(scores?.values() ?? [])].filter((v): v is number => v !== null && Number.isFinite(v));
  if (values.length < 2) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1);
  return Math.sqrt(variance / values.length);
}

/** Applies the experiment's selection rule to its runs and marks the runs tied with the best. Pure: see selectionOf. */
export function selectConfiguration(experiment: RankingExperiment, runs: readonly Run[], foldScores: FoldScores): Selection {
  const { spec } = experiment;
  const { rule, alpha } = selectionRuleFor(spec);
  const ranked = rankRuns(experiment, runs);
  const best = ranked[0] ?? null;
  const holdout = spec.validation.kind === 'holdout';
  const testNote = holdout ? 'a holdout has one split: no paired test against the best is possible' : null;

  const tests = ranked.slice(1).map((run) => ({ run, ...pairedComparison(spec, foldScores.get(best!.runId), foldScores.get(run.runId)) }));
  const tested = tests.filter((entry) => entry.test !== null);
  const holm = holmAdjust(tested.map((entry) => entry.test!.pValue));
  const adjusted = new Map(tested.map((entry, i) => [entry.run.runId, holm[i]!]));
  const comparisons = new Map<number, RunComparison>();
  if (best) {
    const shared = pairedComparison(spec, foldScores.get(best.runId), foldScores.get(best.runId)).folds.length;
    // The best is in its own tied group, where there is a group at all.
    const tied = holdout ? null : true;
    comparisons.set(best.runId, { runId: best.runId, sharedFolds: shared, meanDifference: 0, pValue: null, adjustedP: null, tied });
  }
  for (const { run, folds, test } of tests) {
    const adjustedP = adjusted.get(run.runId) ?? null;
    comparisons.set(run.runId, {
      runId: run.runId,
      sharedFolds: folds.length,
      meanDifference: test?.meanDifference ?? null,
      pValue: test?.pValue ?? null,
      adjustedP,
      tied: adjustedP === null ? null : adjustedP > alpha,
    });
  }

  let selected = best;
  let appliedRule: SelectionRule = 'best';
  let standardError: number | null = null;
  let warning: string | null = null;
  if (rule === 'one-standard-error' && best) {
    standardError = holdout ? null : standardErrorOf(foldScores.get(best.runId));
    if (ranked.length < 2) {
      warning = `one-standard-error needs at least 2 finished configurations (${ranked.length} finished): chose the best`;
    } else if (standardError === null) {
      warning = holdout
        ? 'one-standard-error needs fold scores, and a holdout has one split: chose the best'
        : 'one-standard-error needs at least 2 fold scores of the best: chose the best';
    } else {
      const bound = standardError;
      const reach = (run: Run) =>
        experiment.selectionDirection === 'maximize'
          ? run.scoreMean! >= best.scoreMean! - bound
          : run.scoreMean! <= best.scoreMean! + bound;
      const simpler = bySimplicity(spec);
      // Stable over rank order: among equally simple candidates the better-ranked one.
      selected = ranked.filter(reach).sort(simpler)[0] ?? best;
      appliedRule = 'one-standard-error';
    }
  }
  return { rule, appliedRule, alpha, ranked, best, selected, standardError, warning, testNote, comparisons };
}

/** The selection of an experiment as stored now: its search runs and their fold scores, read together. */
export function selectionOf(
  experiment: RankingExperiment & { readonly experimentId: number },
  store: Pick<RunStore, 'searchRunsWithFoldScores'>,
): Selection {
  const { runs, foldScores } = store.searchRunsWithFoldScores(experiment.experimentId);
  return selectConfiguration(experiment, runs, foldScores);
}

/** The selection in a few plain fields: what the results JSON, `foldwise show` and the experiment page report. */
export type SelectionSummary = {
  readonly rule: SelectionRule;
  readonly appliedRule: SelectionRule;
  readonly alpha: number;
  /** The run the rule chose (null while no run has finished). */
  readonly selectedRunId: number | null;
  readonly selectedRunNumber: number | null;
  /** What plain `best` chooses: rank 1. */
  readonly bestRunId: number | null;
  readonly bestRunNumber: number | null;
  /** one-standard-error: the standard error of the best's mean, the margin a simpler configuration may fall short by. */
  readonly standardError: number | null;
  /** Finished runs tied with the best (the best included); null when no test is possible. */
  readonly tiedCount: number | null;
  readonly warning: string | null;
  readonly testNote: string | null;
};

export function selectionSummary(selection: Selection): SelectionSummary {
  return {
    rule: selection.rule,
    appliedRule: selection.appliedRule,
    alpha: selection.alpha,
    selectedRunId: selection.selected?.runId ?? null,
    selectedRunNumber: selection.selected?.number ?? null,
    bestRunId: selection.best?.runId ?? null,
    bestRunNumber: selection.best?.number ?? null,
    standardError: selection.standardError,
    tiedCount: selection.testNote === null ? [...selection.comparisons.values()].filter((c) => c.tied === true).length : null,
    warning: selection.warning,
    testNote: selection.testNote,
  };
}
