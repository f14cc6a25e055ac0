/**
 * CONTRACT: foldwise's vocabulary, written once. Task kinds, the metrics each task records, how
 * a metric's key is spelled per scope (`val_auc`, `test_auc`), which way is better for each
 * metric. The spec, the worker, the server and (through the page data the server embeds) the
 * browser all read it from here; nothing else spells a metric key or a direction by hand.
 *
 * A leaf: it imports nothing, so every other contract file may import it.
 */

/** The learning task. Inferred from the target column when a spec omits it. */
export const TASKS = ['binary', 'multiclass', 'regression'] as const;
export type TaskKind = (typeof TASKS)[number];

/** Which way a metric is better: the one direction vocabulary (specs, ranking, early stopping, pages). */
export type Direction = 'maximize' | 'minimize';

/** Metrics recorded per epoch for each task, without a scope prefix. `loss` is always first. */
export const TASK_METRICS: Readonly<Record<TaskKind, readonly string[]>> = {
  binary: ['loss', 'accuracy', 'auc', 'pr_auc'],
  multiclass: ['loss', 'accuracy'],
  regression: ['loss', 'rmse', 'mae', 'r2'],
};

/** Metrics where a larger value is better; every other metric is better smaller. */
const MAXIMIZED_METRICS: ReadonlySet<string> = new Set(['accuracy', 'auc', 'pr_auc', 'r2']);

/**
 * Where a metric was measured: `val` on a fold's validation rows (search), `test` on the test
 * split (refit). Training-set metrics carry no prefix (`loss`, `accuracy`).
 */
export type MetricScope = 'val' | 'test';
const SCOPES: readonly MetricScope[] = ['val', 'test'];

/** The key a metric is recorded under: `metricKey('val', 'auc')` → `val_auc`. */
export function metricKey(scope: MetricScope, name: string): string {
  return `${scope}_${name}`;
}

/** `val_auc` → `{ scope: 'val', name: 'auc' }`; `loss` → `{ scope: null, name: 'loss' }`. */
export function parseMetricKey(key: string): { readonly scope: MetricScope | null; readonly name: string } {
  for (const scope of SCOPES) {
    if (key.startsWith(`${scope}_`)) return { scope, name: key.slice(scope.length + 1) };
  }
  return { scope: null, name: key };
}

/** The keys of `metrics` in `scope`; non-finite values become null (the protocol's non-finite). */
export function scopedMetrics(scope: MetricScope, metrics: Readonly<Record<string, number>>): Record<string, number | null> {
  return Object.fromEntries(
    Object.entries(metrics).map(([name, value]) => [metricKey(scope, name), Number.isFinite(value) ? value : null]),
  );
}

/** Which way a metric (a bare name or a scoped key) is better. */
export function directionOf(metric: string): Direction {
  return MAXIMIZED_METRICS.has(parseMetricKey(metric).name) ? 'maximize' : 'minimize';
}

/** Whether `a` is strictly better than `b` in `direction`. */
export function isBetter(direction: Direction, a: number, b: number): boolean {
  return direction === 'maximize' ? a > b : a < b;
}

/** Whether a task records the metric `name` (bare, e.g. `auc`) every epoch. */
export function isRecordedMetric(task: TaskKind, name: string): boolean {
  return TASK_METRICS[task].includes(name);
}

/** The metric that ranks runs when a spec does not name one. */
export function defaultSelectionMetric(task: TaskKind): string {
  return task === 'binary' ? 'auc' : task === 'multiclass' ? 'accuracy' : 'rmse';
}
