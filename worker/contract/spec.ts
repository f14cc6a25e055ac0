/**
 * CONTRACT: the experiment spec — what a person writes in `experiments/*.yaml`.
 *
 * This file is one of the contract files the server may import. It imports nothing from the
 * repo but the vocabulary (task kinds, families, hyperparameter and metric names), the schema
 * library and YAML parser. Every field is documented here; this is the user-facing reference the
 * README points to.
 */
import { z } from 'zod';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import {
  DIRECTIONS,
  FAMILIES,
  THRESHOLD_OBJECTIVES,
  TASK_METRICS,
  TASKS,
  defaultSelectionMetric,
  directionOf,
  isRecordedMetric,
  metricKey,
  parseMetricKey,
  type Direction,
  type Family,
  type ParamName,
  type TaskKind,
} from './vocabulary.js';
import { searchIssues, searchSchema, spaceChoiceValues, spaceSchema, type FieldCheck } from './search-spec.js';
import { expectedMessage } from './expected-values.js';

const positiveInt = z.number().int().positive();
const fraction = z.number().gt(0).lt(1);

/** Ways to fill a numeric column's missing cells: its training part's median or mean, or `impute.fill.numeric`. */
export const NUMERIC_IMPUTE = ['median', 'mean', 'constant'] as const;
/** Ways to fill a categorical column's missing cells: its training part's most frequent category, or `impute.fill.categorical`. */
export const CATEGORICAL_IMPUTE = ['most_frequent', 'constant'] as const;
export type NumericImpute = (typeof NUMERIC_IMPUTE)[number];
export type CategoricalImpute = (typeof CATEGORICAL_IMPUTE)[number];
/** Levels a categorical column may have before the rest is grouped as "other" (`maxCategories`). */
export const DEFAULT_MAX_CATEGORIES = 200;

const columnName = z.string().min(1);

/** Column roles of a `csv` dataset; each overrides what the cells would suggest. */
const csvColumnsSchema = z.strictObject({
  /** Columns ignored altogether (free text, leaks of the target, …). */
  drop: z.array(columnName).optional(),
  /**
   * A row identifier: never trained on, and written as the first column of `foldwise predict`'s
   * output when the input has it.
   */
  id: columnName.optional(),
  /** Columns one-hot encoded even when their cells are numbers (codes such as a zip or a class number). */
  categorical: z.array(columnName).optional(),
  /** Columns that must be numeric: a cell that is not a number is an error rather than making the column categorical. */
  numeric: z.array(columnName).optional(),
});

/** Missing-value imputation of a `csv` dataset. */
const csvImputeSchema = z.strictObject({
  /** Strategy for every numeric feature column (`columns` overrides it per column). Unset: a missing number is an error. */
  numeric: z.enum(NUMERIC_IMPUTE).optional(),
  /** Strategy for every categorical feature column (`columns` overrides it). Unset: a missing category is an error. */
  categorical: z.enum(CATEGORICAL_IMPUTE).optional(),
  /** The values of the `constant` strategy. */
  fill: z
    .strictObject({
      /** @default 0 */
      numeric: z.number().optional(),
      /** A category of its own. @default 'missing' */
      categorical: z.string().min(1).optional(),
    })
    .optional(),
  /** Per-column strategies, e.g. `{ age: mean, zip: most_frequent }`; each must fit its column's kind. */
  columns: z.record(columnName, z.enum([...NUMERIC_IMPUTE, ...CATEGORICAL_IMPUTE])).optional(),
  /**
   * Add a 0/1 "was missing" feature after each imputed column that has a missing cell in the
   * training part (named `column=(missing)`). @default false
   */
  indicator: z.boolean().optional(),
});

/** A dataset reference. Workers load the data themselves from it; only this crosses processes. */
export const datasetSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('fraud'),
    /** Rows generated. @default 20000 */
    rows: positiveInt.min(50).default(20_000),
    /** Numeric feature columns. @default 30 */
    features: positiveInt.min(2).max(500).default(30),
    /** Share of positive labels. @default 0.03 */
    positiveRate: fraction.default(0.03),
  }),
  z.strictObject({
    kind: z.literal('sine'),
    /** Rows generated, x uniform in [-3, 3], y = sin(x) + noise. @default 2000 */
    rows: positiveInt.min(20).default(2_000),
    /** Standard deviation of the Gaussian noise on y. @default 0.1 */
    noise: z.number().min(0).default(0.1),
  }),
  z.strictObject({ kind: z.literal('iris') }),
  z.strictObject({
    kind: z.literal('csv'),
    /** Path of the CSV file, relative to the spec file's folder (or absolute). Header row required. */
    path: z.string().min(1),
    /** Name of the target column. */
    target: z.string().min(1),
    /**
     * What the columns are. Without it every column but the target is a feature, numeric when most
     * of its filled cells are numbers, else categorical (one-hot). Names must be columns of the
     * file; a column may have one role only, and the target none.
     */
    columns: csvColumnsSchema.optional(),
    /**
     * How missing cells (empty, or in a numeric column `NA`, `?`, `null`, …) are filled. Without it a
     * missing cell in a feature column is an error. The statistics are fitted on the training part
     * of each split only, like the standardiser, and saved with a refit model for `predict`.
     */
    impute: csvImputeSchema.optional(),
    /**
     * Most levels a categorical column's one-hot block may have. A column whose training part has
     * more categories keeps its `maxCategories − 1` most frequent ones (ties in text order) and
     * groups the rest into one "other" level (the sklearn convention: the limit counts "other").
     * At `predict`, a category the training part never saw goes to "other" when the column has it.
     * Integer >= 2. @default 200
     */
    maxCategories: z.number().int().min(2).max(100_000).optional(),
  }),
  /**
   * Synthetic ratings with a known ground truth (worker/recsys/synthetic.ts): users with
   * features (age, gender, occupation), items with features (genres, year), and a rating that
   * depends on the features, on per-user and per-item effects and on a latent interaction.
   * A regression task over (user, item) rows.
   */
  z.strictObject({
    kind: z.literal('ratings'),
    /** Users generated. @default 1000 */
    users: positiveInt.min(10).max(200_000).default(1_000),
    /** Items generated. @default 500 */
    items: positiveInt.min(10).max(200_000).default(500),
    /** Mean ratings per user; the counts are skewed (some users rate a single item). @default 25 */
    ratingsPerUser: z.number().min(1).max(10_000).default(25),
    /** Standard deviation of the rating noise (the best attainable RMSE, before rounding to half stars). @default 0.5 */
    noise: z.number().min(0).max(5).default(0.5),
  }),
  /**
   * MovieLens ratings from a folder the user downloaded (foldwise ships none: MovieLens data may
   * not be redistributed). A regression task over (user, item) rows, with side features.
   */
  z.strictObject({
    kind: z.literal('movielens'),
    /** The unpacked folder, relative to the spec file's folder (or absolute). */
    path: z.string().min(1),
    /**
     * `ml-100k`: u.data, u.user, u.item; `ml-1m`: ratings.dat, users.dat, movies.dat (`::`-separated);
     * `ml-latest-small`: ratings.csv, movies.csv; `auto`: whichever of u.data / ratings.dat / ratings.csv
     * the folder holds. @default 'auto'
     */
    layout: z.enum(['auto', 'ml-100k', 'ml-1m', 'ml-latest-small']).default('auto'),
  }),
]);
export type DatasetSpec = z.infer<typeof datasetSchema>;

/** Hyperparameters of one run. Each may be fixed in `model` or searched in `grid`. */
export const paramFields = {
  /**
   * Model family. `mlp`: a multilayer perceptron on the features (on a ratings dataset: the
   * user's and the item's side features, concatenated). `mf` and `ncf` need a ratings dataset:
   * `mf` is the latent factor model r̂ = μ + b_u + b_i + p_uᵀq_i; `ncf` feeds [p_u, q_i, x_u, x_i]
   * through an MLP (depth, width, …), plus p_uᵀq_i when `useDotTerm` (NeuMF).
   * Usable as a grid axis to compare families in one experiment. @default 'mlp'
   */
  family: z.enum(FAMILIES),
  /** Hidden layers (0 = a linear model). @default 2 */
  depth: z.number().int().min(0).max(16),
  /** Units of the first hidden layer. @default 64 */
  width: positiveInt.max(4096),
  /** `constant`: every hidden layer has `width` units; `halve`: 128-64-32. @default 'constant' */
  widthSchedule: z.enum(['constant', 'halve']),
  /** Hidden-layer activation. @default 'relu' */
  activation: z.enum(['relu', 'tanh', 'elu', 'selu', 'sigmoid', 'linear']),
  /** Dropout rate after each hidden layer. @default 0 */
  dropout: z.number().min(0).lt(1),
  /** Optimizer. @default 'adam' */
  optimizer: z.enum(['adam', 'sgd', 'rmsprop', 'adagrad']),
  /** Learning rate. @default 0.001 */
  learningRate: z.number().gt(0).max(10),
  /**
   * L2 penalty. `mlp`: λ‖W‖² on the dense kernels. `mf`, `ncf`: λ(‖p_u‖² + ‖q_i‖², and the
   * biases for mf) per rating, on the embeddings only (see worker/recsys/models.ts). @default 0
   */
  l2: z.number().min(0),
  /** Maximum epochs (early stopping may end sooner). @default 20 */
  epochs: positiveInt.max(10_000),
  /** Mini-batch size. @default 128 */
  batchSize: positiveInt.max(1_000_000),
  /**
   * Classification only: how much each class's rows weigh in the training loss (the validation and
   * test metrics are never weighted). `none`: all 1; `balanced`: n / (classes · n_class) on the
   * fold's training rows, as scikit-learn's class_weight='balanced'; or a map label → weight, e.g.
   * `{ fraud: 20 }` (labels as written in the data; unlisted classes weigh 1). Searchable like any
   * hyperparameter (`grid: { classWeight: [none, balanced] }`). @default 'none'
   */
  classWeight: z.union([z.enum(['none', 'balanced']), z.record(z.string().min(1), z.number().gt(0).max(1e6))]),
  /** `mf`, `ncf`: dimension of the user and item embeddings p_u, q_i. Ignored by `mlp`. @default 16 */
  factors: positiveInt.max(1024),
  /**
   * `ncf` only: add the latent factor term p_uᵀq_i (own embeddings) to the MLP's output, the
   * NeuMF form f(p_u, x_u, q_i, x_i) + p_uᵀq_i. @default false
   */
  useDotTerm: z.boolean(),
} as const satisfies Record<ParamName, z.ZodType>;

export type Params = { [K in ParamName]: z.infer<(typeof paramFields)[K]> };
export type ParamValue = Params[ParamName];

export const DEFAULT_PARAMS: Params = {
  family: 'mlp',
  depth: 2,
  width: 64,
  widthSchedule: 'constant',
  activation: 'relu',
  dropout: 0,
  optimizer: 'adam',
  learningRate: 0.001,
  l2: 0,
  epochs: 20,
  batchSize: 128,
  classWeight: 'none',
  factors: 16,
  useDotTerm: false,
};

/**
 * Every hyperparameter, as stored in runs, tasks and model files. Keys added after runs and model
 * files were first written (`factors`, `useDotTerm`, `classWeight`) take their defaults when
 * missing, so older experiments and model folders stay readable.
 */
export const storedParamsSchema = z.strictObject({
  ...paramFields,
  factors: paramFields.factors.default(DEFAULT_PARAMS.factors),
  useDotTerm: paramFields.useDotTerm.default(DEFAULT_PARAMS.useDotTerm),
  classWeight: paramFields.classWeight.default(DEFAULT_PARAMS.classWeight),
});

/**
 * Hyperparameters left out of a run's identity (its canonical JSON, its seeds) while at their
 * default: they were added after runs were first recorded, and a run recorded before must keep
 * its identity (resuming it must find it, and retrain its folds on the same seeds).
 */
const OMITTED_AT_DEFAULT: readonly ParamName[] = ['classWeight'];

/** Whether `name` at `value` is left out of a run's identity (see OMITTED_AT_DEFAULT). */
export function omittedFromIdentity(name: ParamName, value: unknown): boolean {
  return OMITTED_AT_DEFAULT.includes(name) && value === DEFAULT_PARAMS[name];
}

/** Dataset kinds whose rows are (user, item, rating): the ones `mf` and `ncf` can train on. */
export const RATINGS_DATASETS = ['ratings', 'movielens'] as const;

const fixedParamsSchema = z.strictObject(paramFields).partial();

/** Each hyperparameter's kind (which space entries fit it) and a check of one value, for `space` (search-spec.ts). */
export const PARAM_CHECKS = Object.fromEntries(
  Object.entries(paramFields).map(([name, field]: [string, z.ZodType]) => [
    name,
    {
      kind: field instanceof z.ZodNumber ? (field.isInt ? 'int' : 'float') : 'categorical',
      check: (value: unknown) => (field.safeParse(value).success ? null : expectedMessage(field, value)),
    },
  ]),
) as Record<ParamName, FieldCheck>;

const gridShape = Object.fromEntries(
  Object.entries(paramFields).map(([name, field]) => [
    name,
    z.union([field, z.array(field).min(1, 'a grid list needs at least one value')]),
  ]),
) as { [K in ParamName]: z.ZodUnion<[(typeof paramFields)[K], z.ZodArray<(typeof paramFields)[K]>]> };
const gridSchema = z.strictObject(gridShape).partial();

const METRIC_NAME = /^[a-z_0-9]+$/;

/** `val_loss`, `val_auc`: a metric name in the validation scope. */
function isValidationKey(key: string): boolean {
  const { scope, name } = parseMetricKey(key);
  return scope === 'val' && METRIC_NAME.test(name);
}

/** Early stopping on a validation metric, restoring the best epoch's weights. */
export const earlyStoppingSchema = z.strictObject({
  /** Validation metric watched, e.g. `val_loss` or `val_auc`. @default 'val_loss' */
  monitor: z.string().refine(isValidationKey, 'a validation metric name such as val_loss or val_auc').default(metricKey('val', 'loss')),
  /** Epochs without improvement before stopping. @default 5 */
  patience: z.number().int().min(0).default(5),
  /** Smallest change that counts as improvement. @default 0 */
  minDelta: z.number().min(0).default(0),
  /** Restore the weights of the best epoch when training ends. @default true */
  restoreBestWeights: z.boolean().default(true),
});
export type EarlyStoppingSpec = z.infer<typeof earlyStoppingSchema>;

/**
 * Nested cross-validation (`validation.outer`): the non-test rows are cut into `k` outer folds
 * (stratified when classifying), and the whole procedure — the search with this validation, the
 * selection rule, the refit — is repeated on each outer fold's training part and scored on the outer
 * fold: the outer estimate of the procedure, next to the inner best score. The test split is never
 * touched. It costs k times the search again. @default none
 */
export const outerSchema = z.strictObject({
  /** Outer folds. */
  k: z.number().int().min(2, 'expected an integer of at least 2').max(20),
});
export type OuterSpec = z.infer<typeof outerSchema>;

export const validationSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('holdout'),
    /** Share of the non-test rows held out for validation. @default 0.2 */
    fraction: fraction.default(0.2),
    earlyStopping: earlyStoppingSchema.optional(),
    outer: outerSchema.optional(),
  }),
  z.strictObject({
    kind: z.literal('kfold'),
    /** Number of folds. @default 5 */
    k: z.number().int().min(2).max(20).default(5),
    /** Keep class proportions in each fold (classification only). @default true */
    stratified: z.boolean().default(true),
    /**
     * Repeated k-fold: the k folds are cut `repeats` times, each time from another shuffle, and a
     * run trains all k·repeats of them (fold index r·k + fold): its score is the mean over all, the
     * paired test against the best uses all. Repeat 0 is the plain k-fold's split. No default is
     * written, so a spec without it keeps its hash. @default 1
     */
    repeats: z.number().int().min(1, 'expected an integer of at least 1').max(20).optional(),
    earlyStopping: earlyStoppingSchema.optional(),
    outer: outerSchema.optional(),
  }),
]);
export type ValidationSpec = z.infer<typeof validationSchema>;

/** Times k-fold is repeated: `validation.repeats`, 1 when unset or a holdout. */
export function repeatsOf(validation: ValidationSpec): number {
  return validation.kind === 'kfold' ? (validation.repeats ?? 1) : 1;
}

/** Folds a run trains: k·repeats for k-fold, 1 for a holdout. Fold `r·k + f` is fold f of repeat r. */
export function foldCountOf(validation: ValidationSpec): number {
  return validation.kind === 'kfold' ? validation.k * repeatsOf(validation) : 1;
}

/** The folds in words, as `run`, `show` and the pages say them: `5 folds`, `5 folds × 3 repeats`, `holdout`. */
export function foldsLabel(validation: ValidationSpec): string {
  if (validation.kind === 'holdout') return 'holdout';
  const repeats = repeatsOf(validation);
  return `${validation.k} folds${repeats > 1 ? ` × ${repeats} repeats` : ''}`;
}

/** Cutting hopeless work short. Both rules compare with the selection metric, fold by fold. */
export const pruningSchema = z.strictObject({
  /**
   * Fold cutting: a run's remaining folds are skipped once, on each of its first `minFolds`
   * finished folds, it scored worse than the current leader on the same fold by more than `margin`.
   */
  foldCut: z
    .strictObject({
      /** Folds a run must finish before it can be cut. @default 2 */
      minFolds: z.number().int().min(1).default(2),
      /** How much worse, in units of the selection metric, counts as clearly worse. @default 0.01 */
      margin: z.number().min(0).default(0.01),
    })
    .optional(),
  /**
   * Asynchronous successive halving (ASHA) on the per-epoch validation curve: at epochs
   * minEpochs·η^k a fold continues only if its best score so far is in the top 1/η of the folds
   * (with the same index) that reached that epoch before it.
   */
  asha: z
    .strictObject({
      /** First rung, in epochs. @default 3 */
      minEpochs: z.number().int().min(1).default(3),
      /** η: keep the top 1/η at each rung. @default 3 */
      reductionFactor: z.number().int().min(2).default(3),
    })
    .optional(),
});
export type PruningSpec = z.infer<typeof pruningSchema>;

/**
 * `selection.threshold`: how the operating threshold of a binary model is chosen, on the pooled
 * out-of-fold predictions of the selected configuration (never the test split), then frozen into
 * the refit model. The objectives are described at THRESHOLD_OBJECTIVES (vocabulary.ts).
 */
export const thresholdSchema = z.discriminatedUnion('objective', [
  z.strictObject({ objective: z.enum(['f1', 'balanced_accuracy', 'mcc', 'youden']) }),
  /** The highest recall whose precision is at least `value`. */
  z.strictObject({ objective: z.literal('recall_at_precision'), value: fraction }),
  /** The highest precision whose recall is at least `value`. */
  z.strictObject({ objective: z.literal('precision_at_recall'), value: fraction }),
  /** The least total cost falsePositive·FP + falseNegative·FN (reported per row). */
  z.strictObject({ objective: z.literal('cost'), falsePositive: z.number().min(0), falseNegative: z.number().min(0) }),
]);
export type ThresholdSpec = z.infer<typeof thresholdSchema>;
// Checked where it is written: the objectives of the schema are the vocabulary's.
THRESHOLD_OBJECTIVES satisfies readonly ThresholdSpec['objective'][];

/** The rules that pick a configuration (spec `selection.rule`). */
export const SELECTION_RULES = ['best', 'one-standard-error'] as const;
export type SelectionRule = (typeof SELECTION_RULES)[number];

export const specSchema = z
  .strictObject({
    /** Experiment name: letters, digits, `.`, `_`, `-`; unique in a data directory. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a name of 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
    /** Free text shown in the dashboard. */
    description: z.string().max(2000).optional(),
    dataset: datasetSchema,
    /** Learning task; inferred from the target when omitted. */
    task: z.enum(TASKS).optional(),
    /**
     * Binary tasks: the positive class, a label as written in the target column (`churned`, `1`).
     * The model's probability, precision, recall, PR AUC and the threshold are about this class.
     * Default: `1`, `true` or `yes` (any case) when a label is one of them, otherwise the minority
     * class of the non-test rows (the second in label order on a tie).
     */
    positiveClass: z.union([z.string().min(1), z.number(), z.boolean()]).optional(),
    /** Test split, cut before the search and stratified for classification. */
    testSplit: z.strictObject({ fraction: fraction.default(0.2) }).default({ fraction: 0.2 }),
    /** Fixed hyperparameters (defaults: DEFAULT_PARAMS). */
    model: fixedParamsSchema.default({}),
    /** Searched hyperparameters: each a list (one grid axis) or a single value. */
    grid: gridSchema.default({}),
    /** How configurations are found: the grid (when absent), or `random` / `tpe` sampling `trials` of them (search-spec.ts). */
    search: searchSchema.optional(),
    /** random, tpe: the searched hyperparameters, each a range or a choice (search-spec.ts). */
    space: spaceSchema.optional(),
    validation: validationSchema.default({ kind: 'kfold', k: 5, stratified: true }),
    /**
     * How a configuration is chosen: the metric that ranks runs (without `val_`; defaults by task)
     * and whether to maximise it, the rule that picks one, and the level of the test that marks
     * runs tied with the best. No defaults are written into the spec (see selectionRuleFor), so a
     * spec written before a field existed keeps its hash.
     */
    selection: z
      .strictObject({
        metric: z.string().regex(METRIC_NAME, 'a metric name such as auc, accuracy or rmse').optional(),
        direction: z.enum(DIRECTIONS).optional(),
        /** `best`, or `one-standard-error`: the simplest configuration within one standard error of the best. @default 'best' */
        rule: z.enum(SELECTION_RULES).optional(),
        /** Level of the paired test against the best (Holm-adjusted) that marks runs tied with it. @default 0.05 */
        alpha: fraction.optional(),
        /** Binary tasks: how the operating threshold is chosen (thresholdSchema). Without it: 0.5. */
        threshold: thresholdSchema.optional(),
      })
      .optional(),
    /** Optional pruning of clearly worse runs. Off by default. */
    pruning: pruningSchema.optional(),
    /** Seed for data generation, splits and weight initialisation. @default 42 */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
    /** Worker processes; defaults to the number of cores. */
    workers: positiveInt.max(256).optional(),
    /** Refuse grids with more runs than this unless `--allow-large-grid`. @default 1000 */
    maxRuns: positiveInt.default(1000),
  })
  .superRefine((spec, ctx) => {
    for (const name of Object.keys(spec.grid)) {
      if (name in spec.model) {
        ctx.addIssue({ code: 'custom', path: ['grid', name], message: `"${name}" is set in both model and grid; keep it in one place` });
      }
    }
    if (!(RATINGS_DATASETS as readonly string[]).includes(spec.dataset.kind)) {
      const where = spec.model.family !== undefined ? ['model', 'family'] : spec.space?.family ? ['space', 'family'] : ['grid', 'family'];
      const needRatings = familiesNamed(spec).filter((family) => family !== 'mlp');
      if (needRatings.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: where,
          message: `family "${needRatings[0]}" needs a ratings dataset (kind ${RATINGS_DATASETS.join(' or ')}), not ${spec.dataset.kind}`,
        });
      }
    } else if (spec.task !== undefined && spec.task !== 'regression') {
      ctx.addIssue({
        code: 'custom',
        path: ['task'],
        message: `a ${spec.dataset.kind} dataset is a regression task (predicting the rating), not ${spec.task}`,
      });
    }
    for (const issue of searchIssues(spec, PARAM_CHECKS, familiesOf(spec))) ctx.addIssue({ code: 'custom', ...issue });
    if (spec.dataset.kind === 'csv') {
      for (const issue of csvRoleIssues(spec.dataset))
        ctx.addIssue({ code: 'custom', path: ['dataset', ...issue.path], message: issue.message });
    }
    for (const issue of decisionIssues(spec, spec.task)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    const es = spec.validation.earlyStopping;
    if (spec.task && es && !isRecordedMetric(spec.task, parseMetricKey(es.monitor).name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['validation', 'earlyStopping', 'monitor'],
        message: `expected one of ${TASK_METRICS[spec.task].map((m) => metricKey('val', m)).join(', ')} for a ${spec.task} task`,
      });
    }
    if (spec.task && spec.selection?.metric !== undefined && !isRecordedMetric(spec.task, spec.selection.metric)) {
      ctx.addIssue({
        code: 'custom',
        path: ['selection', 'metric'],
        message: `expected one of ${TASK_METRICS[spec.task].join(', ')} for a ${spec.task} task`,
      });
    }
  });

export type ExperimentSpec = z.infer<typeof specSchema>;

/** The spec fields decisionIssues reads (typed apart from ExperimentSpec: the schema's own refinement calls it). */
type DecisionFields = {
  readonly positiveClass?: string | number | boolean;
  readonly selection?: { readonly threshold?: ThresholdSpec };
  readonly model: { readonly classWeight?: Params['classWeight'] };
  readonly grid: { readonly classWeight?: Params['classWeight'] | readonly Params['classWeight'][] };
  readonly space?: { readonly classWeight?: unknown };
};

/**
 * What a binary-only or classification-only field does on a task that has none of it: a
 * `positiveClass` or a `selection.threshold` on a task that is not binary, class weights on a
 * regression, two costs of zero. The worker's describe step asks again once the task is inferred
 * from the data (worker/describe.ts).
 */
export function decisionIssues(spec: DecisionFields, task: TaskKind | undefined): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const threshold = spec.selection?.threshold;
  if (threshold?.objective === 'cost' && threshold.falsePositive === 0 && threshold.falseNegative === 0)
    issues.push({
      path: ['selection', 'threshold'],
      message: 'falsePositive and falseNegative are both 0: at least one cost must be positive',
    });
  if (task === undefined) return issues;
  if (task !== 'binary' && threshold !== undefined)
    issues.push({ path: ['selection', 'threshold'], message: `an operating threshold applies to binary tasks, not to a ${task} task` });
  if (task !== 'binary' && spec.positiveClass !== undefined)
    issues.push({ path: ['positiveClass'], message: `a positive class applies to binary tasks, not to a ${task} task` });
  if (task === 'regression') {
    const where = spec.model.classWeight !== undefined ? 'model' : spec.grid.classWeight !== undefined ? 'grid' : 'space';
    const weights = spec.model.classWeight ?? spec.grid.classWeight;
    const weighted = weights === undefined ? spaceChoiceValues(spec.space?.classWeight) : Array.isArray(weights) ? weights : [weights];
    if (weighted.some((value) => value !== 'none'))
      issues.push({ path: [where, 'classWeight'], message: 'class weights apply to classification tasks, not to a regression task' });
  }
  return issues;
}

/** The spec's positive class as a label (`true` → "true", `1` → "1"), or undefined when it names none. */
export function positiveClassLabel(spec: Pick<ExperimentSpec, 'positiveClass'>): string | undefined {
  return spec.positiveClass === undefined ? undefined : String(spec.positiveClass).trim();
}

type CsvDatasetSpec = Extract<DatasetSpec, { kind: 'csv' }>;
const ROLES = ['drop', 'id', 'categorical', 'numeric'] as const;

/**
 * What is wrong with a `csv` dataset's roles and imputation before the file is read: a name
 * listed twice, a column in two roles, the target given a role, a per-column strategy that does
 * not fit the role. (Names that are not columns, and strategies that do not fit an inferred
 * kind, are reported when the file is read.)
 */
function csvRoleIssues(dataset: CsvDatasetSpec): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const roleOf = new Map<string, (typeof ROLES)[number]>();
  for (const role of ROLES) {
    const value = dataset.columns?.[role];
    const names = value === undefined ? [] : typeof value === 'string' ? [value] : value;
    names.forEach((name, i) => {
      const path = ['columns', role, ...(typeof value === 'string' ? [] : [i])];
      const earlier = roleOf.get(name);
      if (name === dataset.target) issues.push({ path, message: `"${name}" is the target column; it cannot have a role` });
      else if (earlier === role) issues.push({ path, message: `"${name}" is listed twice` });
      else if (earlier !== undefined) issues.push({ path, message: `"${name}" is also in columns.${earlier}; a column has one role` });
      else roleOf.set(name, role);
    });
  }
  for (const [name, strategy] of Object.entries(dataset.impute?.columns ?? {})) {
    const path = ['impute', 'columns', name];
    const role = roleOf.get(name);
    if (name === dataset.target) issues.push({ path, message: `"${name}" is the target column; only feature columns are imputed` });
    else if (role === 'drop' || role === 'id')
      issues.push({ path, message: `"${name}" is the ${role === 'id' ? 'id' : 'dropped'} column, not a feature` });
    else if (role !== undefined) {
      const issue = imputeMismatch(strategy, role);
      if (issue !== null) issues.push({ path, message: issue });
    }
  }
  return issues;
}

/** Why `strategy` cannot fill a column of `kind`, or null when it can. */
export function imputeMismatch(strategy: NumericImpute | CategoricalImpute, kind: 'numeric' | 'categorical'): string | null {
  const fitting: readonly string[] = kind === 'numeric' ? NUMERIC_IMPUTE : CATEGORICAL_IMPUTE;
  return fitting.includes(strategy) ? null : `"${strategy}" does not fit a ${kind} column (expected ${fitting.join(', ')})`;
}

/** Where a spec names families (typed apart from ExperimentSpec: the schema's own refinement calls it). */
type FamilyFields = {
  readonly model: { readonly family?: Family };
  readonly grid: { readonly family?: Family | readonly Family[] };
  readonly space?: { readonly family?: unknown };
};

/** The families a spec names: its fixed `model.family`, or the values of its `family` grid axis or space choice (none when silent). */
function familiesNamed(spec: FamilyFields): Family[] {
  if (spec.model.family !== undefined) return [spec.model.family];
  const searched = spec.grid.family ?? spaceChoiceValues(spec.space?.family).filter((v): v is Family => FAMILIES.includes(v as Family));
  return searched === undefined ? [] : typeof searched === 'string' ? [searched] : [...new Set(searched)];
}

/** The families an experiment's runs train: those the spec names, else the default family. */
export function familiesOf(spec: FamilyFields): Family[] {
  const named = familiesNamed(spec);
  return named.length > 0 ? named : [DEFAULT_PARAMS.family];
}

/** One problem with a spec: where it is and what was expected. */
export type SpecIssue = { readonly path: string; readonly message: string };

export class SpecError extends Error {
  override name = 'SpecError';
  constructor(readonly issues: readonly SpecIssue[]) {
    super(issues.map((issue) => `${issue.path || '(spec)'}: ${issue.message}`).join('\n'));
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

/** Validates an already-parsed object. @throws {SpecError} with one issue per bad field. */
export function validateSpec(raw: unknown): ExperimentSpec {
  const result = specSchema.safeParse(raw);
  if (!result.success) throw new SpecError(specIssues(result.error.issues, raw));
  return result.data;
}

/**
 * One issue per bad field. A bad hyperparameter value in `model` or `grid` says what that
 * hyperparameter accepts and what it got, per list entry (zod's words for a grid axis, a union of
 * a value and a list, would be just "Invalid input").
 */
function specIssues(issues: readonly z.core.$ZodIssue[], raw: unknown): SpecIssue[] {
  const seen = new Set<string>();
  return issues.flatMap((issue) => {
    const values = paramValueIssues(issue, raw);
    if (values === null) return [{ path: formatPath(issue.path), message: describeIssue(issue) }];
    const key = formatPath(issue.path.slice(0, 2));
    if (seen.has(key)) return [];
    seen.add(key);
    return values;
  });
}

function paramValueIssues(issue: z.core.$ZodIssue, raw: unknown): SpecIssue[] | null {
  const [section, name] = issue.path;
  if (issue.code === 'custom' || issue.code === 'unrecognized_keys') return null;
  if ((section !== 'model' && section !== 'grid') || typeof name !== 'string' || !(name in paramFields)) return null;
  const field: z.ZodType = paramFields[name as ParamName];
  const value = (raw as Record<string, Record<string, unknown> | undefined>)[section]?.[name];
  if (section === 'model' || !Array.isArray(value)) return [{ path: `${section}.${name}`, message: expectedMessage(field, value) }];
  const bad = value.flatMap((v, i) =>
    field.safeParse(v).success ? [] : [{ path: `grid.${name}[${i}]`, message: expectedMessage(field, v) }],
  );
  return bad.length > 0 ? bad : null;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
}

/** Parses YAML (JSON is valid YAML) and validates it. @throws {SpecError} */
export function parseSpec(text: string): ExperimentSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const where = error.linePos?.[0] ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '(spec)';
      throw new SpecError([{ path: where, message: `malformed YAML: ${error.message.split('\n')[0]}` }]);
    }
    // The parser refuses documents built to exhaust it ("Excessive alias count …", a ReferenceError).
    if (error instanceof ReferenceError || error instanceof RangeError)
      throw new SpecError([{ path: '(spec)', message: `unreadable YAML: ${error.message}` }]);
    throw error;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SpecError([{ path: '', message: 'expected a mapping of spec fields (name, dataset, grid, ...)' }]);
  }
  return validateSpec(raw);
}

/** The selection rule and the tied-with-best test's level, with their defaults when the spec is silent. */
export function selectionRuleFor(spec: ExperimentSpec): { rule: SelectionRule; alpha: number } {
  return { rule: spec.selection?.rule ?? 'best', alpha: spec.selection?.alpha ?? 0.05 };
}

/** The metric that ranks runs and its direction, filled in from the task when the spec is silent. */
export function selectionFor(spec: ExperimentSpec, task: TaskKind): { metric: string; direction: Direction } {
  const metric = spec.selection?.metric ?? defaultSelectionMetric(task);
  return { metric, direction: spec.selection?.direction ?? directionOf(metric) };
}
