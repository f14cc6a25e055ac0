/**
 * The vocabulary as the browser reads it: page modules get it in their page data (`vocabulary`)
 * instead of keeping their own labels, directions and metric-key spellings (web/static/js/lib.js
 * reads it). Computed once from the contract's vocabulary.
 */
import {
  METRIC_NAMES,
  METRIC_SCOPES,
  PARAM_LABELS,
  directionOf,
  metricKey,
  metricLabel,
  type Direction,
  type MetricScope,
  type ParamName,
} from '../../worker/contract/vocabulary.js';

/** One metric key a page may meet: its label, which way is better, and its parts. */
export type PageMetric = {
  readonly label: string;
  readonly direction: Direction;
  /** `val`, `test`, or null for a training-set metric. */
  readonly scope: MetricScope | null;
  /** The bare metric name (`auc` for `val_auc`). */
  readonly name: string;
};

export type PageVocabulary = {
  /** Every key any task records, in every scope: `loss`, `val_loss`, `test_loss`, `auc`, … */
  readonly metrics: Readonly<Record<string, PageMetric>>;
  readonly params: Readonly<Record<ParamName, string>>;
};

function pageMetrics(): Record<string, PageMetric> {
  const metrics: Record<string, PageMetric> = {};
  for (const name of METRIC_NAMES) {
    for (const scope of [null, ...METRIC_SCOPES]) {
      const key = scope === null ? name : metricKey(scope, name);
      metrics[key] = { label: metricLabel(key), direction: directionOf(key), scope, name };
    }
  }
  return metrics;
}

/** The same object for every page. */
export const PAGE_VOCABULARY: PageVocabulary = Object.freeze({ metrics: Object.freeze(pageMetrics()), params: PARAM_LABELS });
