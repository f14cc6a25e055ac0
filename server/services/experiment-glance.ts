/**
 * What the experiment page's best card says at a glance about how far to trust the result
 * (web/views/partials/estimate-glance.hbs): which configurations are tied with the best, the
 * selected configuration's cross-validation estimate beside its refit's one test score (the
 * optimism of "the best of N" made visible), and for nested CV the outer estimate of the whole
 * procedure beside the inner score of what it chose (selection/nested-estimate.ts, as `show` prints it).
 */
import { metricKey, type Direction } from '../../worker/contract/vocabulary.js';
import type { NestedEstimate } from '../selection/nested-estimate.js';
import type { Selection } from '../selection/selection.js';
import type { ModelRecord } from '../storage/model-store.js';

/** Tied runs listed by number on the card; the rest are counted. */
const TIED_LISTED = 12;

export type ExperimentGlance = {
  /** The tied-with-best group, best first; null where no paired test is possible (a holdout) or nothing has finished. */
  readonly tied: {
    readonly count: number;
    readonly finished: number;
    readonly runs: readonly { readonly runId: number; readonly number: number }[];
    /** Tied runs beyond the ones listed. */
    readonly more: number;
    /** The listed runs' ids, for the compare page, when there are two or more. */
    readonly compareRunIds: readonly number[] | null;
  } | null;
  /** The selected configuration's CV estimate against its refit's test score; null until it is refitted. */
  readonly optimism: {
    readonly metric: string;
    readonly runNumber: number;
    readonly cvMean: number;
    readonly cvStd: number | null;
    readonly test: number;
    /** cvMean − test, signed so that positive means the cross-validation estimate looked better than the test split. */
    readonly gap: number;
    readonly gapSize: number;
    readonly cvLookedBetter: boolean;
  } | null;
  /** Nested CV (validation.outer): the outer estimate of the procedure (`scored` 0 until an outer fold is refitted); null otherwise. */
  readonly nested: NestedEstimate | null;
};

/** Signed so that positive means `claimed` looked better than `found` in `direction`. */
function optimismOf(direction: Direction, claimed: number, found: number): number {
  return direction === 'maximize' ? claimed - found : found - claimed;
}

/**
 * The glance of an experiment from its selection, its models (newest first) and its nested estimate.
 * The selected configuration's newest refit is the one its test score comes from.
 */
export function experimentGlance(
  metric: string,
  direction: Direction,
  selection: Selection,
  models: readonly ModelRecord[],
  nested: NestedEstimate | null,
): ExperimentGlance {
  const tiedRuns = selection.ranked.filter((run) => selection.comparisons.get(run.runId)?.tied === true);
  const listed = tiedRuns.slice(0, TIED_LISTED).map((run) => ({ runId: run.runId, number: run.number }));
  const tied =
    selection.testNote !== null || selection.ranked.length === 0
      ? null
      : {
          count: tiedRuns.length,
          finished: selection.ranked.length,
          runs: listed,
          more: tiedRuns.length - listed.length,
          compareRunIds: listed.length >= 2 ? listed.map((run) => run.runId) : null,
        };
  const selected = selection.selected;
  const model = selected ? models.find((m) => m.sourceRunId === selected.runId) : undefined;
  const test = model?.testMetrics[metricKey('test', metric)] ?? null;
  const gap = selected && selected.scoreMean !== null && test !== null ? optimismOf(direction, selected.scoreMean, test) : null;
  const optimism =
    selected && selected.scoreMean !== null && test !== null && gap !== null
      ? {
          metric,
          runNumber: selected.number,
          cvMean: selected.scoreMean,
          cvStd: selected.nFolds > 1 ? selected.scoreStd : null,
          test,
          gap,
          gapSize: Math.abs(gap),
          cvLookedBetter: gap > 0,
        }
      : null;
  return { tied, optimism, nested };
}
