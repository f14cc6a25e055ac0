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
 * the mean ± std over the source run's folds at their best epochs.
 */
export function cvVersusTest(runs: RunStore, model: ModelRecord): MetricComparison[] {
  const folds = model.sourceRunId === null ? [] : runs.folds(model.sourceRunId).filter((fold) => fold.status === 'done');
  return Object.entries(model.testMetrics).map(([key, test]) => {
    const { name } = parseMetricKey(key);
    const { mean, std } =
      folds.length > 0 ? meanAndStd(folds.map((fold) => fold.bestMetrics?.[metricKey('val', name)] ?? null)) : { mean: null, std: null };
    return { name, cvMean: mean, cvStd: std, test };
  });
}
