/**
 * CONTRACT: the messages between the coordinator and a worker.
 *
 * A task is one (run, fold), or one refit. It carries only a description — the spec with its
 * dataset reference, the hyperparameters, the fold index and the seed — never data: the worker
 * derives the same data and splits itself. Messages are plain JSON so the same worker can
 * later pull tasks from a queue. JSON turns NaN and ±Infinity into `null`; that is the
 * contract: `null` means non-finite in every layer.
 *
 * Each type is the output of its schema (`z.infer`): the field documentation lives on the schema.
 */
import { z } from 'zod';
import { specSchema, storedParamsSchema, thresholdSchema, type ExperimentSpec, type Params } from './spec.js';
import { TASKS } from './vocabulary.js';

/** Backends in order of preference. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/**
 * How a worker request failed, decided once in the worker from the error it caught:
 * - `data`: the input is bad (the dataset, the spec, a model file): the user's to fix;
 * - `diverged`: training produced a non-finite loss (tasks only);
 * - `error`: anything else: a bug, or the machine (memory, a file it cannot read).
 */
export const FAILURE_KINDS = ['data', 'diverged', 'error'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** Metrics of one epoch (or of a result) by key; `null` means non-finite. */
export const metricsSchema = z.record(z.string(), z.number().nullable()).readonly();
export type EpochMetrics = z.infer<typeof metricsSchema>;

/**
 * A model's predictions of some held-out rows with their targets, compact: the float32 values
 * little-endian, base64-encoded. A search fold's out-of-fold predictions at its chosen epoch, or a
 * refit's test split. `targets`: n class indices (binary: 1 = the positive class), or the actual
 * values (regression); `predictions`: n × width row-major (binary: n probabilities of the positive
 * class; multiclass: n × classes probabilities; regression: n values, width 1). The coordinator
 * stores the bytes as they are.
 */
export const outOfFoldSchema = z
  .strictObject({
    n: z.number().int().min(0),
    width: z.number().int().min(1),
    targets: z.base64(),
    predictions: z.base64(),
    /** Classification: the class labels by target index and prediction column (binary: the other class, then the positive one). */
    classes: z.array(z.string()).readonly().optional(),
  })
  .readonly();
export type OutOfFold = z.infer<typeof outOfFoldSchema>;

/** Float32 values as the base64 of their little-endian bytes (outOfFoldSchema's encoding). */
export function encodeFloats(values: Float32Array): string {
  return floatBytes(values).toString('base64');
}

/** The little-endian bytes of float32 values, as the coordinator stores them. */
export function floatBytes(values: Float32Array): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i]!, i * 4);
  return bytes;
}

/** The float32 values of little-endian bytes (or of their base64). @throws {RangeError} when the length is not a multiple of 4. */
export function decodeFloats(encoded: string | Uint8Array): Float32Array {
  const bytes = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : Buffer.from(encoded);
  if (bytes.length % 4 !== 0) throw new RangeError(`float32 data of ${bytes.length} bytes (not a multiple of 4)`);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

/** A fold's out-of-fold predictions (or a refit's test predictions) for a message; `classes` for classification. */
export function encodeOutOfFold(targets: Float32Array, predictions: Float32Array, width: number, classes?: readonly string[]): OutOfFold {
  if (predictions.length !== targets.length * width)
    throw new RangeError(`${predictions.length} predictions for ${targets.length} rows of width ${width}`);
  const encoded = { n: targets.length, width, targets: encodeFloats(targets), predictions: encodeFloats(predictions) };
  return classes === undefined ? encoded : { ...encoded, classes };
}

/** The arrays of a fold's out-of-fold predictions. @throws {RangeError} when their lengths disagree with n and width. */
export function decodeOutOfFold(outOfFold: OutOfFold): { readonly targets: Float32Array; readonly predictions: Float32Array } {
  const targets = decodeFloats(outOfFold.targets);
  const predictions = decodeFloats(outOfFold.predictions);
  if (targets.length !== outOfFold.n || predictions.length !== outOfFold.n * outOfFold.width)
    throw new RangeError(
      `out-of-fold data of ${targets.length} targets and ${predictions.length} predictions, expected n = ${outOfFold.n}`,
    );
  return { targets, predictions };
}

/** A confusion matrix of a binary classifier: counts of true/false positives and negatives. */
export const confusionSchema = z
  .strictObject({ tp: z.number().int().min(0), fp: z.number().int().min(0), tn: z.number().int().min(0), fn: z.number().int().min(0) })
  .readonly();
export type Confusion = z.infer<typeof confusionSchema>;

/**
 * The operating point of a binary refit (worker/training/decision.ts), chosen on the source run's
 * out-of-fold predictions and frozen into the model folder's preprocessing.json.
 */
export const decisionSchema = z
  .strictObject({
    /** A row is predicted positive when p(positive) > threshold. */
    threshold: z.number(),
    /** The spec's `selection.threshold`, or null: the default 0.5. */
    objective: thresholdSchema.nullable(),
    /** The label the probabilities are of. */
    positiveClass: z.string(),
    /** The objective's value on the pooled out-of-fold predictions at the threshold (null without an objective). */
    pooled: z.number().nullable(),
    /**
     * At the threshold, per fold of the source run (fold order): each metric of DECISION_METRICS
     * and the objective's own (objectiveMetricName); null = not finite. Empty when the source run
     * has no out-of-fold predictions.
     */
    folds: z.record(z.string(), z.array(z.number().nullable()).readonly()).readonly(),
    /** The test split at the threshold. */
    confusion: confusionSchema,
    /** Why the threshold is not what the objective asked for (e.g. no threshold reaches the precision), or null. */
    note: z.string().nullable(),
  })
  .readonly();
export type Decision = z.infer<typeof decisionSchema>;

/** A spec inside a message: validated with the spec schema, its issues reported as one message. */
const specInMessage = z.unknown().transform((raw, ctx): ExperimentSpec => {
  const parsed = specSchema.safeParse(raw);
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: `bad spec in message: ${parsed.error.message}` });
    return z.NEVER;
  }
  return parsed.data;
});

export const taskSchema = z
  .strictObject({
    /** Unique per delivery: `${runId}:${foldIndex}:${attempt}` (see makeTaskId). */
    taskId: z.string(),
    runId: z.number().int(),
    /** 0-based fold; always 0 for a holdout run or a refit. */
    foldIndex: z.number().int().min(0),
    /**
     * Nested CV (spec `validation.outer`): the 0-based outer fold whose training part stands in for
     * the non-test rows — a search task's folds are cut from it, a refit trains on all of it and is
     * scored on the outer fold instead of the test split. Absent: the plain search on all non-test rows.
     */
    outerFold: z.number().int().min(0).optional(),
    /**
     * Delivery number of this (run, fold): 1 for the first, higher on retries and resumes.
     * Epoch messages of an older attempt are ignored.
     */
    attempt: z.number().int().min(0),
    kind: z.enum(['search', 'refit']),
    /** The parsed spec, with `dataset.path` made absolute by the coordinator. */
    spec: specInMessage,
    /** The task kind the coordinator inferred from the data (or the spec named). */
    taskKind: z.enum(TASKS),
    /**
     * A CSV or MovieLens dataset: the digest of its bytes when the search or refit started
     * (dataset-digest.ts). The worker refuses the task when the data it loaded hashes otherwise.
     */
    dataSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    /** Params of runs recorded before a hyperparameter existed get its default (see storedParamsSchema). */
    params: storedParamsSchema,
    /**
     * Search tasks only: the same fold of shorter runs this task answers too (epoch-prefix sharing). Each differs from
     * this task's run only in fewer `epochs`; the seeds leave `epochs` out, so such a run is exactly this task's first
     * epochs. When training reaches the end of a run's `epochs` (or early stopping ends it before, as it would have ended
     * that run), the worker sends a `horizon` message with that run's result, then trains on unchanged. The coordinator
     * records their epochs from this task's `epoch` messages.
     */
    horizons: z
      .array(z.strictObject({ runId: z.number().int(), epochs: z.number().int().positive() }).readonly())
      .readonly()
      .optional(),
    /** Refit only: epochs to train on all non-test rows, and the folder to save the model in. */
    refit: z
      .strictObject({
        epochs: z.number().int().positive(),
        modelDir: z.string().min(1),
        /**
         * Binary refits: the source run's out-of-fold predictions, fold by fold (empty when it has
         * none recorded), from which the worker chooses the operating threshold (`spec.selection.threshold`)
         * and its cross-validation estimate.
         */
        outOfFold: z.array(outOfFoldSchema).readonly().optional(),
      })
      .readonly()
      .optional(),
  })
  .readonly();
export type Task = z.infer<typeof taskSchema>;

export const resultSchema = z
  .strictObject({
    /** 0-based epoch whose weights were kept (the last one without early stopping). */
    bestEpoch: z.number().int().min(0),
    /** 0-based last epoch trained. */
    stoppedEpoch: z.number().int().min(0),
    /** Validation metrics at `bestEpoch` (`val_…`); empty for a refit. */
    bestMetrics: metricsSchema,
    paramCount: z.number().int().min(0),
    trainMs: z.number().min(0),
    /** Refit only: metrics on the test split (`test_…`). */
    testMetrics: metricsSchema.optional(),
    /** True when training ended because the coordinator sent `stop` (pruning), not by itself. */
    stoppedByRequest: z.boolean().optional(),
    /** Search tasks: the validation rows' predictions at `bestEpoch`. */
    outOfFold: outOfFoldSchema.optional(),
    /**
     * Refits: the test split's predictions by the saved model (nested CV: the outer fold's), kept to
     * be drawn on the run page; nothing is chosen on them.
     */
    testPredictions: outOfFoldSchema.optional(),
    /** Binary refits: the operating threshold frozen into the model and the test split's confusion matrix at it. */
    decision: decisionSchema.optional(),
  })
  .readonly();
export type TaskResult = z.infer<typeof resultSchema>;

/** What the coordinator learns about a dataset before it writes anything: a worker loads and splits it once. */
const describeRequestSchema = z.strictObject({ requestId: z.string(), spec: specInMessage }).readonly();
export type DescribeRequest = z.infer<typeof describeRequestSchema>;

const datasetInfoSchema = z
  .strictObject({
    task: z.enum(TASKS),
    nRows: z.number().int().min(0),
    nFeatures: z.number().int().min(0),
    testRows: z.number().int().min(0),
    classes: z.array(z.string()).readonly().nullable(),
    featureNames: z.array(z.string()).readonly(),
    /** Things the user should know about the features, one line each (e.g. categories grouped as "other"). */
    notes: z.array(z.string()).readonly().optional(),
    /** Binary tasks: the positive class (spec `positiveClass`, or its default), and why it is that one. */
    positiveClass: z.strictObject({ label: z.string(), reason: z.string() }).readonly().optional(),
  })
  .readonly();
export type DatasetInfo = z.infer<typeof datasetInfoSchema>;

const fromWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), backend: z.enum(BACKENDS), workerName: z.string() }).readonly(),
  z.strictObject({ type: z.literal('epoch'), taskId: z.string(), epoch: z.number().int().min(0), metrics: metricsSchema }).readonly(),
  z.strictObject({ type: z.literal('done'), taskId: z.string(), result: resultSchema }).readonly(),
  /** The result of one of the task's `horizons` (run `runId`), sent when its last epoch is trained; the task goes on. */
  z.strictObject({ type: z.literal('horizon'), taskId: z.string(), runId: z.number().int(), result: resultSchema }).readonly(),
  z.strictObject({ type: z.literal('failed'), taskId: z.string(), kind: z.enum(FAILURE_KINDS), message: z.string() }).readonly(),
  z.strictObject({ type: z.literal('described'), requestId: z.string(), info: datasetInfoSchema }).readonly(),
  z
    .strictObject({ type: z.literal('describe-failed'), requestId: z.string(), kind: z.enum(FAILURE_KINDS), message: z.string() })
    .readonly(),
]);
export type FromWorker = z.infer<typeof fromWorkerSchema>;

const toWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('task'), task: taskSchema }).readonly(),
  z.strictObject({ type: z.literal('describe'), request: describeRequestSchema }).readonly(),
  /** End this task gracefully after the current epoch (pruning); the worker still answers `done`. */
  z.strictObject({ type: z.literal('stop'), taskId: z.string() }).readonly(),
  z.strictObject({ type: z.literal('shutdown') }).readonly(),
]);
export type ToWorker = z.infer<typeof toWorkerSchema>;

/** Validates a message that arrived from a worker. @throws {Error} naming the bad field. */
export function parseFromWorker(raw: unknown): FromWorker {
  return fromWorkerSchema.parse(raw);
}

/** Validates a message that arrived from the coordinator. @throws {Error} naming the bad field. */
export function parseToWorker(raw: unknown): ToWorker {
  return toWorkerSchema.parse(raw);
}

export function makeTaskId(runId: number, foldIndex: number, attempt: number): string {
  return `${runId}:${foldIndex}:${attempt}`;
}

export type { ExperimentSpec, Params };
