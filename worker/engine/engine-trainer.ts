/**
 * The fast engine (mlp-engine.ts) as a `Trainer`, for the `mlp` family on tabular data and on a
 * ratings table's side features (ratings-trainer.ts decides for ratings): the
 * same per-epoch metrics as the layers trainer, `DivergedError` on a non-finite loss, abort at
 * the next batch, seeded determinism (the same initial weights and shuffles as the layers
 * trainer, seeded dropout), no tensor left behind. A refit is copied into the layers model of
 * models/layers.ts, which scores the test rows and is saved as before.
 *
 * `runTask` (training/run-task.ts) picks this trainer when `usesFastEngine(task, tf)`;
 * `FOLDWISE_MLP_ENGINE=layers` forces the layers trainer (benchmarks, comparisons).
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import type { EpochMetrics, Task } from '../contract/protocol.js';
import { buildModel, hiddenWidths, predictArray } from '../models/layers.js';
import { outputHead } from '../models/output-head.js';
import { buildRatingsModel } from '../recsys/models.js';
import { gather } from '../data/preprocess.js';
import { createRng, shuffledRows } from '../rng.js';
import { accuracyOf, evaluate, meanLoss } from '../training/metrics.js';
import type { TrainerSetup } from '../training/task-data.js';
import { throwIfDiverged, type ModelRows, type Trainer } from '../training/types.js';
import {
  MlpEngine,
  unsupportedReason,
  type DenseWeights,
  type MlpArchitecture,
  type MlpHyperparameters,
  type TrainingRows,
  type UploadedInputs,
} from './mlp-engine.js';

/** `fast` (default): the engine trains every `mlp` task it supports; `layers`: always the layers trainer. */
export const MLP_ENGINE_ENV_VAR = 'FOLDWISE_MLP_ENGINE';

/**
 * Whether `runTask` should train `task` with the fast engine (on `tf`'s current backend, when
 * given). @throws {Error} on a bad FOLDWISE_MLP_ENGINE.
 */
export function usesFastEngine(task: Pick<Task, 'params'>, tf?: TensorFlow): boolean {
  return engineChoice(MLP_ENGINE_ENV_VAR) === 'fast' && unsupportedReason(task.params, tf) === null;
}

/**
 * What an engine switch in the environment asks for: `fast` when unset.
 * @throws {Error} on a value other than "fast" or "layers".
 */
export function engineChoice(envVar: string): 'fast' | 'layers' {
  const forced = process.env[envVar]?.trim() ?? '';
  if (forced === '' || forced === 'fast') return 'fast';
  if (forced === 'layers') return 'layers';
  throw new Error(`${envVar} must be "fast" or "layers"; got "${forced}"`);
}

/**
 * A trainer for one prepared `mlp` task on the engine. Its initial weights are those of the
 * layers model built from the init seed (on ratings, recsys/models.ts's: the output bias starts
 * at μ), which it keeps to save a refit in.
 */
export function createEngineTrainer(setup: TrainerSetup): Trainer {
  const { tf, task, data, seeds, pacer } = setup;
  const rows = featureRows(data.train);
  const heldRows = featureRows(data.held);
  const nInputs = data.train.inputs[0]!.width;
  const taskKind = task.taskKind;
  const head = outputHead(taskKind, data.nClasses);
  const model =
    data.ratings === undefined
      ? buildModel(tf, task.params, nInputs, taskKind, data.nClasses, seeds.init)
      : buildRatingsModel(tf, task.params, data.ratings.shape, seeds.init).model;
  const metricsOf = (predictions: Float32Array) => ({
    ...evaluate(taskKind, heldRows.y, predictions, data.nClasses),
    ...data.ratings?.heldMetrics(predictions),
  });
  let engine: MlpEngine | null = null;
  let held: UploadedInputs | null = null;
  const dispose = () => {
    for (const tensor of held?.chunks ?? []) tensor.dispose();
    held = null;
    engine?.dispose();
    model.dispose();
  };
  try {
    const trained = MlpEngine.create(tf, architectureFor(task, nInputs, data.nClasses), hyperparametersOf(task), readDenseWeights(model), {
      seed: seeds.dropout,
      classWeights: data.classWeights,
    });
    engine = trained;
    // A search's validation rows are uploaded once and scored by the engine every epoch; a
    // refit's test rows are scored once, by the layers model that is saved (`evaluate`).
    held = task.kind === 'search' ? trained.uploadInputs(heldRows.x, heldRows.n) : null;
    const uploaded = held;
    const shuffle = createRng(seeds.shuffle);
    /** Whether the layers model lags behind the engine's weights. */
    let modelIsStale = true;
    /** The validation predictions of the current weights, once scored: the loop's last epoch's serve the out-of-fold predictions too. */
    let heldOfWeights: Float32Array | null = null;
    const weightsChanged = () => {
      modelIsStale = true;
      heldOfWeights = null;
    };
    const savedModel = async (): Promise<LayersModel> => {
      if (modelIsStale) writeDenseWeights(tf, model, await trained.denseWeights());
      modelIsStale = false;
      return model;
    };
    const heldPredictions = async (): Promise<Float32Array> => {
      if (uploaded !== null) return (heldOfWeights ??= await trained.predictUploaded(uploaded));
      // Scored by the model a refit saves, so that predicting from its files reproduces the test
      // score exactly (the engine's own forward pass differs in the last bits: biases via a ones column).
      const testModel = await savedModel();
      const testX = tf.tensor2d(heldRows.x, [heldRows.n, nInputs]);
      return predictArray(testModel, testX).finally(() => testX.dispose());
    };

    return {
      paramCount: trained.paramCount,
      // The same shuffle stream as the layers trainer; the loss is that of the training-mode
      // predictions, without the L2 penalty, and the penalised objective and every parameter
      // must stay finite too.
      trainEpoch: async (epoch: number): Promise<EpochMetrics> => {
        const order = shuffledRows(rows.n, shuffle);
        weightsChanged();
        const predictions = await trained.trainEpoch(rows, order, task.params.batchSize, () => pacer.betweenBatches(epoch));
        const labels = gather(rows.y, order);
        const loss = meanLoss(head.loss, labels, predictions, data.nClasses);
        const { sumOfSquares, penalty } = trained.parameterNorms();
        throwIfDiverged(epoch, [loss, loss + penalty, sumOfSquares]);
        if (taskKind === 'regression') return { loss };
        return { loss, accuracy: accuracyOf(taskKind, labels, predictions, data.nClasses) };
      },
      evaluate: async () => metricsOf(await heldPredictions()),
      heldPredictions,
      snapshot: (slot) => trained.snapshot(slot),
      restore: (slot) => {
        weightsChanged();
        return trained.restoreSnapshot(slot);
      },
      savedModel,
      dispose,
    };
  } catch (error) {
    dispose();
    throw error;
  }
}

/** The features matrix of an MLP's rows. */
function featureRows(rows: ModelRows): TrainingRows {
  const input = rows.inputs[0];
  if (rows.inputs.length !== 1 || input === undefined || !(input.values instanceof Float32Array))
    throw new Error('the MLP engine takes one float32 features input');
  return { x: input.values, y: rows.y, n: rows.n };
}

/** The engine's view of a task's network: the layers model's architecture (models/layers.ts, output-head.ts). */
export function architectureFor(task: Pick<Task, 'params' | 'taskKind'>, nInputs: number, nClasses: number): MlpArchitecture {
  const { params } = task;
  const reason = unsupportedReason(params);
  if (reason !== null) throw new Error(`the MLP engine cannot train this run: ${reason}`);
  const head = outputHead(task.taskKind, nClasses);
  return { nInputs, hidden: hiddenWidths(params), nOutputs: head.units, activation: params.activation, output: head.activation };
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
