/**
 * The TensorFlow.js layers trainer: a layers model (an MLP, or a recommendation family's model)
 * trained by our own step rather than `model.fit`. Batches are gathered from tensors that stay on
 * the backend for the whole task, nothing is read back per batch (the epoch's losses are read
 * once), dropout masks and shuffles are seeded, and a snapshot of the weights is one clone per
 * variable (WeightSnapshot), one per slot.
 */
import type { LayersModel, Scalar, Tensor, Tensor2D, Variable } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import type { EpochMetrics } from '../contract/protocol.js';
import type { Params } from '../contract/spec.js';
import type { TaskKind } from '../contract/vocabulary.js';
import { buildModel, countParams, createOptimizer, predictArray, WeightSnapshot, type BuiltModel } from '../models/layers.js';
import { outputHead, type LossKind } from '../models/output-head.js';
import { buildRatingsModel } from '../recsys/models.js';
import { createRng, shuffleInPlace } from '../rng.js';
import { accuracyOf, evaluate } from './metrics.js';
import type { TaskData, TrainerSetup } from './task-data.js';
import { throwIfDiverged, type ModelInput, type Trainer, type WeightSlot } from './types.js';

/** Probability clipping in the cross-entropies, as Keras (and metrics.ts) do. */
const EPSILON = 1e-7;

/**
 * A trainer for the task's layers model: an MLP, or on a ratings table the family's model
 * (recsys/models.ts). Its tensors (model, optimizer, the rows' inputs and targets) live until
 * `dispose`.
 */
export function createLayersTrainer(setup: TrainerSetup): Trainer {
  const { tf, task, data, seeds, pacer } = setup;
  const owned: { dispose(): void }[] = [];
  const own = <T extends { dispose(): void }>(resource: T): T => (owned.push(resource), resource);
  const dispose = () => {
    for (const resource of owned.reverse()) resource.dispose();
    owned.length = 0;
  };
  try {
    const built = buildTaskModel(tf, task.params, task.taskKind, data, seeds.init);
    const model = own(built.model);
    const optimizer = own(createOptimizer(tf, task.params));
    const variables = trainableVariables(tf, model);
    const head = outputHead(task.taskKind, data.nClasses);
    const train = {
      inputs: data.train.inputs.map((input) => own(inputTensor(tf, input, data.train.n))),
      y: own(trainingTargets(tf, head.loss, data.train.y, data.nClasses)),
      labels: data.train.y,
      n: data.train.n,
      /** Each row's weight in the objective ([n] by class, class-weights.ts), or null: all 1. */
      weights: data.classWeights === null ? null : own(tf.tensor1d(data.train.y.map((label) => data.classWeights![label]!))),
    };
    const heldInputs = data.held.inputs.map((input) => own(inputTensor(tf, input, data.held.n)));
    const copies: Record<WeightSlot, WeightSnapshot> = { best: own(new WeightSnapshot(tf)), parked: own(new WeightSnapshot(tf)) };
    const shuffle = createRng(seeds.shuffle);
    const taskKind = task.taskKind;

    /**
     * One pass over the shuffled training rows. Nothing is read back per batch: the tensors the
     * step computes anyway (each batch's loss, objective and predictions) are kept and read once
     * when the epoch ends, so bookkeeping adds no kernels to a step. `loss` leaves out the L2
     * penalty, so that it compares with `val_loss`; it and `accuracy` come from the training-mode passes.
     */
    const trainEpoch = async (epoch: number): Promise<EpochMetrics> => {
      const batchSize = Math.min(task.params.batchSize, train.n);
      const order = Int32Array.from({ length: train.n }, (_, i) => i);
      shuffleInPlace(order, shuffle);

      const batchSizes: number[] = [];
      const losses: Scalar[] = [];
      const objectives: Scalar[] = [];
      const predictions: Tensor[] = [];
      try {
        for (let start = 0; start < train.n; start += batchSize) {
          await pacer.betweenBatches(epoch);
          const size = Math.min(batchSize, train.n - start);
          batchSizes.push(size);
          const objective = tf.tidy(() => {
            // A gather by a small index tensor, not a slice: the wasm backend's slice kernel copies
            // its whole input out of the heap, which made every batch cost O(rows).
            const indices = tf.tensor1d(order.subarray(start, start + size), 'int32');
            const batch = train.inputs.map((input) => tf.gather(input, indices));
            const yBatch = tf.gather(train.y, indices);
            const cost = optimizer.minimize(
              () => {
                const output = asTensor(tf, model.apply(batch.length === 1 ? batch[0]! : batch, { training: true }));
                if (taskKind !== 'regression') predictions.push(tf.keep(output));
                const loss = tf.keep(batchMeanLoss(tf, head.loss, output, yBatch));
                losses.push(loss);
                // Class weights weigh the objective; the loss reported stays unweighted, comparable with val_loss.
                const weighted =
                  train.weights === null ? loss : weightedMeanLoss(tf, head.loss, output, yBatch, tf.gather(train.weights, indices));
                const penalties = [...model.calculateLosses(), ...(built.penalty ? [built.penalty(batch)] : [])];
                return penalties.reduce<Scalar>((total, penalty) => total.add(penalty), weighted);
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
          return batchSizes.reduce((sum, size, b) => sum + size * batchValues[b]!, 0) / train.n;
        };
        const loss = await meanOf(losses);
        throwIfDiverged(epoch, [loss, await meanOf(objectives)]);
        if (taskKind === 'regression') return { loss };

        const epochPredictions = tf.concat(predictions);
        const probabilities = await epochPredictions.data<'float32'>();
        epochPredictions.dispose();
        const labels = Float32Array.from(order, (row) => train.labels[row]!);
        return { loss, accuracy: accuracyOf(taskKind, labels, probabilities, data.nClasses) };
      } finally {
        // Without a penalty an objective is its loss tensor; disposing twice is harmless.
        for (const tensor of [...losses, ...objectives, ...predictions]) tensor.dispose();
      }
    };

    return {
      paramCount: countParams(model),
      trainEpoch,
      // One inference pass, read once.
      evaluate: async () => {
        const predictions = await predictArray(model, heldInputs);
        return { ...evaluate(taskKind, data.held.y, predictions, data.nClasses), ...data.ratings?.heldMetrics(predictions) };
      },
      heldPredictions: () => predictArray(model, heldInputs),
      snapshot: (slot = 'best') => copies[slot].take(model),
      restore: (slot = 'best') => copies[slot].restoreInto(model),
      savedModel: async () => model,
      dispose,
    };
  } catch (error) {
    dispose();
    throw error;
  }
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

/** Targets as the loss wants them: one-hot rows for the categorical cross-entropy, a column otherwise. */
function trainingTargets(tf: TensorFlow, loss: LossKind, y: Float32Array, nClasses: number): Tensor2D {
  if (loss !== 'categorical_crossentropy') return tf.tensor2d(y, [y.length, 1]);
  return tf.tidy(() =>
    tf
      .oneHot(tf.tensor1d(Int32Array.from(y), 'int32'), nClasses)
      .toFloat()
      .as2D(y.length, nClasses),
  );
}

/** Mean over the batch of each row's loss (output-head.ts): a cross-entropy of clipped probabilities, or the squared error. */
function batchMeanLoss(tf: TensorFlow, loss: LossKind, predictions: Tensor, targets: Tensor): Scalar {
  if (loss === 'mean_squared_error') return predictions.sub(targets).square().mean<Scalar>();
  const p = predictions.clipByValue(EPSILON, 1 - EPSILON);
  if (loss === 'categorical_crossentropy') return targets.mul(p.log()).sum(1).mean<Scalar>().neg();
  return targets
    .mul(p.log())
    .add(tf.scalar(1).sub(targets).mul(tf.scalar(1).sub(p).log()))
    .mean<Scalar>()
    .neg();
}

/** Σ over the batch of each row's cross-entropy times its weight (`weights`: [b]), over the batch size, as Keras's class_weight. */
function weightedMeanLoss(tf: TensorFlow, loss: LossKind, predictions: Tensor, targets: Tensor, weights: Tensor): Scalar {
  if (loss === 'mean_squared_error') throw new Error('class weights apply to classification losses only');
  const p = predictions.clipByValue(EPSILON, 1 - EPSILON);
  const perRow =
    loss === 'categorical_crossentropy'
      ? targets.mul(p.log()).sum(1)
      : targets
          .mul(p.log())
          .add(tf.scalar(1).sub(targets).mul(tf.scalar(1).sub(p).log()))
          .reshape([-1]);
  return perRow.mul(weights).mean<Scalar>().neg();
}

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
