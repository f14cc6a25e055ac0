/**
 * One `mlp` task trained by the fast engine (mlp-engine.ts) instead of the layers-model loop of
 * train.ts, with the same contract: the same per-epoch metrics, early stopping with restore of
 * the best epoch, `DivergedError` on a non-finite loss, abort at the next batch, seeded
 * determinism (same initial weights and shuffles as the layers loop, seeded dropout), no tensor
 * left behind; a refit is copied into the layers model of models.ts and saved as before.
 *
 * `runTask` (train.ts) calls `runMlpEngineTask` after loading and splitting the data when
 * `usesFastEngine(task, tf)`; `FOLDWISE_MLP_ENGINE=layers` forces the layers loop (benchmarks,
 * comparisons).
 */
import { betweenBatches, epochBoundary, throwIfAborted } from '../training/pacing.js';
import type { LayersModel } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import type { Encoding, Table } from '../data/datasets.js';
import { createBestEpochTracker } from '../training/early-stopping.js';
import { binaryAccuracy, binaryLogLoss, categoricalLogLoss, evaluate, mse, multiclassAccuracy } from '../training/metrics.js';
import { describePreprocessing, saveModel } from '../models/model-files.js';
import { buildModel, hiddenWidths, predictArray } from '../models/layers.js';
import type { Standardizer } from '../data/preprocess.js';
import type { EpochMetrics, Task, TaskResult } from '../contract/protocol.js';
import { createRng, deriveSeed, shuffleInPlace, type Rng } from '../rng.js';
import { TASK_METRICS, type TaskKind } from '../contract/spec.js';
import { DivergedError, type EpochListener, type ModelInput, type TrainingContext } from '../training/run-task.js';
import {
  MlpEngine,
  unsupportedReason,
  type DenseWeights,
  type MlpArchitecture,
  type MlpHyperparameters,
  type TrainingRows,
  type UploadedInputs,
} from './mlp-engine.js';

/** `fast` (default): the engine trains every `mlp` task it supports; `layers`: always the layers-model loop. */
export const MLP_ENGINE_ENV_VAR = 'FOLDWISE_MLP_ENGINE';

/**
 * Whether `runTask` should train `task` with the fast engine (on `tf`'s current backend, when
 * given). @throws {Error} on a bad FOLDWISE_MLP_ENGINE.
 */
export function usesFastEngine(task: Pick<Task, 'params'>, tf?: TensorFlow): boolean {
  const forced = process.env[MLP_ENGINE_ENV_VAR]?.trim() ?? '';
  if (forced === 'layers') return false;
  if (forced !== '' && forced !== 'fast') throw new Error(`${MLP_ENGINE_ENV_VAR} must be "fast" or "layers"; got "${forced}"`);
  return unsupportedReason(task.params, tf) === null;
}

/** The rows of one task as train.ts prepares them: one standardised features input, labels. */
export type EngineRows = { readonly inputs: readonly ModelInput[]; readonly y: Float32Array; readonly n: number };
export type EngineTaskData = {
  readonly train: EngineRows;
  /** Validation rows (search) or test rows (refit). */
  readonly held: EngineRows;
  readonly encoding: Encoding;
  readonly standardizer: Standardizer;
  readonly nClasses: number;
};

/** The features matrix of an MLP's rows. */
function featureRows(rows: EngineRows): TrainingRows {
  const input = rows.inputs[0];
  if (rows.inputs.length !== 1 || input === undefined || !(input.values instanceof Float32Array))
    throw new Error('the MLP engine takes one float32 features input');
  return { x: input.values, y: rows.y, n: rows.n };
}

/**
 * Trains one prepared task with the engine; see `runTask` for the contract.
 * @param seed the task's seed (train.ts's `taskSeed`): initial weights and shuffles are derived
 *   from it exactly as in the layers loop.
 */
export async function runMlpEngineTask(
  task: Task,
  ctx: TrainingContext,
  table: Table,
  data: EngineTaskData,
  seed: number,
  onEpoch: EpochListener,
  signal?: AbortSignal,
): Promise<TaskResult> {
  const { tf } = ctx;
  throwIfAborted(signal, task);
  const train = featureRows(data.train);
  const heldRows = featureRows(data.held);
  const nInputs = data.train.inputs[0]!.width;
  const model = buildModel(tf, task.params, nInputs, task.taskKind, data.nClasses, deriveSeed(seed, 'init'));
  let engine: MlpEngine | null = null;
  let held: UploadedInputs | null = null;
  try {
    if (data.held.n === 0)
      throw new Error(task.kind === 'search' ? `fold ${task.foldIndex} has no validation rows` : 'the test split has no rows');
    engine = MlpEngine.create(tf, architectureFor(task, nInputs, data.nClasses), hyperparametersOf(task), readDenseWeights(model), {
      seed: deriveSeed(seed, 'dropout'),
    });
    // Validation rows are uploaded once and scored by the engine every epoch; a refit's test
    // rows are scored once, by the layers model that is saved (below).
    held = task.kind === 'search' ? engine.uploadInputs(heldRows.x, heldRows.n) : null;
    const session: Session = {
      tf,
      task,
      engine,
      rows: train,
      heldY: heldRows.y,
      held,
      nClasses: data.nClasses,
      shuffle: createRng(deriveSeed(seed, 'shuffle')),
      signal,
      lastYieldAt: performance.now(),
    };
    if (task.kind === 'search') return await trainSearch(session, onEpoch);

    const trained = await trainRefit(session, onEpoch);
    writeDenseWeights(tf, model, await engine.denseWeights());
    // Scored by the model about to be saved, so that predicting from its files reproduces the
    // test score exactly (the engine's own forward pass differs in the last bits: biases via a
    // ones column).
    const testX = tf.tensor2d(heldRows.x, [heldRows.n, nInputs]);
    const testPredictions = await predictArray(model, testX).finally(() => testX.dispose());
    const result: TaskResult = {
      ...trained,
      testMetrics: prefixed('test_', evaluate(task.taskKind, heldRows.y, testPredictions, data.nClasses)),
    };
    const preprocessing = describePreprocessing({
      task: task.taskKind,
      encoding: data.encoding,
      standardizer: data.standardizer,
      classes: table.encoding.classes,
      params: task.params,
      backend: ctx.backend,
      seed: task.spec.seed,
    });
    if (task.refit === undefined) throw new Error(`refit task ${task.taskId} has no refit settings (epochs, modelDir)`);
    await saveModel(tf, model, task.refit.modelDir, preprocessing);
    return result;
  } finally {
    for (const tensor of held?.chunks ?? []) tensor.dispose();
    engine?.dispose();
    model.dispose();
  }
}

/** The engine's view of a task's network: the layers model's architecture (models.ts). */
export function architectureFor(task: Pick<Task, 'params' | 'taskKind'>, nInputs: number, nClasses: number): MlpArchitecture {
  const { params } = task;
  const reason = unsupportedReason(params);
  if (reason !== null) throw new Error(`the MLP engine cannot train this run: ${reason}`);
  return {
    nInputs,
    hidden: hiddenWidths(params),
    nOutputs: task.taskKind === 'multiclass' ? nClasses : 1,
    activation: params.activation,
    output: task.taskKind === 'binary' ? 'sigmoid' : task.taskKind === 'multiclass' ? 'softmax' : 'linear',
  };
}

export function hyperparametersOf(task: Pick<Task, 'params'>): MlpHyperparameters {
  const { optimizer, learningRate, l2, dropout } = task.params;
  return { optimizer, learningRate, l2, dropout };
}

/** The dense layers' weights of a layers model, input to output (dropout layers have none). */
export function readDenseWeights(model: LayersModel): DenseWeights[] {
  const weights = model.getWeights();
  const layers: DenseWeights[] = [];
  for (let i = 0; i < weights.length; i += 2) {
    layers.push({ kernel: weights[i]!.dataSync() as Float32Array, bias: weights[i + 1]!.dataSync() as Float32Array });
  }
  return layers;
}

/** Copies the engine's weights into the layers model (whose shapes they must have). */
export function writeDenseWeights(tf: TensorFlow, model: LayersModel, layers: readonly DenseWeights[]): void {
  const shapes = model.getWeights().map((weight) => weight.shape);
  tf.tidy(() => {
    model.setWeights(layers.flatMap((layer, l) => [tf.tensor(layer.kernel, shapes[2 * l]), tf.tensor(layer.bias, shapes[2 * l + 1])]));
  });
}

// ───────────────────────────── training ─────────────────────────────

type Session = {
  readonly tf: TensorFlow;
  readonly task: Task;
  readonly engine: MlpEngine;
  readonly rows: TrainingRows;
  /** Held-out labels and (search) the held-out features uploaded once. */
  readonly heldY: Float32Array;
  readonly held: UploadedInputs | null;
  readonly nClasses: number;
  readonly shuffle: Rng;
  readonly signal: AbortSignal | undefined;
  lastYieldAt: number;
};

async function trainSearch(session: Session, onEpoch: EpochListener): Promise<TaskResult> {
  const { task, engine } = session;
  const { epochs } = task.params;
  const earlyStopping = task.spec.validation.earlyStopping;
  const tracker = earlyStopping === undefined ? null : createBestEpochTracker(earlyStopping);
  if (tracker !== null) checkMonitor(tracker.monitor, task.taskKind);
  const restoreBest = earlyStopping?.restoreBestWeights ?? false;

  let bestMetrics: EpochMetrics = {};
  let lastMetrics: EpochMetrics = {};
  let stoppedEpoch = 0;
  let stoppedByRequest = false;
  const startedAt = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    stoppedEpoch = epoch;
    const trainMetrics = await trainEpoch(session, epoch);
    lastMetrics = prefixed('val_', await evaluateHeld(session));
    await epochBoundary(session, epoch);
    stoppedByRequest = onEpoch(epoch, { ...trainMetrics, ...lastMetrics }) === 'stop';
    const verdict = tracker?.update(epoch, lastMetrics[tracker.monitor] ?? null);
    if (verdict === 'improved') {
      bestMetrics = lastMetrics;
      if (restoreBest) engine.snapshot();
    }
    if (stoppedByRequest || verdict === 'stop') break;
  }
  const result = {
    stoppedEpoch,
    paramCount: engine.paramCount,
    trainMs: performance.now() - startedAt,
    ...(stoppedByRequest ? { stoppedByRequest } : {}),
  };
  const bestEpoch = tracker?.bestEpoch;
  // Restore even when training ran to `epochs` without stopping (the Keras bug #12511).
  if (restoreBest && bestEpoch != null && bestEpoch !== stoppedEpoch && engine.restoreSnapshot()) {
    return { ...result, bestEpoch, bestMetrics };
  }
  return { ...result, bestEpoch: stoppedEpoch, bestMetrics: lastMetrics };
}

async function trainRefit(session: Session, onEpoch: EpochListener): Promise<TaskResult> {
  const epochs = session.task.refit?.epochs;
  if (epochs === undefined) throw new Error(`refit task ${session.task.taskId} has no refit settings (epochs, modelDir)`);
  const startedAt = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const metrics = await trainEpoch(session, epoch);
    await epochBoundary(session, epoch);
    onEpoch(epoch, metrics);
  }
  const trainMs = performance.now() - startedAt;
  return { bestEpoch: epochs - 1, stoppedEpoch: epochs - 1, bestMetrics: {}, paramCount: session.engine.paramCount, trainMs };
}

/**
 * One pass over the shuffled training rows (the same shuffle stream as the layers loop).
 * @returns `loss` (mean training loss of the training-mode predictions, without the L2 penalty)
 *   and, for classification, `accuracy`.
 * @throws {DivergedError} when the loss, the loss plus the L2 penalty, or any parameter is not finite.
 */
async function trainEpoch(session: Session, epoch: number): Promise<EpochMetrics> {
  const { engine, rows, nClasses } = session;
  const taskKind = session.task.taskKind;
  const order = Int32Array.from({ length: rows.n }, (_, i) => i);
  shuffleInPlace(order, session.shuffle);
  const predictions = await engine.trainEpoch(rows, order, session.task.params.batchSize, () => betweenBatches(session, epoch));
  const labels = Float32Array.from(order, (row) => rows.y[row]!);
  const loss =
    taskKind === 'binary'
      ? binaryLogLoss(labels, predictions)
      : taskKind === 'multiclass'
        ? categoricalLogLoss(labels, predictions, nClasses)
        : mse(labels, predictions);
  const { sumOfSquares, penalty } = engine.parameterNorms();
  const objective = loss + penalty;
  if (!Number.isFinite(loss) || !Number.isFinite(objective) || !Number.isFinite(sumOfSquares)) {
    throw new DivergedError(epoch, !Number.isFinite(loss) ? loss : !Number.isFinite(objective) ? objective : sumOfSquares);
  }
  if (taskKind === 'regression') return { loss };
  const accuracy = taskKind === 'binary' ? binaryAccuracy(labels, predictions) : multiclassAccuracy(labels, predictions, nClasses);
  return { loss, accuracy };
}

/** Metrics of the current weights on the held-out rows: one inference pass, read once. */
async function evaluateHeld(session: Session): Promise<Record<string, number>> {
  if (session.held === null) throw new Error('no held-out rows were uploaded');
  return evaluate(session.task.taskKind, session.heldY, await session.engine.predictUploaded(session.held), session.nClasses);
}

function checkMonitor(monitor: string, task: TaskKind): void {
  const recorded = TASK_METRICS[task].map((name) => `val_${name}`);
  if (!recorded.includes(monitor))
    throw new Error(`early stopping monitors "${monitor}", but a ${task} task records ${recorded.join(', ')}`);
}

function prefixed(prefix: string, metrics: Record<string, number>): EpochMetrics {
  return Object.fromEntries(Object.entries(metrics).map(([name, value]) => [`${prefix}${name}`, Number.isFinite(value) ? value : null]));
}
