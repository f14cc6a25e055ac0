/**
 * CONTRACT: the messages between the coordinator and a worker.
 *
 * A task is one (run, fold), or one refit. It carries only a description — the spec with its
 * dataset reference, the hyperparameters, the fold index and the seed — never data: the worker
 * derives the same data and splits itself. Messages are plain JSON so the same worker can
 * later pull tasks from a queue. JSON turns NaN and ±Infinity into `null`; that is the
 * contract: `null` means non-finite in every layer.
 */
import { z } from 'zod';
import { specSchema, storedParamsSchema, TASKS, type ExperimentSpec, type Params, type TaskKind } from './spec.js';

/** Backends in order of preference. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export type Task = {
  /** Unique per delivery: `${runId}:${foldIndex}:${attempt}` (see makeTaskId). */
  readonly taskId: string;
  readonly runId: number;
  /** 0-based fold; always 0 for a holdout run or a refit. */
  readonly foldIndex: number;
  /** Delivery number of this (run, fold): 1 for the first, higher on retries and resumes. Epoch messages of an older attempt are ignored. */
  readonly attempt: number;
  readonly kind: 'search' | 'refit';
  /** The parsed spec, with `dataset.path` made absolute by the coordinator. */
  readonly spec: ExperimentSpec;
  /** The task kind the coordinator inferred from the data (or the spec named). */
  readonly taskKind: TaskKind;
  readonly params: Params;
  /** Refit only: epochs to train on all non-test rows, and the folder to save the model in. */
  readonly refit?: { readonly epochs: number; readonly modelDir: string };
};

export type EpochMetrics = Readonly<Record<string, number | null>>;

export type TaskResult = {
  /** 0-based epoch whose weights were kept (the last one without early stopping). */
  readonly bestEpoch: number;
  /** 0-based last epoch trained. */
  readonly stoppedEpoch: number;
  /** Validation metrics at `bestEpoch` (`val_…`); empty for a refit. */
  readonly bestMetrics: EpochMetrics;
  readonly paramCount: number;
  readonly trainMs: number;
  /** Refit only: metrics on the test split (`test_…`). */
  readonly testMetrics?: EpochMetrics;
  /** True when training ended because the coordinator sent `stop` (pruning), not by itself. */
  readonly stoppedByRequest?: boolean;
};

/** What the coordinator learns about a dataset before it writes anything: a worker loads and splits it once. */
export type DescribeRequest = {
  readonly requestId: string;
  readonly spec: ExperimentSpec;
};

export type DatasetInfo = {
  readonly task: TaskKind;
  readonly nRows: number;
  readonly nFeatures: number;
  readonly testRows: number;
  readonly classes: readonly string[] | null;
  readonly featureNames: readonly string[];
};

export type ToWorker =
  | { readonly type: 'task'; readonly task: Task }
  | { readonly type: 'describe'; readonly request: DescribeRequest }
  /** End this task gracefully after the current epoch (pruning); the worker still answers `done`. */
  | { readonly type: 'stop'; readonly taskId: string }
  | { readonly type: 'shutdown' };

export type FromWorker =
  | { readonly type: 'ready'; readonly backend: BackendName; readonly workerName: string }
  | { readonly type: 'epoch'; readonly taskId: string; readonly epoch: number; readonly metrics: EpochMetrics }
  | { readonly type: 'done'; readonly taskId: string; readonly result: TaskResult }
  | { readonly type: 'failed'; readonly taskId: string; readonly reason: 'diverged' | 'error'; readonly message: string }
  | { readonly type: 'described'; readonly requestId: string; readonly info: DatasetInfo }
  | { readonly type: 'describe-failed'; readonly requestId: string; readonly message: string };

const metricsSchema = z.record(z.string(), z.number().nullable());
// Params of runs recorded before a hyperparameter existed get its default (see storedParamsSchema).
const paramsSchema = storedParamsSchema;

const resultSchema = z.strictObject({
  bestEpoch: z.number().int().min(0),
  stoppedEpoch: z.number().int().min(0),
  bestMetrics: metricsSchema,
  paramCount: z.number().int().min(0),
  trainMs: z.number().min(0),
  testMetrics: metricsSchema.optional(),
  stoppedByRequest: z.boolean().optional(),
});

const fromWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), backend: z.enum(BACKENDS), workerName: z.string() }),
  z.strictObject({ type: z.literal('epoch'), taskId: z.string(), epoch: z.number().int().min(0), metrics: metricsSchema }),
  z.strictObject({ type: z.literal('done'), taskId: z.string(), result: resultSchema }),
  z.strictObject({ type: z.literal('failed'), taskId: z.string(), reason: z.enum(['diverged', 'error']), message: z.string() }),
  z.strictObject({
    type: z.literal('described'),
    requestId: z.string(),
    info: z.strictObject({
      task: z.enum(TASKS),
      nRows: z.number().int().min(0),
      nFeatures: z.number().int().min(0),
      testRows: z.number().int().min(0),
      classes: z.array(z.string()).nullable(),
      featureNames: z.array(z.string()),
    }),
  }),
  z.strictObject({ type: z.literal('describe-failed'), requestId: z.string(), message: z.string() }),
]);

const specInMessage = z.unknown().transform((raw, ctx) => {
  const parsed = specSchema.safeParse(raw);
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: `bad spec in message: ${parsed.error.message}` });
    return z.NEVER;
  }
  return parsed.data;
});

const taskSchema = z.strictObject({
  taskId: z.string(),
  runId: z.number().int(),
  foldIndex: z.number().int().min(0),
  attempt: z.number().int().min(0),
  kind: z.enum(['search', 'refit']),
  spec: specInMessage,
  taskKind: z.enum(TASKS),
  params: paramsSchema,
  refit: z.strictObject({ epochs: z.number().int().positive(), modelDir: z.string().min(1) }).optional(),
});

const toWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('task'), task: taskSchema }),
  z.strictObject({ type: z.literal('describe'), request: z.strictObject({ requestId: z.string(), spec: specInMessage }) }),
  z.strictObject({ type: z.literal('stop'), taskId: z.string() }),
  z.strictObject({ type: z.literal('shutdown') }),
]);

/** Validates a message that arrived from a worker. @throws {Error} naming the bad field. */
export function parseFromWorker(raw: unknown): FromWorker {
  return fromWorkerSchema.parse(raw) as FromWorker;
}

/** Validates a message that arrived from the coordinator. @throws {Error} naming the bad field. */
export function parseToWorker(raw: unknown): ToWorker {
  return toWorkerSchema.parse(raw) as ToWorker;
}

export function makeTaskId(runId: number, foldIndex: number, attempt: number): string {
  return `${runId}:${foldIndex}:${attempt}`;
}

export type { ExperimentSpec, Params };
