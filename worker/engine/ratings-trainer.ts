/**
 * The ratings engine (ratings-engine.ts) as a `Trainer`, for `mf` and `ncf` on a ratings table:
 * the layers trainer's per-epoch metrics (`loss` on the training ratings, the held-out
 * regression metrics and the ratings' extra ones), `DivergedError` when the loss, the objective
 * or a parameter stops being finite, abort at the next batch, the same initial weights and
 * shuffles as the layers trainer, no tensor left behind. A refit is copied into the layers model
 * of recsys/models.ts, which scores the test ratings and is saved as before.
 *
 * `runTask` (training/run-task.ts) picks the fast engines for ratings when `usesRecsysEngine`:
 * this trainer for `mf` and `ncf`, the MLP engine's for `mlp` on the side features.
 * `FOLDWISE_RECSYS_ENGINE=layers` forces the layers trainer for every family on ratings.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import type { EpochMetrics, Task } from '../contract/protocol.js';
import { countParams, predictArray } from '../models/layers.js';
import { buildRatingsModel, ratingsInputs } from '../recsys/models.js';
import { USER_PREFIX } from '../recsys/ratings-table.js';
import { createRng, shuffledRows } from '../rng.js';
import { evaluate } from '../training/metrics.js';
import type { TrainerSetup } from '../training/task-data.js';
import { throwIfDiverged, type ModelRows, type Trainer } from '../training/types.js';
import { engineChoice, usesFastEngine } from './engine-trainer.js';
import {
  EMBEDDING_STEPS,
  type EmbeddingSteps,
  ratingsArchitectureFor,
  RatingsEngine,
  ratingsUnsupportedReason,
  sideFeatures,
  type LayerWeights,
  type RatingsHyperparameters,
  type RatingsRows,
} from './ratings-engine.js';

/** `fast` (default): the fast engines train every ratings run they support; `layers`: always the layers trainer. */
export const RECSYS_ENGINE_ENV_VAR = 'FOLDWISE_RECSYS_ENGINE';

/**
 * How the ratings engine's Adam and RMSprop step the embedding tables (ratings-engine.ts
 * `EmbeddingSteps`): `lazy` (default), the rows each batch touched; `exact`, every row at every
 * step, as the layers path does.
 */
export const EMBEDDING_STEPS_ENV_VAR = 'FOLDWISE_EMBEDDING_STEPS';

/** The embedding steps FOLDWISE_EMBEDDING_STEPS asks for. @throws {Error} on a value other than "exact" or "lazy". */
export function embeddingStepsChoice(): EmbeddingSteps {
  const value = process.env[EMBEDDING_STEPS_ENV_VAR]?.trim() ?? '';
  if (value === '') return 'lazy';
  const steps = EMBEDDING_STEPS.find((name) => name === value);
  if (steps === undefined) throw new Error(`${EMBEDDING_STEPS_ENV_VAR} must be "exact" or "lazy"; got "${value}"`);
  return steps;
}

/**
 * Whether `runTask` should train `task`, on a ratings table, with a fast engine (on `tf`'s
 * current backend, when given): `mf` and `ncf` with this trainer, `mlp` with the MLP engine's
 * (which FOLDWISE_MLP_ENGINE=layers opts out of too).
 * @throws {Error} on a bad FOLDWISE_RECSYS_ENGINE or FOLDWISE_MLP_ENGINE.
 */
export function usesRecsysEngine(task: Pick<Task, 'params'>, tf?: TensorFlow): boolean {
  if (engineChoice(RECSYS_ENGINE_ENV_VAR) === 'layers') return false;
  if (task.params.family === 'mlp') return usesFastEngine(task, tf);
  return ratingsUnsupportedReason(task.params, tf) === null;
}

/**
 * A trainer for one prepared `mf` or `ncf` task on the engine. Its initial weights are those of
 * the layers model built from the init seed, which it keeps to save a refit in.
 * @throws {Error} when the task's data is not a ratings table.
 */
export function createRatingsTrainer(setup: TrainerSetup): Trainer {
  const { tf, task, data, seeds, pacer } = setup;
  const ratings = data.ratings;
  if (ratings === undefined) throw new Error(`family ${task.params.family} needs a ratings dataset (kind ratings or movielens)`);
  const { params } = task;
  const trainRows = ratingsRows(data.train, params.family, ratings.shape.nFeatures);
  const userWidth = data.encoding.featureNames.filter((name) => name.startsWith(`${USER_PREFIX}.`)).length;
  const rows = { ...trainRows, sides: sideFeatures(trainRows, userWidth, ratings.shape.userRows, ratings.shape.itemRows) };
  const heldRows = ratingsRows(data.held, params.family, ratings.shape.nFeatures);
  const { model } = buildRatingsModel(tf, params, ratings.shape, seeds.init);
  let engine: RatingsEngine | null = null;
  const dispose = () => {
    engine?.dispose();
    model.dispose();
  };
  try {
    const hyper: RatingsHyperparameters = {
      optimizer: params.optimizer,
      learningRate: params.learningRate,
      l2: params.l2,
      dropout: params.dropout,
      embeddingSteps: embeddingStepsChoice(),
    };
    const trained = RatingsEngine.create(tf, ratingsArchitectureFor(params, ratings.shape), hyper, readLayerWeights(model), {
      seed: seeds.dropout,
    });
    engine = trained;
    const shuffle = createRng(seeds.shuffle);
    /** Whether the layers model lags behind the engine's weights. */
    let modelIsStale = true;
    const savedModel = async (): Promise<LayersModel> => {
      if (modelIsStale) writeLayerWeights(tf, model, await trained.layerWeights());
      modelIsStale = false;
      return model;
    };
    const heldPredictions = async (): Promise<Float32Array> => {
      if (task.kind === 'search') return trained.predict(heldRows);
      // A refit's test ratings are scored by the model it saves, so that predicting from its
      // files reproduces the test score exactly (the engine sums in another order).
      const testModel = await savedModel();
      const inputs = data.held.inputs.map((input) =>
        tf.tensor2d(input.values, [data.held.n, input.width], input.values instanceof Int32Array ? 'int32' : 'float32'),
      );
      return predictArray(testModel, inputs).finally(() => {
        for (const input of inputs) input.dispose();
      });
    };
    const metricsOf = (predictions: Float32Array) => ({
      ...evaluate('regression', data.held.y, predictions, 1),
      ...ratings.heldMetrics(predictions),
    });

    return {
      paramCount: countParams(model),
      // The layers trainer's shuffle stream; the loss is that of each batch before its step.
      trainEpoch: async (epoch: number): Promise<EpochMetrics> => {
        const order = shuffledRows(rows.n, shuffle);
        modelIsStale = true;
        const { loss, objective } = await trained.trainEpoch(rows, order, params.batchSize, () => pacer.betweenBatches(epoch));
        throwIfDiverged(epoch, [loss, objective, trained.parameterSumOfSquares()]);
        return { loss };
      },
      evaluate: async () => metricsOf(await heldPredictions()),
      heldPredictions,
      snapshot: (slot) => trained.snapshot(slot),
      restore: (slot) => {
        modelIsStale = true;
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

/** A ratings model's rows as the engine reads them, from its inputs in `ratingsInputs` order. */
export function ratingsRows(rows: ModelRows, family: Task['params']['family'], nFeatures: number): RatingsRows {
  const names = ratingsInputs(family, nFeatures);
  const input = (name: 'user' | 'item' | 'features') => rows.inputs[names.indexOf(name)]?.values;
  const users = input('user');
  const items = input('item');
  const features = input('features') ?? null;
  if (!(users instanceof Int32Array) || !(items instanceof Int32Array) || (features !== null && !(features instanceof Float32Array)))
    throw new Error('the ratings engine takes int32 user and item indices and float32 side features');
  return { users, items, features, y: rows.y, n: rows.n };
}

/** Every layer's weights by name (copies), as `RatingsEngine.create` starts from. */
export function readLayerWeights(model: LayersModel): LayerWeights {
  return new Map(model.layers.map((layer) => [layer.name, layer.getWeights().map((weight) => weight.dataSync() as Float32Array)]));
}

/** Writes the engine's weights into the layers model's layers of the same names. */
export function writeLayerWeights(tf: TensorFlow, model: LayersModel, weights: LayerWeights): void {
  tf.tidy(() => {
    for (const [name, values] of weights) {
      const layer = model.getLayer(name);
      const shapes = layer.getWeights().map((weight) => weight.shape);
      layer.setWeights(values.map((value, w) => tf.tensor(value, shapes[w])));
    }
  });
}
