import { metricKey, parseMetricKey } from '../../worker/contract/vocabulary.js';
import { meanAndStd, type RunStore } from '../storage/run-store.js';
import type { ModelRecord } from '../storage/model-store.js';

export type MetricComparison = {
  readonly name: string;
  readonly cvMean: number | null;
  readonly cvStd: number | null;
  readonly test: number | null;
};

/**
 * Each test metric of a refit model next to the cross-validation estimate of the same metric:
 * the mean ± std over the source run's folds at their best epochs. A binary model's metrics that
 * depend on the threshold (precision, recall, F1, …) are estimated at its frozen threshold, from
 * the folds' out-of-fold predictions (the model's decision), as the test split was scored.
 */
export function cvVersusTest(runs: RunStore, model: ModelRecord): MetricComparison[] {
  const folds = model.sourceRunId === null ? [] : runs.folds(model.sourceRunId).filter((fold) => fold.status === 'done');
  const atThreshold = model.decision?.folds ?? {};
  return Object.entries(model.testMetrics).map(([key, test]) => {
    const { name } = parseMetricKey(key);
    const decided = Object.hasOwn(atThreshold, name) && atThreshold[name]!.length > 0 ? atThreshold[name]! : null;
    const { mean, std } =
      decided !== null
        ? meanAndStd(decided)
        : folds.length > 0
          ? meanAndStd(folds.map((fold) => fold.bestMetrics?.[metricKey('val', name)] ?? null))
          : { mean: null, std: null };
    // One fold (a holdout) has no spread: its std is null, not 0.
    const count = decided !== null ? decided.length : folds.length;
    return { name, cvMean: mean, cvStd: count > 1 ? std : null, test };
  });
}
