/**
 * The recommendation families as TensorFlow.js layers models (functional API), so that a refit
 * saves as a plain layers model through the usual path and loads with `tf.loadLayersModel`. The
 * ratings engine (worker/engine/ratings-engine.ts) trains them by default: it starts from these
 * models' seeded weights and writes its own back into them by layer name (`RATINGS_LAYERS`).
 *
 * Inputs, in this order (`ratingsInputs`): `user` and `item`, embedding indices (int32, n × 1),
 * then `features`, the user's and the item's encoded side features (n × f) when the family uses
 * them and there are any.
 *
 * - `mf`:  r̂ = μ + b_u + b_i + p_uᵀq_i. μ is the training mean, fixed (a non-trainable layer);
 *          b and p, q are embeddings of dimension 1 and `factors`.
 * - `ncf`: r̂ = MLP([p_u, q_i, x_u, x_i]) (depth, width, widthSchedule, activation, dropout as for
 *          `mlp`; the output's bias starts at μ), plus p'_uᵀq'_i with its own embeddings when
 *          `useDotTerm` (NeuMF).
 * - `mlp`: the plain MLP on [x_u, x_i] (models.ts), its output bias starting at μ.
 *
 * Index 0 of every embedding is reserved for users (items) that have no rating in the training
 * part — cold start. Its row starts at zero and never receives a gradient (no training row
 * looks it up), so it stays zero: a cold user gets b_u = 0 and p_u = 0, and is predicted from
 * μ, the item's terms and (ncf) the features. The same index is used at prediction time for ids
 * the model never saw.
 *
 * L2 (`l2` = λ): the embeddings are penalised per rating, as in the usual SGD formulation of
 * the latent factor model: the objective is the mean over the batch of
 * (r − r̂)² + λ(‖p_u‖² + ‖q_i‖² [+ b_u² + b_i² for mf]). In ncf, λ applies to the embeddings
 * only — its dense layers are regularised by `dropout` — because a λ that suits embeddings
 * per rating (≈ 0.01–0.1) is far too strong as a whole-matrix kernel penalty. `mlp` keeps its
 * kernel penalty λ‖W‖².
 */
import type { LayersModel, Scalar, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import { buildModel, createSeededDropout, hiddenWidths, type BuiltModel } from '../models/layers.js';
import { deriveSeed } from '../rng.js';
import type { Params } from '../contract/spec.js';
import type { Family } from '../contract/vocabulary.js';
import { ensureEmbeddingGradients } from './wasm-kernels.js';

/** Sizes a ratings model is built for. */
export type RatingsModelShape = {
  /** Embedding rows for users: the users seen in training + 1 (index 0: unknown). */
  readonly userRows: number;
  readonly itemRows: number;
  /** Width of the side features (user's + item's). */
  readonly nFeatures: number;
  /** Mean rating of the training rows. */
  readonly globalMean: number;
};

export type RatingsInput = 'user' | 'item' | 'features';

/** The index reserved for users and items without training ratings. */
export const UNKNOWN_INDEX = 0;

/** The inputs a family's model takes, in order. */
export function ratingsInputs(family: Family, nFeatures: number): RatingsInput[] {
  switch (family) {
    case 'mlp':
      return ['features'];
    case 'mf':
      return ['user', 'item'];
    case 'ncf':
      return nFeatures > 0 ? ['user', 'item', 'features'] : ['user', 'item'];
  }
}

/** Embedding initial values: N(0, 0.1²), seeded per layer. */
const EMBEDDING_STD = 0.1;

/**
 * Layer names of the ratings models, by role: the saved model's, by which the fast engine
 * (worker/engine/ratings-engine.ts) reads its initial weights and writes back its trained ones.
 */
export const RATINGS_LAYERS = {
  /** mf: p_u, q_i; ncf with `useDotTerm`: the dot term's own p'_u, q'_i. */
  factors: { user: 'user_factors', item: 'item_factors' },
  /** mf: b_u, b_i (start at zero). */
  bias: { user: 'user_bias', item: 'item_bias' },
  /** ncf: the embeddings p_u, q_i that feed its MLP. */
  embedding: { user: 'user_embedding', item: 'item_embedding' },
  /** mf: μ, a fixed dense layer. */
  globalMean: 'global_mean',
} as const;

/** ncf: names of its MLP's dense layers, input to output (the last is the output layer, bias μ). */
export function towerLayers(params: Pick<Params, 'depth' | 'width' | 'widthSchedule'>): string[] {
  return [...hiddenWidths(params).map((_, i) => `hidden_${i + 1}`), 'output'];
}

/**
 * Builds the model of `params.family` for ratings data. Its penalty (when λ > 0) takes the
 * batch's inputs in `ratingsInputs` order.
 * @throws {Error} when `mlp` is asked for on data without side features.
 */
export function buildRatingsModel(tf: TensorFlow, params: Params, shape: RatingsModelShape, seed: number): BuiltModel {
  if (params.family === 'mlp') {
    if (shape.nFeatures === 0) throw new Error('family mlp trains on the side features, and this ratings dataset has none; use mf or ncf');
    return { model: buildModel(tf, params, shape.nFeatures, 'regression', 1, seed, { outputBias: shape.globalMean }), penalty: null };
  }

  ensureEmbeddingGradients(tf);
  const user = tf.input({ name: 'user', shape: [1], dtype: 'int32' });
  const item = tf.input({ name: 'item', shape: [1], dtype: 'int32' });
  const embeddings: { layer: ReturnType<TensorFlow['layers']['embedding']>; input: 0 | 1 }[] = [];
  const embed = (name: string, input: 0 | 1, dim: number, random = true): SymbolicTensor => {
    const layer = tf.layers.embedding({
      name,
      inputDim: input === 0 ? shape.userRows : shape.itemRows,
      outputDim: dim,
      inputLength: 1,
      embeddingsInitializer: random
        ? tf.initializers.randomNormal({ mean: 0, stddev: EMBEDDING_STD, seed: deriveSeed(seed, `init/${name}`) })
        : 'zeros',
    });
    embeddings.push({ layer, input });
    return tf.layers.flatten({ name: `${name}_flat` }).apply(layer.apply(input === 0 ? user : item)) as SymbolicTensor;
  };

  let model: LayersModel;
  if (params.family === 'mf') {
    const dot = tf.layers
      .dot({ name: 'dot', axes: 1 })
      .apply([
        embed(RATINGS_LAYERS.factors.user, 0, params.factors),
        embed(RATINGS_LAYERS.factors.item, 1, params.factors),
      ]) as SymbolicTensor;
    const sum = tf.layers
      .add({ name: 'sum' })
      .apply([dot, embed(RATINGS_LAYERS.bias.user, 0, 1, false), embed(RATINGS_LAYERS.bias.item, 1, 1, false)]) as SymbolicTensor;
    // μ + sum: a fixed identity kernel and a fixed bias, saved as a plain (non-trainable) Dense layer.
    const output = tf.layers
      .dense({
        name: RATINGS_LAYERS.globalMean,
        units: 1,
        trainable: false,
        kernelInitializer: 'ones',
        biasInitializer: tf.initializers.constant({ value: shape.globalMean }),
      })
      .apply(sum) as SymbolicTensor;
    model = tf.model({ name: 'mf', inputs: [user, item], outputs: output });
  } else {
    const features = shape.nFeatures > 0 ? tf.input({ name: 'features', shape: [shape.nFeatures] }) : null;
    const parts = [
      embed(RATINGS_LAYERS.embedding.user, 0, params.factors),
      embed(RATINGS_LAYERS.embedding.item, 1, params.factors),
      ...(features ? [features] : []),
    ];
    let hidden = tf.layers.concatenate({ name: 'concat' }).apply(parts) as SymbolicTensor;
    const dense = (name: string, units: number, activation: Params['activation'], bias = 0) =>
      tf.layers.dense({
        name,
        units,
        activation,
        kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, `init/${name}`) }),
        biasInitializer: bias === 0 ? 'zeros' : tf.initializers.constant({ value: bias }),
      });
    const names = towerLayers(params);
    hiddenWidths(params).forEach((units, i) => {
      hidden = dense(names[i]!, units, params.activation).apply(hidden) as SymbolicTensor;
      if (params.dropout > 0)
        hidden = createSeededDropout(tf, {
          name: `dropout_${i + 1}`,
          rate: params.dropout,
          seed: deriveSeed(seed, `dropout/${i + 1}`),
        }).apply(hidden) as SymbolicTensor;
    });
    let output = dense(names.at(-1)!, 1, 'linear', shape.globalMean).apply(hidden) as SymbolicTensor;
    if (params.useDotTerm) {
      const dot = tf.layers
        .dot({ name: 'dot', axes: 1 })
        .apply([
          embed(RATINGS_LAYERS.factors.user, 0, params.factors),
          embed(RATINGS_LAYERS.factors.item, 1, params.factors),
        ]) as SymbolicTensor;
      output = tf.layers.add({ name: 'neumf' }).apply([output, dot]) as SymbolicTensor;
    }
    model = tf.model({ name: 'ncf', inputs: [user, item, ...(features ? [features] : [])], outputs: output });
  }

  // The unknown row starts (and, never looked up in training, stays) at zero.
  for (const { layer } of embeddings) {
    const weights = layer.getWeights()[0]!;
    const zeroed = tf.tidy(() => tf.concat([tf.zeros([1, weights.shape[1]!]), weights.slice([UNKNOWN_INDEX + 1, 0], [-1, -1])]));
    layer.setWeights([zeroed]);
    zeroed.dispose();
  }

  const lambda = params.l2;
  const penalty =
    lambda > 0
      ? (inputs: readonly Tensor[]): Scalar => {
          // Runs inside the training step's tidy; gathers from the variables so gradients reach them.
          const indices = [inputs[0]!.reshape([-1]), inputs[1]!.reshape([-1])];
          const perRow = embeddings
            .map(({ layer, input }) => tf.gather(layer.trainableWeights[0]!.read(), indices[input]!).square().sum(1))
            .reduce((total, term) => total.add(term));
          return perRow.mean().mul(lambda) as Scalar;
        }
      : null;
  return { model, penalty };
}
