/**
 * Models and optimizers built from a run's hyperparameters.
 */
import type { LayersModel, Optimizer, Scalar, Sequential, Tensor, Tensor2D } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import { createRng, deriveSeed, type Rng } from '../rng.js';
import type { Params } from '../contract/spec.js';
import type { TaskKind } from '../contract/vocabulary.js';
import { outputHead, type OutputActivation } from './output-head.js';

/**
 * Units of each hidden layer: `width` every time (`constant`), or halved per layer (`halve`,
 * e.g. 128-64-32), never below one unit.
 */
export function hiddenWidths(params: Pick<Params, 'depth' | 'width' | 'widthSchedule'>): number[] {
  return Array.from({ length: params.depth }, (_, i) =>
    params.widthSchedule === 'halve' ? Math.max(1, Math.floor(params.width / 2 ** i)) : params.width,
  );
}

/**
 * Builds the MLP a run trains: `depth` dense hidden layers (see `hiddenWidths`) with
 * `activation`, dropout after each when `dropout > 0`, an L2 kernel penalty when `l2 > 0`, and
 * the task's output layer (output-head.ts): 1 sigmoid unit (binary), `nClasses` softmax units
 * (multiclass) or 1 linear unit (regression). Weights use Glorot-uniform initialisers seeded from `seed`,
 * so the same seed gives the same initial weights; dropout masks are seeded too.
 * @param nInputs number of encoded features.
 * @param nClasses number of classes (ignored for binary and regression).
 * @param options.outputBias initial bias of a regression output (default 0); a ratings model
 *   starts at the training mean rating instead of spending its first epochs getting there.
 */
export function buildModel(
  tf: TensorFlow,
  params: Params,
  nInputs: number,
  task: TaskKind,
  nClasses: number,
  seed: number,
  options: { readonly outputBias?: number } = {},
): Sequential {
  const model = tf.sequential();
  const kernelRegularizer = params.l2 > 0 ? tf.regularizers.l2({ l2: params.l2 }) : undefined;
  // One seed per layer: with a shared seed, equal-shaped layers would start with equal weights.
  const dense = (name: string, units: number, activation: Params['activation'] | OutputActivation, inputShape?: number[], bias = 0) =>
    tf.layers.dense({
      name,
      units,
      activation,
      inputShape,
      kernelRegularizer,
      kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, `init/${name}`) }),
      biasInitializer: bias === 0 ? 'zeros' : tf.initializers.constant({ value: bias }),
    });

  hiddenWidths(params).forEach((units, i) => {
    model.add(dense(`hidden_${i + 1}`, units, params.activation, i === 0 ? [nInputs] : undefined));
    if (params.dropout > 0)
      model.add(createSeededDropout(tf, { name: `dropout_${i + 1}`, rate: params.dropout, seed: deriveSeed(seed, `dropout/${i + 1}`) }));
  });
  const head = outputHead(task, nClasses);
  const inputShape = params.depth === 0 ? [nInputs] : undefined;
  model.add(dense('output', head.units, head.activation, inputShape, task === 'regression' ? (options.outputBias ?? 0) : 0));
  return model;
}

/**
 * A model as a task trains it: the network, and a term added to each batch's objective beyond
 * the layers' own regularisers (the recommendation families' per-rating embedding penalty), or
 * null. The term gets the batch's model inputs.
 */
export type BuiltModel = { readonly model: LayersModel; readonly penalty: ((inputs: readonly Tensor[]) => Scalar) | null };

/** Number of trainable and non-trainable weights (scalars) in a model. */
export function countParams(model: LayersModel): number {
  return model.countParams();
}

/** Rows per forward pass at inference: big enough that a validation set is one or two passes. */
export const PREDICT_BATCH_SIZE = 8192;

/**
 * Inference (dropout off) on a whole matrix (or one matrix per input of a multi-input model),
 * read back to JavaScript once.
 * @returns binary: n probabilities of class 1; multiclass: n × C probabilities, row-major;
 *   regression: n values.
 */
export async function predictArray(model: LayersModel, x: Tensor2D | readonly Tensor2D[]): Promise<Float32Array> {
  // A model with several inputs (the recommendation families) takes one tensor per input.
  const inputs = 'rank' in x ? x : x.length === 1 ? x[0]! : [...x];
  const rows = 'rank' in inputs ? inputs.shape[0] : inputs[0]?.shape[0];
  if (rows === undefined || rows === 0) return new Float32Array(0);
  const output = model.predict(inputs, { batchSize: PREDICT_BATCH_SIZE });
  if (Array.isArray(output)) throw new Error(`expected a single-output model, got ${output.length} outputs`);
  try {
    return await output.data<'float32'>();
  } finally {
    output.dispose();
  }
}

/** The optimizer named in `params`, with its learning rate and TensorFlow.js's other defaults. */
export function createOptimizer(tf: TensorFlow, params: Pick<Params, 'optimizer' | 'learningRate'>): Optimizer {
  switch (params.optimizer) {
    case 'adam':
      return tf.train.adam(params.learningRate);
    case 'sgd':
      return tf.train.sgd(params.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(params.learningRate);
    case 'adagrad':
      return tf.train.adagrad(params.learningRate);
  }
}

export type SeededDropoutArgs = { readonly name: string; readonly rate: number; readonly seed: number };
type Layer = InstanceType<TensorFlow['layers']['Layer']>;

const seededDropoutClasses = new WeakMap<TensorFlow, new (args: SeededDropoutArgs) => Layer>();

/**
 * A dropout layer whose masks are reproducible. tfjs's own Dropout either draws from
 * Math.random (no seed: curves not reproducible) or, given a seed, draws the SAME mask on every
 * call; this one draws a fresh seed per training call from its own seeded stream.
 */
export function createSeededDropout(tf: TensorFlow, args: SeededDropoutArgs): Layer {
  let SeededDropout = seededDropoutClasses.get(tf);
  if (SeededDropout === undefined) {
    SeededDropout = class extends tf.layers.Layer {
      // Saved as a plain Dropout: both are the identity at inference, so any TensorFlow.js can
      // load the model without our class. Deliberately not registered for deserialisation.
      static className = 'Dropout';
      readonly rate: number;
      readonly #masks: Rng;

      constructor({ name, rate, seed }: SeededDropoutArgs) {
        super({ name });
        this.rate = rate;
        this.#masks = createRng(seed);
      }

      override call(inputs: Tensor | Tensor[], kwargs: Record<string, unknown>): Tensor {
        const input = Array.isArray(inputs) ? inputs[0] : inputs;
        if (input === undefined) throw new Error(`${this.name} expects one input`);
        if (kwargs.training !== true) return input;
        return tf.dropout(input, this.rate, undefined, this.#masks.int(2 ** 31));
      }

      override getConfig() {
        return { ...super.getConfig(), rate: this.rate };
      }
    };
    seededDropoutClasses.set(tf, SeededDropout);
  }
  return new SeededDropout(args);
}

/**
 * A copy of a model's weights taken at one epoch, to be written back later: early stopping's
 * best weights. Cheap: a clone shares the variable's current buffer, and optimizers replace a
 * variable's buffer (assign) rather than write into it.
 */
export class WeightSnapshot {
  readonly #tf: TensorFlow;
  #weights: Tensor[] | null = null;

  constructor(tf: TensorFlow) {
    this.#tf = tf;
  }

  /** Replaces the snapshot with the model's current weights. */
  take(model: LayersModel): void {
    this.dispose();
    this.#weights = this.#tf.tidy(() => model.getWeights().map((weight) => weight.clone()));
  }

  /** Writes the snapshot into `model`. @returns false when there is no snapshot. */
  restoreInto(model: LayersModel): boolean {
    if (this.#weights === null) return false;
    model.setWeights(this.#weights);
    return true;
  }

  /** Frees the snapshot's tensors; the snapshot becomes empty. */
  dispose(): void {
    for (const weight of this.#weights ?? []) weight.dispose();
    this.#weights = null;
  }
}
