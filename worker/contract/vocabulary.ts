/**
 * CONTRACT: foldwise's vocabulary, written once. Task kinds, model families and the
 * hyperparameters each family reads, the metrics each task records, how a metric's key is spelled
 * per scope (`val_auc`, `test_auc`), which way is better for each metric, and the labels people
 * read. The spec, the worker, the server and (through the page data the server embeds, see
 * server/http/page-vocabulary.ts) the browser all read it from here; nothing else spells a metric
 * key, a direction or a label by hand.
 *
 * A leaf: it imports nothing, so every other contract file may import it (spec.ts types its
 * schema fields against `ParamName` here, rather than this file importing the schema).
 */

/** The learning task. Inferred from the target column when a spec omits it. */
export const TASKS = ['binary', 'multiclass', 'regression'] as const;
export type TaskKind = (typeof TASKS)[number];

/** The directions a metric can be better in (the spec's `selection.direction` values). */
export const DIRECTIONS = ['maximize', 'minimize'] as const;
/** Which way a metric is better: the one direction vocabulary (specs, ranking, early stopping, pages). */
export type Direction = (typeof DIRECTIONS)[number];

/** Metrics recorded per epoch for each task, without a scope prefix. `loss` is always first. */
export const TASK_METRICS: Readonly<Record<TaskKind, readonly string[]>> = {
  binary: ['loss', 'accuracy', 'auc', 'pr_auc'],
  multiclass: ['loss', 'accuracy'],
  regression: ['loss', 'rmse', 'mae', 'r2'],
};

/**
 * Validation metrics recorded for ratings datasets besides the regression ones (`val_…` during
 * the search, `test_…` for a refit), each constant over epochs: `baseline_rmse`, the RMSE of
 * predicting the training part's mean rating; `cold_rows`, the held-out rows whose user or item
 * has no rating in the training part (they are predicted from biases — 0 — and features);
 * `cold_rmse`, the RMSE on those rows (null when there are none).
 */
export const RATINGS_EXTRA_METRICS = ['baseline_rmse', 'cold_rows', 'cold_rmse'] as const;

/**
 * Binary tasks: metrics of each fold's out-of-fold predictions at its chosen epoch (`val_…` in
 * the fold's best metrics, not per epoch), and of the refit on the test split (`test_…`). The
 * threshold-dependent ones (DECISION_METRICS, with `accuracy`) are taken at the operating
 * threshold: 0.5 during the search, the frozen threshold for a refit (see worker/training/decision.ts).
 */
export const BINARY_FOLD_METRICS = ['precision', 'recall', 'f1', 'balanced_accuracy', 'mcc', 'brier', 'log_loss'] as const;

/** Metrics of a binary classifier that depend on its threshold: what a confusion matrix gives. */
export const DECISION_METRICS = ['accuracy', 'precision', 'recall', 'f1', 'balanced_accuracy', 'mcc'] as const;
export type DecisionMetric = (typeof DECISION_METRICS)[number];

/**
 * What `selection.threshold.objective` may ask the binary operating threshold to optimise, on the
 * pooled out-of-fold predictions: `f1`, `balanced_accuracy`, `mcc`, `youden` (TPR + TNR − 1);
 * `recall_at_precision` (the highest recall with precision ≥ value), `precision_at_recall` (the
 * highest precision with recall ≥ value); `cost` (the least falsePositive·FP + falseNegative·FN,
 * reported per row).
 */
export const THRESHOLD_OBJECTIVES = [
  'f1',
  'balanced_accuracy',
  'mcc',
  'youden',
  'recall_at_precision',
  'precision_at_recall',
  'cost',
] as const;
export type ThresholdObjective = (typeof THRESHOLD_OBJECTIVES)[number];

/** The metric whose value a threshold objective optimises: itself, or the recall/precision the constrained ones maximise. */
export function objectiveMetricName(objective: ThresholdObjective): string {
  return objective === 'recall_at_precision' ? 'recall' : objective === 'precision_at_recall' ? 'precision' : objective;
}

/** The operating threshold of a binary model without `selection.threshold`: positive when p(positive) > 0.5. */
export const DEFAULT_THRESHOLD = 0.5;

/** Metrics where a larger value is better; every other metric is better smaller. */
const MAXIMIZED_METRICS: ReadonlySet<string> = new Set([
  'accuracy',
  'auc',
  'pr_auc',
  'r2',
  'precision',
  'recall',
  'f1',
  'balanced_accuracy',
  'mcc',
  'youden',
  'recall_at_precision',
  'precision_at_recall',
]);

/**
 * Where a metric was measured: `val` on a fold's validation rows (search), `test` on the test
 * split (refit). Training-set metrics carry no prefix (`loss`, `accuracy`).
 */
export const METRIC_SCOPES = ['val', 'test'] as const;
export type MetricScope = (typeof METRIC_SCOPES)[number];

/** The key a metric is recorded under: `metricKey('val', 'auc')` → `val_auc`. */
export function metricKey(scope: MetricScope, name: string): string {
  return `${scope}_${name}`;
}

/** `val_auc` → `{ scope: 'val', name: 'auc' }`; `loss` → `{ scope: null, name: 'loss' }`. */
export function parseMetricKey(key: string): { readonly scope: MetricScope | null; readonly name: string } {
  for (const scope of METRIC_SCOPES) {
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

/**
 * How much better `a` is than `b` in `direction` (negative when worse): `a - b` when maximizing,
 * `b - a` when minimizing. For margins (`betterBy(d, a, b) > margin`) and for sorting best first
 * (`scores.sort((a, b) => betterBy(d, b, a))`).
 */
export function betterBy(direction: Direction, a: number, b: number): number {
  return direction === 'maximize' ? a - b : b - a;
}

/** Whether a task records the metric `name` (bare, e.g. `auc`) every epoch. */
export function isRecordedMetric(task: TaskKind, name: string): boolean {
  return TASK_METRICS[task].includes(name);
}

/** The metric that ranks runs when a spec does not name one. */
export function defaultSelectionMetric(task: TaskKind): string {
  return task === 'binary' ? 'auc' : task === 'multiclass' ? 'accuracy' : 'rmse';
}

/** Labels of bare metric names; a name without one reads as itself with spaces (`cold_rmse` → `cold rmse`). */
const METRIC_LABELS: Readonly<Record<string, string>> = {
  auc: 'AUC',
  pr_auc: 'PR AUC',
  rmse: 'RMSE',
  mae: 'MAE',
  r2: 'R²',
  accuracy: 'accuracy',
  loss: 'loss',
  f1: 'F1',
  balanced_accuracy: 'balanced accuracy',
  mcc: 'MCC',
  brier: 'Brier score',
  log_loss: 'log loss',
  youden: "Youden's J",
  recall_at_precision: 'recall at precision',
  precision_at_recall: 'precision at recall',
  cost: 'cost per row',
};
const SCOPE_LABELS: Readonly<Record<MetricScope, string>> = { val: 'validation', test: 'test' };

/** A metric key as people read it: `val_auc` → `validation AUC`, `test_pr_auc` → `test PR AUC`, `loss` → `loss`. */
export function metricLabel(key: string): string {
  const { scope, name } = parseMetricKey(key);
  const base = METRIC_LABELS[name] ?? name.replace(/_/g, ' ');
  return scope === null ? base : `${SCOPE_LABELS[scope]} ${base}`;
}

/** Every metric name any task records (bare), in task order: the keys pages may have to label. */
export const METRIC_NAMES: readonly string[] = [
  ...new Set([...Object.values(TASK_METRICS).flat(), ...BINARY_FOLD_METRICS, ...RATINGS_EXTRA_METRICS, ...THRESHOLD_OBJECTIVES]),
];

/** Model families: `mlp` on any dataset; `mf` and `ncf` on ratings datasets. */
export const FAMILIES = ['mlp', 'mf', 'ncf'] as const;
export type Family = (typeof FAMILIES)[number];

/**
 * The hyperparameters of a run, in the order specs, pages and tables list them. spec.ts gives
 * each its schema (`paramFields`, checked against this list) and its default.
 */
export const PARAM_NAMES = [
  'family',
  'depth',
  'width',
  'widthSchedule',
  'activation',
  'dropout',
  'optimizer',
  'learningRate',
  'l2',
  'epochs',
  'batchSize',
  'classWeight',
  'factors',
  'useDotTerm',
] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/** Hyperparameter labels on pages and in charts. */
export const PARAM_LABELS: Readonly<Record<ParamName, string>> = {
  family: 'family',
  depth: 'depth',
  width: 'width',
  widthSchedule: 'width schedule',
  activation: 'activation',
  dropout: 'dropout',
  optimizer: 'optimizer',
  learningRate: 'learning rate',
  l2: 'L2',
  epochs: 'max epochs',
  batchSize: 'batch size',
  factors: 'factors',
  useDotTerm: 'useDotTerm',
  classWeight: 'class weight',
};

/** A hyperparameter's value as people read it: text as it is, anything else (numbers, a class-weight map) as JSON. */
export function paramValueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A hyperparameter as people read it; an unknown name reads as itself. */
export function paramLabel(name: string): string {
  return (PARAM_LABELS as Readonly<Record<string, string>>)[name] ?? name;
}

/**
 * The hyperparameters each family reads; the others do not change its model. A grid that
 * crosses `family` with, say, `depth` would otherwise train the same `mf` model once per depth:
 * the grid expansion records an ignored hyperparameter at its fixed (or default) value and
 * drops the settings that become equal. Pages list only these (an experiment over several
 * families: their union).
 */
export const PARAMS_OF_FAMILY: Readonly<Record<Family, readonly ParamName[]>> = {
  mlp: [
    'family',
    'depth',
    'width',
    'widthSchedule',
    'activation',
    'dropout',
    'optimizer',
    'learningRate',
    'l2',
    'epochs',
    'batchSize',
    'classWeight',
  ],
  mf: ['family', 'factors', 'optimizer', 'learningRate', 'l2', 'epochs', 'batchSize'],
  // NCF combines an MLP tower with factor embeddings (and the optional dot term): it reads every
  // hyperparameter but the class weights (ratings are a regression task).
  ncf: PARAM_NAMES.filter((name) => name !== 'classWeight'),
};

/** The hyperparameters any of `families` reads, in PARAM_NAMES order. */
export function paramsReadBy(families: Iterable<Family>): ParamName[] {
  const read = new Set<ParamName>([...families].flatMap((family) => PARAMS_OF_FAMILY[family]));
  return PARAM_NAMES.filter((name) => read.has(name));
}

/** The leaderboard's columns when the grid searches nothing (every run has the same settings). */
export const DEFAULT_LEADERBOARD_COLUMNS: readonly ParamName[] = ['depth', 'width', 'epochs', 'batchSize'];
