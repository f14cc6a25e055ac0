/**
 * The outer estimate of nested cross-validation (spec `validation.outer`): how well the whole
 * procedure — search, selection rule, refit — does on rows it never saw, next to what its inner
 * cross-validation claimed for the configuration it chose. The inner score of "the best of N" is
 * optimistic (the best of many noisy estimates is biased upwards); the gap between the two is that
 * optimism, measured. Read from the outer folds' experiments (coordinator/outer-folds.ts): each one's
 * selection, and its refit's score on the outer fold (recorded as that refit's test metrics).
 */
import { metricKey, type Direction } from '../../worker/contract/vocabulary.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { Storage } from '../storage/storage.js';
import { selectionOf } from './selection.js';

/** Where an outer fold stands: scored, or why it has no outer score (yet). */
export type OuterFoldState = 'scored' | 'pending' | 'no-finished-run' | 'refit-failed';

export type OuterFoldEstimate = {
  /** 1-based, as people count folds. */
  readonly outerFold: number;
  readonly experimentId: number;
  readonly name: string;
  readonly state: OuterFoldState;
  /** The run its selection rule chose, by its number in the outer fold's experiment, with its hyperparameters. */
  readonly selectedRunNumber: number | null;
  readonly selectedParams: Readonly<Record<string, unknown>> | null;
  /** The chosen configuration's mean over the inner folds: what the search on this training part believed. */
  readonly innerScore: number | null;
  /** The refit of that configuration on the whole training part, scored on the outer fold. */
  readonly outerScore: number | null;
  /** Why the refit failed (state refit-failed). */
  readonly error: string | null;
};

export type NestedEstimate = {
  /** Outer folds asked for (`validation.outer.k`). */
  readonly k: number;
  readonly metric: string;
  readonly direction: Direction;
  readonly folds: readonly OuterFoldEstimate[];
  /** Outer folds with both scores: the ones the figures below average. */
  readonly scored: number;
  /** The outer estimate of the procedure: mean and (population) std of the outer scores. */
  readonly outerMean: number | null;
  readonly outerStd: number | null;
  /** Mean and std of the inner scores of the same outer folds' selections. */
  readonly innerMean: number | null;
  readonly innerStd: number | null;
  /** innerMean − outerMean, signed so that positive means the inner score looked better than the procedure did. */
  readonly optimism: number | null;
};

function meanStd(values: readonly number[]): { mean: number | null; std: number | null } {
  if (values.length === 0) return { mean: null, std: null };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / values.length) };
}

/** The nested-CV estimate of an experiment with `validation.outer`; null for any other experiment. */
export function nestedEstimate(storage: Pick<Storage, 'experiments' | 'runs' | 'models'>, experiment: Experiment): NestedEstimate | null {
  const outer = experiment.spec.validation.outer;
  if (outer === undefined || experiment.outerOf !== null) return null;
  const testKey = metricKey('test', experiment.selectionMetric);
  const folds = storage.experiments.outerFoldsOf(experiment.experimentId).map((child): OuterFoldEstimate => {
    const { selected } = selectionOf(child, storage.runs);
    const model = selected && storage.models.ofExperiment(child.experimentId).find((m) => m.sourceRunId === selected.runId);
    const outerScore = model?.testMetrics[testKey] ?? null;
    const failedRefit = selected
      ? storage.runs
          .list(child.experimentId)
          .find((run) => run.kind === 'refit' && run.sourceRunId === selected.runId && run.status === 'failed')
      : undefined;
    const state: OuterFoldState =
      outerScore !== null
        ? 'scored'
        : !model && failedRefit
          ? 'refit-failed'
          : !selected && child.status === 'done'
            ? 'no-finished-run'
            : 'pending';
    return {
      outerFold: child.outerOf!.outerFold + 1,
      experimentId: child.experimentId,
      name: child.name,
      state,
      selectedRunNumber: selected?.number ?? null,
      selectedParams: selected?.params ?? null,
      innerScore: selected?.scoreMean ?? null,
      outerScore,
      error: state === 'refit-failed' ? (failedRefit?.error ?? null) : null,
    };
  });
  const both = folds.filter((fold) => fold.innerScore !== null && fold.outerScore !== null);
  const outerStats = meanStd(both.map((fold) => fold.outerScore!));
  const innerStats = meanStd(both.map((fold) => fold.innerScore!));
  const sign = experiment.selectionDirection === 'maximize' ? 1 : -1;
  return {
    k: outer.k,
    metric: experiment.selectionMetric,
    direction: experiment.selectionDirection,
    folds,
    scored: both.length,
    outerMean: outerStats.mean,
    outerStd: outerStats.std,
    innerMean: innerStats.mean,
    innerStd: innerStats.std,
    optimism: outerStats.mean === null || innerStats.mean === null ? null : sign * (innerStats.mean - outerStats.mean),
  };
}
