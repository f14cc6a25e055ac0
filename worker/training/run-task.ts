/**
 * One task, from its description to its result: a (run, fold) of the search, or the refit of
 * the chosen setting on all non-test rows followed by the one score on the test split.
 *
 * The loop is our own rather than `model.fit`: batches are gathered from tensors that stay on the
 * backend for the whole task, nothing is read back per batch (the epoch's losses are read once),
 * dropout masks and shuffles are seeded, and early stopping restores the best weights.
 * This module does no IPC, so the same `runTask` can be driven by a queue consumer.
 */
import { betweenBatches, epochBoundary, throwIfAborted } from './pacing.js';
import type { LayersModel, Optimizer, Scalar, Tensor, Tensor2D, Variable } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import { datasetKey, loadDataset, type Encoding, type Table } from '../data/datasets.js';
import { createBestEpochTracker } from './early-stopping.js';
import { binaryAccuracy, evaluate, multiclassAccuracy } from './metrics.js';
import { describePreprocessing, saveModel } from '../models/model-files.js';
import { buildModel, countParams, createOptimizer, predictArray, WeightSnapshot, type BuiltModel } from '../models/layers.js';
import { fitStandardizer, gather, gatherStandardized, type Standardizer } from '../data/preprocess.js';
import type { BackendName, EpochMetrics, Task, TaskResult } from '../contract/protocol.js';
import { createRng, deriveSeed, shuffleInPlace, type Rng } from '../rng.js';
import { PARAM_NAMES, TASK_METRICS, type Params, type TaskKind } from '../contract/spec.js';
import { splitTest, validationSplits } from '../data/splits.js';
import { buildRatingsModel } from '../recsys/models.js';
import { prepareRatingsData, type PreparedRatings } from '../recsys/prepare.js';
import { runMlpEngineTask, usesFastEngine } from '../engine/engine-trainer.js';

/** What `runTask` trains with: the TensorFlow.js namespace and its initialised backend. */
export type TrainingContext = { readonly tf: TensorFlow; readonly backend: BackendName };

/**
 * Receives each epoch's metrics (0-based epoch) as soon as the epoch ends. Returning 'stop'
 * ends a search task after this epoch, as early stopping would (pruning); refits ignore it.
 */
export type EpochListener = (epoch: number, metrics: EpochMetrics) => 'stop' | 'continue' | void;

/** The training loss became NaN or ±Infinity: the run failed as diverged, not the search. */
export class DivergedError extends Error {
  override name = 'DivergedError';
  constructor(
    /** 0-based epoch whose mean training loss was not finite. */
    readonly epoch: number,
    readonly loss: number,
  ) {
    super(`training diverged: the loss became ${loss} at epoch ${epoch} (try a smaller learning rate)`);
  }
}

/**
 * Trains one task.
 * - search: train on the fold's training rows, score `val_…` metrics every epoch, early-stop on
 *   `spec.validation.earlyStopping` (restoring the best weights when asked);
 * - refit: train on all non-test rows for `refit.epochs` epochs, score `test_…` metrics once,
 *   and save the model and its preprocessing to `refit.modelDir`.
 * `trainMs` in the result is the time of the epochs (training and validation), without loading
 * the data or saving the model. Leaves no tensors behind, whether it returns or throws.
 * @param onEpoch called after every epoch with `loss` (and `accuracy` for classification) on the
 *   training rows, plus `val_…` metrics for search tasks; non-finite values are `null`.
 * @param signal aborting it stops training at the next batch.
 * @throws {DivergedError} when the training loss is not finite.
 * @throws {DOMException} named `AbortError` when `signal` is aborted.
 * @throws {DataError} when the dataset cannot be loaded or split.
 */
export async function runTask(task: Task, ctx: TrainingContext, onEpoch: EpochListener, signal?: AbortSignal): Promise<TaskResult> {
  throwIfAborted(signal, task);
  const table = await loadTable(task);
  throwIfAborted(signal, task);
  const data = prepareData(table, task);
  const { tf } = ctx;
  const seed = taskSeed(task);
  // The `mlp` family trains on the fast engine (worker/engine/) wherever it supports the run.
  if (data.ratings === undefined && usesFastEngine(task, tf)) return runMlpEngineTask(task, ctx, table, data, seed, onEpoch, signal);

  const owned: { dispose(): void }[] = [];
  const own = <T extends { dispose(): void }>(resource: T): T => (owned.push(resource), resource);
  try {
    const built = buildTaskModel(tf, task.params, task.taskKind, data, deriveSeed(seed, 'init'));
    const model = own(built.model);
    const session: Session = {
      tf,
      task,
      model,
      optimizer: own(createOptimizer(tf, task.params)),
      variables: trainableVariables(tf, model),
      penalty: built.penalty,
      nClasses: data.nClasses,
      inputs: data.train.inputs.map((input) => own(inputTensor(tf, input, data.train.n))),
      y: own(trainingTargets(tf, task.taskKind, data.train.y, data.nClasses)),
      labels: data.train.y,
      nRows: data.train.n,
      shuffle: createRng(deriveSeed(seed, 'shuffle')),
      signal,
      lastYieldAt: performance.now(),
    };
    if (data.held.n === 0)
      throw new Error(task.kind === 'search' ? `fold ${task.foldIndex} has no validation rows` : 'the test split has no rows');
    const held: HeldOut = {
      inputs: data.held.inputs.map((input) => own(inputTensor(tf, input, data.held.n))),
      y: data.held.y,
      extraMetrics: data.ratings?.heldMetrics,
    };
    if (task.kind === 'search') return await trainSearch(session, held, onEpoch);

    const result = await trainRefit(session, held, onEpoch);
    const preprocessing = describePreprocessing({
      task: task.taskKind,
      encoding: data.encoding,
      standardizer: data.standardizer,
      classes: table.encoding.classes,
      params: task.params,
      backend: ctx.backend,
      seed: task.spec.seed,
      ...(data.ratings ? { ratings: data.ratings.saved() } : {}),
    });
    await saveModel(tf, model, refitSettings(task).modelDir, preprocessing);
    return result;
  } finally {
    for (const resource of owned.reverse()) resource.dispose();
  }
}

// ───────────────────────────── data ─────────────────────────────

/** Tables per worker process, most recently used last: the k folds of a run load the data once. */
const tableCache = new Map<string, Promise<Table>>();
const TABLE_CACHE_SIZE = 4;

function loadTable(task: Task): Promise<Table> {
  const key = datasetKey(task.spec.dataset, task.spec.seed, task.taskKind);
  const cached = tableCache.get(key);
  tableCache.delete(key);
  const table = cached ?? loadDataset(task.spec.dataset, task.spec.seed, task.taskKind);
  tableCache.set(key, table);
  if (tableCache.size > TABLE_CACHE_SIZE) tableCache.delete(tableCache.keys().next().value!);
  // A failed load is not cached: the next task retries (the file may have been fixed).
  table.catch(() => tableCache.get(key) === table && tableCache.delete(key));
  return table;
}

/**
 * One input of a model, for a set of rows: row-major, `width` values per row. Float32 features,
 * or int32 embedding indices (the recommendation families' user and item).
 */
export type ModelInput = { readonly values: Float32Array | Int32Array; readonly width: number };

/** Rows as the model takes them: one matrix per model input (an MLP has one), and the targets. */
type Rows = { readonly inputs: readonly ModelInput[]; readonly y: Float32Array; readonly n: number };

type TaskData = {
  readonly train: Rows;
  /** Validation rows (search) or test rows (refit). */
  readonly held: Rows;
  /** How raw rows become the features input; saved with a refit model. */
  readonly encoding: Encoding;
  readonly standardizer: Standardizer;
  readonly nClasses: number;
  /** Ratings tables only: the model's sizes, extra held-out metrics, and what a refit saves. */
  readonly ratings?: PreparedRatings;
};

/**
 * Cuts the test split first (DESIGN.md), then the fold; fits the preprocessing on the training
 * rows only and applies it to the held-out ones: the standardiser, or on a ratings table the
 * side-feature encoders and id maps (recsys/prepare.ts).
 */
function prepareData(table: Table, task: Task): TaskData {
  const { trainRows, heldRows } = taskRows(table, task);
  if (table.ratings !== undefined)
    return { ...prepareRatingsData(table, table.ratings, task.params.family, trainRows, heldRows), nClasses: 1 };
  const standardizer = fitStandardizer(table.x, table.nFeatures, trainRows);
  const rowsOf = (rows: Int32Array): Rows => ({
    inputs: [{ values: gatherStandardized(table.x, table.nFeatures, rows, standardizer), width: table.nFeatures }],
    y: gather(table.y, rows),
    n: rows.length,
  });
  return { train: rowsOf(trainRows), held: rowsOf(heldRows), encoding: table.encoding, standardizer, nClasses: classCount(table) };
}

type TaskRows = { readonly trainRows: Int32Array; readonly heldRows: Int32Array };

/** Splits already cut, per cached table: every run of a search reuses the same folds, so a worker cuts them once. */
const rowsCache = new WeakMap<Table, Map<string, TaskRows>>();

/** The task's training rows and its held-out rows: the fold's validation rows (search) or the test split (refit). */
function taskRows(table: Table, task: Task): TaskRows {
  const { spec } = task;
  const key = JSON.stringify([
    task.taskKind,
    spec.testSplit,
    spec.validation,
    spec.seed,
    task.kind,
    task.kind === 'search' ? task.foldIndex : -1,
  ]);
  const cached = rowsCache.get(table)?.get(key);
  if (cached !== undefined) return cached;
  const rows = cutRows(table, task);
  const forTable = rowsCache.get(table) ?? new Map<string, TaskRows>();
  forTable.set(key, rows);
  rowsCache.set(table, forTable);
  return rows;
}

function cutRows(table: Table, task: Task): TaskRows {
  const { spec } = task;
  const { train: nonTest, test } = splitTest(table.y, task.taskKind, spec.testSplit.fraction, spec.seed);
  let trainRows = nonTest;
  let heldRows = test;
  if (task.kind === 'search') {
    const folds = validationSplits(table.y, nonTest, spec.validation, task.taskKind, spec.seed, table.encoding.classes ?? undefined);
    const fold = folds[task.foldIndex];
    if (fold === undefined)
      throw new RangeError(
        `fold ${task.foldIndex} does not exist: the validation has ${folds.length} fold${folds.length === 1 ? '' : 's'}`,
      );
    trainRows = fold.train;
    heldRows = fold.validation;
  }
  return { trainRows, heldRows };
}

/** The task's model: an MLP, or on a ratings table the family's model (recsys/models.ts). */
function buildTaskModel(tf: TensorFlow, params: Params, taskKind: TaskKind, data: TaskData, seed: number): BuiltModel {
  if (data.ratings !== undefined) return buildRatingsModel(tf, params, data.ratings.shape, seed);
  if (params.family !== 'mlp') throw new Error(`family ${params.family} needs a ratings dataset (kind ratings or movielens)`);
  return { model: buildModel(tf, params, data.train.inputs[0]!.width, taskKind, data.nClasses, seed), penalty: null };
}

function inputTensor(tf: TensorFlow, input: ModelInput, n: number): Tensor2D {
  return tf.tensor2d(input.values, [n, input.width], input.values instanceof Int32Array ? 'int32' : 'float32');
}

function classCount(table: Table): number {
  if (table.task === 'binary') return 2;
  if (table.task === 'regression') return 1;
  if (table.encoding.classes === null) throw new Error('a multiclass table without class labels');
  return table.encoding.classes.length;
}

/** Targets as the loss wants them: one-hot rows for multiclass, a column otherwise. */
function trainingTargets(tf: TensorFlow, task: TaskKind, y: Float32Array, nClasses: number): Tensor2D {
  if (task !== 'multiclass') return tf.tensor2d(y, [y.length, 1]);
  return tf.tidy(() =>
    tf
      .oneHot(tf.tensor1d(Int32Array.from(y), 'int32'), nClasses)
      .toFloat()
      .as2D(y.length, nClasses),
  );
}

/**
 * The task's random seed: from the experiment seed, the hyperparameters, the kind and the fold,
 * but not the run id, so that re-running the same spec reproduces the same curves.
 */
function taskSeed(task: Task): number {
  const params = JSON.stringify(PARAM_NAMES.map((name) => [name, task.params[name]]));
  return deriveSeed(task.spec.seed, `task/${task.kind}/${task.foldIndex}/${params}`);
}

function refitSettings(task: Task): NonNullable<Task['refit']> {
  if (task.refit === undefined) throw new Error(`refit task ${task.taskId} has no refit settings (epochs, modelDir)`);
  return task.refit;
}

// ───────────────────────────── training ─────────────────────────────

type Session = {
  readonly tf: TensorFlow;
  readonly task: Task;
  readonly model: LayersModel;
  readonly optimizer: Optimizer;
  readonly variables: Variable[];
  /** A per-batch term added to the objective (the recommendation families' embedding L2), or null. */
  readonly penalty: BuiltModel['penalty'];
  readonly nClasses: number;
  /** The training rows' model inputs (standardised features for an MLP), on the backend for the whole task. */
  readonly inputs: readonly Tensor2D[];
  /** Training targets, n × 1 (binary, regression) or n × C one-hot (multiclass). */
  readonly y: Tensor2D;
  /** Training labels (class indices) in row order, for the epoch's accuracy. */
  readonly labels: Float32Array;
  readonly nRows: number;
  readonly shuffle: Rng;
  readonly signal: AbortSignal | undefined;
  lastYieldAt: number;
};

type HeldOut = {
  readonly inputs: readonly Tensor2D[];
  readonly y: Float32Array;
  /** Metrics recorded besides the task's (ratings: baseline_rmse, cold_rows, cold_rmse). */
  readonly extraMetrics: ((predictions: Float32Array) => Record<string, number>) | undefined;
};

async function trainSearch(session: Session, validation: HeldOut, onEpoch: EpochListener): Promise<TaskResult> {
  const { tf, task, model } = session;
  const { epochs } = task.params;
  const earlyStopping = task.spec.validation.earlyStopping;
  const tracker = earlyStopping === undefined ? null : createBestEpochTracker(earlyStopping);
  if (tracker !== null) checkMonitor(tracker.monitor, task.taskKind);
  const restoreBest = earlyStopping?.restoreBestWeights ?? false;

  const bestWeights = new WeightSnapshot(tf);
  let bestMetrics: EpochMetrics = {};
  let lastMetrics: EpochMetrics = {};
  let stoppedEpoch = 0;
  let stoppedByRequest = false;
  const startedAt = performance.now();
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      stoppedEpoch = epoch;
      const trainMetrics = await trainEpoch(session, epoch);
      lastMetrics = prefixed('val_', await evaluateOn(session, validation));
      await epochBoundary(session, epoch);
      stoppedByRequest = onEpoch(epoch, { ...trainMetrics, ...lastMetrics }) === 'stop';
      const verdict = tracker?.update(epoch, lastMetrics[tracker.monitor] ?? null);
      if (verdict === 'improved') {
        bestMetrics = lastMetrics;
        if (restoreBest) bestWeights.take(model);
      }
      if (stoppedByRequest || verdict === 'stop') break;
    }
    const result = {
      stoppedEpoch,
      paramCount: countParams(model),
      trainMs: performance.now() - startedAt,
      ...(stoppedByRequest ? { stoppedByRequest } : {}),
    };
    const bestEpoch = tracker?.bestEpoch;
    // Restore even when training ran to `epochs` without stopping (the Keras bug #12511).
    if (restoreBest && bestEpoch != null && bestEpoch !== stoppedEpoch && bestWeights.restoreInto(model)) {
      return { ...result, bestEpoch, bestMetrics };
    }
    // Otherwise the weights kept are the last epoch's (the contract's meaning of bestEpoch).
    return { ...result, bestEpoch: stoppedEpoch, bestMetrics: lastMetrics };
  } finally {
    bestWeights.dispose();
  }
}

/** Trains for `refit.epochs` on all non-test rows (stop requests do not apply), then scores the test rows. */
async function trainRefit(session: Session, test: HeldOut, onEpoch: EpochListener): Promise<TaskResult> {
  const { epochs } = refitSettings(session.task);
  const startedAt = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const metrics = await trainEpoch(session, epoch);
    await epochBoundary(session, epoch);
    onEpoch(epoch, metrics);
  }
  const trainMs = performance.now() - startedAt;
  const testMetrics = prefixed('test_', await evaluateOn(session, test));
  return { bestEpoch: epochs - 1, stoppedEpoch: epochs - 1, bestMetrics: {}, paramCount: countParams(session.model), trainMs, testMetrics };
}

function checkMonitor(monitor: string, task: TaskKind): void {
  const recorded = TASK_METRICS[task].map((name) => `val_${name}`);
  if (!recorded.includes(monitor))
    throw new Error(`early stopping monitors "${monitor}", but a ${task} task records ${recorded.join(', ')}`);
}

/**
 * One pass over the shuffled training rows. Nothing is read back per batch: the tensors the
 * step computes anyway (each batch's loss, objective and predictions) are kept and read once
 * when the epoch ends, so bookkeeping adds no kernels to a step.
 * @returns `loss` (mean training loss, without the L2 penalty so that it compares with
 *   `val_loss`) and, for classification, `accuracy`, both from the training-mode passes.
 * @throws {DivergedError} when the loss or the penalised objective is not finite.
 */
async function trainEpoch(session: Session, epoch: number): Promise<EpochMetrics> {
  const { tf, model, optimizer, variables, nRows } = session;
  const taskKind = session.task.taskKind;
  const batchSize = Math.min(session.task.params.batchSize, nRows);
  const order = Int32Array.from({ length: nRows }, (_, i) => i);
  shuffleInPlace(order, session.shuffle);

  const batchSizes: number[] = [];
  const losses: Scalar[] = [];
  const objectives: Scalar[] = [];
  const predictions: Tensor[] = [];
  try {
    for (let start = 0; start < nRows; start += batchSize) {
      await betweenBatches(session, epoch);
      const size = Math.min(batchSize, nRows - start);
      batchSizes.push(size);
      const objective = tf.tidy(() => {
        // A gather by a small index tensor, not a slice: the wasm backend's slice kernel copies
        // its whole input out of the heap, which made every batch cost O(rows).
        const indices = tf.tensor1d(order.subarray(start, start + size), 'int32');
        const batch = session.inputs.map((input) => tf.gather(input, indices));
        const yBatch = tf.gather(session.y, indices);
        const cost = optimizer.minimize(
          () => {
            const output = asTensor(tf, model.apply(batch.length === 1 ? batch[0]! : batch, { training: true }));
            if (taskKind !== 'regression') predictions.push(tf.keep(output));
            const loss = tf.keep(batchMeanLoss(tf, taskKind, output, yBatch));
            losses.push(loss);
            const penalties = [...model.calculateLosses(), ...(session.penalty ? [session.penalty(batch)] : [])];
            return penalties.reduce<Scalar>((total, penalty) => total.add(penalty), loss);
          },
          true,
          variables,
        );
        if (cost === null) throw new Error('the optimizer returned no loss');
        return cost;
      });
      objectives.push(objective);
    }

    const meanOf = async (values: Scalar[]) => {
      const stacked = tf.stack(values);
      const batchValues = await stacked.data<'float32'>();
      stacked.dispose();
      return batchSizes.reduce((sum, size, b) => sum + size * batchValues[b]!, 0) / nRows;
    };
    const loss = await meanOf(losses);
    const objective = await meanOf(objectives);
    if (!Number.isFinite(loss) || !Number.isFinite(objective)) throw new DivergedError(epoch, Number.isFinite(loss) ? objective : loss);
    if (taskKind === 'regression') return { loss };

    const epochPredictions = tf.concat(predictions);
    const probabilities = await epochPredictions.data<'float32'>();
    epochPredictions.dispose();
    const labels = Float32Array.from(order, (row) => session.labels[row]!);
    const accuracy =
      taskKind === 'binary' ? binaryAccuracy(labels, probabilities) : multiclassAccuracy(labels, probabilities, session.nClasses);
    return { loss, accuracy };
  } finally {
    // Without a penalty an objective is its loss tensor; disposing twice is harmless.
    for (const tensor of [...losses, ...objectives, ...predictions]) tensor.dispose();
  }
}

/** Probability clipping in the cross-entropies, as Keras (and metrics.ts) do. */
const EPSILON = 1e-7;

/** Mean over the batch of each row's loss: cross-entropy for classification, squared error for regression. */
function batchMeanLoss(tf: TensorFlow, task: TaskKind, predictions: Tensor, targets: Tensor): Scalar {
  if (task === 'regression') return predictions.sub(targets).square().mean<Scalar>();
  const p = predictions.clipByValue(EPSILON, 1 - EPSILON);
  if (task === 'multiclass') return targets.mul(p.log()).sum(1).mean<Scalar>().neg();
  return targets
    .mul(p.log())
    .add(tf.scalar(1).sub(targets).mul(tf.scalar(1).sub(p).log()))
    .mean<Scalar>()
    .neg();
}

/** Metrics of the current weights on held-out rows: one inference pass, read once. */
async function evaluateOn(session: Session, held: HeldOut): Promise<Record<string, number>> {
  const predictions = await predictArray(session.model, held.inputs);
  return { ...evaluate(session.task.taskKind, held.y, predictions, session.nClasses), ...held.extraMetrics?.(predictions) };
}

// ───────────────────────────── helpers ─────────────────────────────

function trainableVariables(tf: TensorFlow, model: LayersModel): Variable[] {
  return model.trainableWeights.map((weight) => {
    const value = weight.read();
    if (!(value instanceof tf.Variable)) throw new Error(`weight ${weight.name} is not a variable`);
    return value;
  });
}

function asTensor(tf: TensorFlow, output: ReturnType<LayersModel['apply']>): Tensor {
  if (output instanceof tf.Tensor) return output;
  throw new Error('expected the model to return one concrete tensor');
}

/** Metric names with a prefix; NaN and ±Infinity become null (the protocol's non-finite). */
function prefixed(prefix: string, metrics: Record<string, number>): EpochMetrics {
  return Object.fromEntries(Object.entries(metrics).map(([name, value]) => [`${prefix}${name}`, Number.isFinite(value) ? value : null]));
}
