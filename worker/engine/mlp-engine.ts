/**
 * A training engine for the `mlp` family that spends as few TensorFlow.js kernels per step as it
 * can. On the WebAssembly backend every kernel costs several microseconds of dispatch before any
 * arithmetic (issue 6), so a step is written by hand rather than taped by `tf.grad`:
 *
 * - All parameters live in ONE flat tensor `P`; so do the optimizer's slots. The update is a
 *   handful of elementwise kernels for the whole model (Adam: 10) instead of a dozen per weight
 *   tensor as in `tf.train.adam`.
 * - Biases are folded into the kernels ("augmented" layout): every layer input carries a
 *   trailing column of ones and every kernel a trailing bias row, so the bias gradient falls out
 *   of the kernel's matrix product (no reductions over the batch). Each hidden layer keeps its
 *   ones column alive with one FIXED extra output unit: zero weights, a constant pre-activation
 *   whose activation is exactly 1; its gradient is masked to zero.
 * - Backward passes are written out per activation; sigmoid + cross-entropy and softmax +
 *   cross-entropy collapse to `p − y`. The 1/batch factor, the loss's constant factor and the
 *   optimizers' (1 − β) factors are folded into per-step scalars, so they cost no kernels.
 * - On wasm, matrix products with a transposed operand leave XNNPACK for a naive loop, so the
 *   engine transposes explicitly (the batch's transpose is built in JavaScript, for free).
 * - Batches are assembled in JavaScript and uploaded (a gather kernel on wasm costs ~50 ns per
 *   element copied); dropout masks are drawn in JavaScript from a seeded stream.
 * - Nothing is read back per batch: the epoch's training predictions are read once.
 *
 * Semantics match the layers model of `worker/models.ts` (same initial weights when built from
 * its weights, same losses, L2 on kernels only, TensorFlow.js's optimizer formulas and defaults),
 * up to floating-point rounding; dropout masks come from a different (seeded) stream.
 */
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import type { Params } from '../spec.js';

/** Hidden-layer activations the engine implements (all of spec.ts). */
export const ENGINE_ACTIVATIONS = ['relu', 'tanh', 'elu', 'selu', 'sigmoid', 'linear'] as const;
export type EngineActivation = (typeof ENGINE_ACTIVATIONS)[number];
/** Optimizers the engine implements (all of spec.ts), with TensorFlow.js's default settings. */
export const ENGINE_OPTIMIZERS = ['adam', 'sgd', 'rmsprop', 'adagrad'] as const;
export type EngineOptimizer = (typeof ENGINE_OPTIMIZERS)[number];

/** The output layer and its loss: sigmoid + binary cross-entropy, softmax + categorical cross-entropy, linear + squared error. */
export type OutputKind = 'sigmoid' | 'softmax' | 'linear';

export type MlpArchitecture = {
  readonly nInputs: number;
  /** Units of each hidden layer (may be empty: a linear/logistic model). */
  readonly hidden: readonly number[];
  /** Output units: 1 (sigmoid, linear) or the number of classes (softmax). */
  readonly nOutputs: number;
  readonly activation: EngineActivation;
  readonly output: OutputKind;
};

export type MlpHyperparameters = Pick<Params, 'learningRate' | 'l2' | 'dropout'> & { readonly optimizer: EngineOptimizer };

/** One dense layer's weights as the layers model holds them: kernel nIn × nOut row-major, bias nOut. */
export type DenseWeights = { readonly kernel: Float32Array; readonly bias: Float32Array };

/**
 * How matrix products with a transposed operand are computed: `explicit` transposes first so
 * that every product takes the backend's fast path (XNNPACK on wasm); `flags` passes
 * transposeA/transposeB to the product (best where the kernel handles strides itself: cpu).
 */
export type TransposeStrategy = 'explicit' | 'flags';

export type MlpEngineOptions = {
  /** Seed of the dropout masks' stream. */
  readonly seed: number;
  /** Defaults to `explicit` on wasm and `flags` elsewhere. */
  readonly transposes?: TransposeStrategy;
};

/** Training rows as the engine reads them: standardised features n × f and targets, row-major. */
export type TrainingRows = {
  readonly x: Float32Array;
  /** Binary and regression: n values; softmax: n class indices. */
  readonly y: Float32Array;
  readonly n: number;
};

/** Called between batches (abort checks, yielding to the event loop); may throw to stop. */
export type BetweenBatches = () => Promise<void> | void;

/** Activations a fused matrix product applies itself (tf.fused.matMul's list, minus prelu-like ones). */
const FUSABLE: ReadonlySet<string> = new Set(['linear', 'relu', 'elu', 'sigmoid']);
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_ALPHA = 1.6732632423543772848170429916717;
/** Rows per forward pass at inference, as models.ts's PREDICT_BATCH_SIZE. */
const PREDICT_CHUNK = 8192;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const RMSPROP_DECAY = 0.9;
const ADAGRAD_INITIAL = 0.1;

/** Why the engine cannot train `params` (null when it can). */
export function unsupportedReason(params: Pick<Params, 'family' | 'activation' | 'optimizer'>): string | null {
  if (params.family !== 'mlp') return `family ${params.family} is not an MLP`;
  if (!(ENGINE_ACTIVATIONS as readonly string[]).includes(params.activation)) return `activation ${params.activation} is not implemented`;
  if (!(ENGINE_OPTIMIZERS as readonly string[]).includes(params.optimizer)) return `optimizer ${params.optimizer} is not implemented`;
  return null;
}

type Layer = {
  /** Rows (inputs + the bias row) and columns (outputs, + the fixed ones unit on hidden layers) of the augmented kernel. */
  readonly rows: number;
  readonly cols: number;
  readonly offset: number;
  readonly nIn: number;
  readonly nOut: number;
  readonly hidden: boolean;
};

/**
 * An MLP under training. Owns its tensors: call `dispose()` (it is safe to call twice).
 * Not re-entrant: one `trainEpoch` or `predict` at a time.
 */
export class MlpEngine {
  readonly architecture: MlpArchitecture;
  readonly hyper: MlpHyperparameters;
  /** Trainable scalars, as the layers model counts them. */
  readonly paramCount: number;
  readonly transposes: TransposeStrategy;

  readonly #tf: TensorFlow;
  readonly #layers: readonly Layer[];
  readonly #size: number;
  readonly #rng: MaskStream;
  readonly #keep: number;
  /** Factor turning the batch-sum gradient `(p − y)ᵀ…` into the batch-mean gradient, at the reference batch size. */
  #lossFactor: number;
  #P: Tensor1D;
  #slots: Tensor1D[];
  #best: Tensor1D | null = null;
  #step = 0;
  #referenceBatch = 0;
  #disposed = false;
  /** Constants kept for the engine's lifetime. */
  readonly #mask: Tensor1D | null;
  #l2Factors: Tensor1D | null = null;
  readonly #constants: Tensor[] = [];
  readonly #one: Tensor;
  readonly #beta1: Tensor;
  readonly #beta2: Tensor;
  #optimizerScalars: Tensor[] = [];

  private constructor(tf: TensorFlow, architecture: MlpArchitecture, hyper: MlpHyperparameters, initial: readonly DenseWeights[], options: MlpEngineOptions) {
    this.#tf = tf;
    this.architecture = architecture;
    this.hyper = hyper;
    this.transposes = options.transposes ?? (tf.getBackend() === 'wasm' ? 'explicit' : 'flags');
    this.#rng = new MaskStream(options.seed);
    this.#keep = 1 - hyper.dropout;
    this.#lossFactor = architecture.output === 'linear' ? 2 : 1;

    const widths = [architecture.nInputs, ...architecture.hidden, architecture.nOutputs];
    const layers: Layer[] = [];
    let offset = 0;
    for (let l = 0; l < widths.length - 1; l++) {
      const hidden = l < widths.length - 2;
      const nIn = widths[l]!;
      const nOut = widths[l + 1]!;
      const layer = { rows: nIn + 1, cols: nOut + (hidden ? 1 : 0), offset, nIn, nOut, hidden };
      layers.push(layer);
      offset += layer.rows * layer.cols;
    }
    this.#layers = layers;
    this.#size = offset;
    this.paramCount = layers.reduce((sum, layer) => sum + (layer.nIn + 1) * layer.nOut, 0);
    if (initial.length !== layers.length) throw new RangeError(`expected ${layers.length} dense layers of weights, got ${initial.length}`);

    const fixedPreActivation = architecture.hidden.length > 0 ? onesPreActivation(tf, architecture.activation) : 0;
    const values = new Float32Array(this.#size);
    const mask = new Float32Array(this.#size);
    layers.forEach((layer, l) => {
      const { kernel, bias } = initial[l]!;
      if (kernel.length !== layer.nIn * layer.nOut || bias.length !== layer.nOut) throw new RangeError(`layer ${l}: weights of the wrong size`);
      for (let i = 0; i <= layer.nIn; i++) {
        for (let j = 0; j < layer.nOut; j++) {
          values[layer.offset + i * layer.cols + j] = i < layer.nIn ? kernel[i * layer.nOut + j]! : bias[j]!;
          mask[layer.offset + i * layer.cols + j] = 1;
        }
        if (layer.hidden) values[layer.offset + i * layer.cols + layer.nOut] = i === layer.nIn ? fixedPreActivation : 0;
      }
    });
    this.#P = tf.tensor1d(values);
    this.#mask = architecture.hidden.length > 0 ? this.#keepConstant(tf.tensor1d(mask)) : null;
    this.#one = this.#keepConstant(tf.scalar(1));
    this.#beta1 = this.#keepConstant(tf.scalar(hyper.optimizer === 'adam' ? ADAM_BETA1 : RMSPROP_DECAY));
    this.#beta2 = this.#keepConstant(tf.scalar(ADAM_BETA2));
    this.#slots = [];
  }

  /**
   * An engine whose initial weights are `initial` (one entry per dense layer, input to output),
   * e.g. the seeded Glorot weights of the layers model from `buildModel`.
   */
  static create(tf: TensorFlow, architecture: MlpArchitecture, hyper: MlpHyperparameters, initial: readonly DenseWeights[], options: MlpEngineOptions): MlpEngine {
    return new MlpEngine(tf, architecture, hyper, initial, options);
  }

  /** Number of steps taken so far. */
  get steps(): number {
    return this.#step;
  }

  /**
   * One pass over `rows` in `order`, in mini-batches of `batchSize` (the last one smaller).
   * @returns the training-mode predictions (dropout on, weights of the step that made them),
   *   in visiting order: n values (sigmoid, linear) or n × C probabilities (softmax), row-major.
   */
  async trainEpoch(rows: TrainingRows, order: Int32Array, batchSize: number, between?: BetweenBatches): Promise<Float32Array> {
    this.#checkAlive();
    const tf = this.#tf;
    const size = Math.min(batchSize, order.length);
    if (size <= 0) throw new RangeError('an epoch needs at least one row');
    this.#setReferenceBatch(size);
    const predictions: Tensor[] = [];
    try {
      for (let start = 0; start < order.length; start += size) {
        await between?.();
        const batchRows = order.subarray(start, Math.min(start + size, order.length));
        predictions.push(this.#trainBatch(rows, batchRows));
      }
      const all = predictions.length === 1 ? predictions[0]! : tf.concat(predictions);
      try {
        return await all.data<'float32'>();
      } finally {
        if (all !== predictions[0]) all.dispose();
      }
    } finally {
      for (const tensor of predictions) tensor.dispose();
    }
  }

  /**
   * Inference (dropout off) on the rows of `x` (n × nInputs, row-major, standardised): one
   * forward pass per 8192 rows, read back once.
   * @returns as `trainEpoch`'s predictions, in row order.
   */
  async predict(x: Float32Array, n: number): Promise<Float32Array> {
    const inputs = this.uploadInputs(x, n);
    try {
      return await this.predictUploaded(inputs);
    } finally {
      for (const tensor of inputs.chunks) tensor.dispose();
    }
  }

  /**
   * Uploads inference inputs once (in the augmented layout), for `predictUploaded` to score
   * every epoch without uploading again. The caller disposes `chunks`.
   */
  uploadInputs(x: Float32Array, n: number): UploadedInputs {
    const f = this.architecture.nInputs;
    if (x.length !== n * f) throw new RangeError(`expected ${n} × ${f} features, got ${x.length} values`);
    const chunks: Tensor2D[] = [];
    for (let start = 0; start < n; start += PREDICT_CHUNK) {
      const rows = Math.min(PREDICT_CHUNK, n - start);
      const augmented = new Float32Array(rows * (f + 1));
      for (let r = 0; r < rows; r++) {
        augmented.set(x.subarray((start + r) * f, (start + r + 1) * f), r * (f + 1));
        augmented[r * (f + 1) + f] = 1;
      }
      chunks.push(this.#tf.tensor2d(augmented, [rows, f + 1]));
    }
    return { chunks, n };
  }

  /** Inference on inputs from `uploadInputs`. */
  async predictUploaded(inputs: UploadedInputs): Promise<Float32Array> {
    this.#checkAlive();
    const tf = this.#tf;
    if (inputs.n === 0) return new Float32Array(0);
    const output = tf.tidy(() => {
      const weights = this.#views(this.#P);
      const outputs = inputs.chunks.map((chunk) => {
        let a: Tensor2D = chunk;
        this.#layers.forEach((layer, l) => {
          a = this.#dense(a, weights[l]!, layer.hidden ? this.architecture.activation : this.#outputActivation());
        });
        return this.architecture.output === 'softmax' ? tf.softmax(a) : a;
      });
      return outputs.length === 1 ? outputs[0]! : tf.concat(outputs);
    });
    try {
      return await output.data<'float32'>();
    } finally {
      output.dispose();
    }
  }

  /** Keeps the current weights as the best so far (cheap: shares the buffer). */
  snapshot(): void {
    this.#checkAlive();
    this.#best?.dispose();
    this.#best = this.#P.clone();
  }

  /** Puts the snapshot's weights back. @returns false when there is no snapshot. */
  restoreSnapshot(): boolean {
    this.#checkAlive();
    if (this.#best === null) return false;
    this.#P.dispose();
    this.#P = this.#best.clone();
    return true;
  }

  /**
   * Sum of squares of all trainable parameters, read back (one small reduction): not finite
   * once any parameter is not. Also returns the L2 penalty `l2·Σ kernel²` (0 without L2).
   */
  async parameterNorms(): Promise<{ readonly sumOfSquares: number; readonly penalty: number }> {
    this.#checkAlive();
    const tf = this.#tf;
    const sums = tf.tidy(() => {
      const squares = tf.square(this.#P);
      const total = this.#mask === null ? tf.sum(squares) : tf.sum(tf.mul(squares, this.#mask));
      if (this.hyper.l2 <= 0) return tf.stack([total, tf.scalar(0)]);
      return tf.stack([total, tf.mul(tf.sum(tf.mul(squares, this.#kernelMask())), this.hyper.l2)]);
    });
    try {
      const [sumOfSquares, penalty] = await sums.data<'float32'>();
      return { sumOfSquares: sumOfSquares!, penalty: penalty! };
    } finally {
      sums.dispose();
    }
  }

  /** The current weights per dense layer, as the layers model's `setWeights` wants them. */
  async denseWeights(): Promise<DenseWeights[]> {
    this.#checkAlive();
    return this.#unaugment(await this.#P.data<'float32'>());
  }

  /**
   * The gradient of the mean loss over `batchRows` plus the L2 penalty, per dense layer, at the
   * current weights, without dropout and without taking a step: what an optimizer would be
   * given. For checks against automatic differentiation.
   */
  async gradient(rows: TrainingRows, batchRows: Int32Array): Promise<DenseWeights[]> {
    this.#checkAlive();
    const tf = this.#tf;
    const batch = this.#uploadBatch(rows, batchRows);
    try {
      const g = tf.tidy(() => {
        const { gradient } = this.#gradients(this.#views(this.#P), batch.x, batch.xT, batch.y, this.#layers.map(() => null));
        let mean: Tensor1D = tf.mul(gradient, this.#lossFactor / batchRows.length);
        if (this.#mask !== null) mean = tf.mul(mean, this.#mask);
        return this.hyper.l2 > 0 ? tf.add<Tensor1D>(mean, tf.mul(tf.mul(this.#P, this.#kernelMask()), 2 * this.hyper.l2)) : mean;
      });
      try {
        return this.#unaugment(await g.data<'float32'>());
      } finally {
        g.dispose();
      }
    } finally {
      batch.dispose();
    }
  }

  /** Kernels and biases per dense layer from values in P's augmented layout. */
  #unaugment(values: Float32Array): DenseWeights[] {
    return this.#layers.map((layer) => {
      const kernel = new Float32Array(layer.nIn * layer.nOut);
      const bias = new Float32Array(layer.nOut);
      for (let i = 0; i <= layer.nIn; i++) {
        for (let j = 0; j < layer.nOut; j++) {
          const value = values[layer.offset + i * layer.cols + j]!;
          if (i < layer.nIn) kernel[i * layer.nOut + j] = value;
          else bias[j] = value;
        }
      }
      return { kernel, bias };
    });
  }

  /** Frees every tensor the engine holds. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#P.dispose();
    this.#best?.dispose();
    for (const tensor of [...this.#slots, ...this.#constants, ...this.#optimizerScalars]) tensor.dispose();
    this.#l2Factors?.dispose();
    this.#slots = [];
    this.#optimizerScalars = [];
  }

  // ───────────────────────────── one step ─────────────────────────────

  /** Trains on one batch; returns its predictions (the caller disposes them). */
  #trainBatch(rows: TrainingRows, batchRows: Int32Array): Tensor2D {
    const tf = this.#tf;
    const b = batchRows.length;
    const batch = this.#uploadBatch(rows, batchRows);
    const masks = this.#dropoutMasks(b);
    const scalars = this.#stepScalars();
    const scale = b === this.#referenceBatch ? null : tf.scalar(this.#referenceBatch / b);
    try {
      const result = tf.tidy(() => {
        const weights = this.#views(this.#P);
        const { predictions, gradient } = this.#gradients(weights, batch.x, batch.xT, batch.y, masks);
        const g = this.#regularised(scale === null ? gradient : tf.mul(gradient, scale));
        const { P, slots } = this.#update(g, scalars);
        return { P, slots, predictions };
      });
      this.#P.dispose();
      for (const slot of this.#slots) slot.dispose();
      this.#P = result.P;
      this.#slots = result.slots;
      return result.predictions;
    } finally {
      batch.dispose();
      for (const mask of masks) mask?.dispose();
      for (const scalar of scalars) scalar.dispose();
      scale?.dispose();
    }
  }

  /**
   * A batch's inputs with their ones column, their transpose for the first layer's weight
   * gradient (explicit strategy), and targets (one-hot for softmax), assembled in JavaScript
   * and uploaded: no gather kernels.
   */
  #uploadBatch(rows: TrainingRows, batchRows: Int32Array): { x: Tensor2D; xT: Tensor2D | null; y: Tensor2D; dispose(): void } {
    const tf = this.#tf;
    const b = batchRows.length;
    const { nInputs: f, nOutputs: c, output } = this.architecture;
    const xa = new Float32Array(b * (f + 1));
    const xaT = this.transposes === 'explicit' ? new Float32Array((f + 1) * b) : null;
    const yb = new Float32Array(b * c);
    for (let r = 0; r < b; r++) {
      const row = batchRows[r]!;
      const source = row * f;
      const target = r * (f + 1);
      for (let j = 0; j < f; j++) xa[target + j] = rows.x[source + j]!;
      xa[target + f] = 1;
      if (xaT !== null) {
        for (let j = 0; j < f; j++) xaT[j * b + r] = rows.x[source + j]!;
        xaT[f * b + r] = 1;
      }
      if (output === 'softmax') yb[r * c + rows.y[row]!] = 1;
      else yb[r] = rows.y[row]!;
    }
    const x = tf.tensor2d(xa, [b, f + 1]);
    const xT = xaT === null ? null : tf.tensor2d(xaT, [f + 1, b]);
    const y = tf.tensor2d(yb, [b, c]);
    return {
      x,
      xT,
      y,
      dispose() {
        x.dispose();
        xT?.dispose();
        y.dispose();
      },
    };
  }

  /**
   * Forward and backward pass. @returns the batch's predictions and the flat gradient of the
   * batch-SUM loss divided by the loss's constant factor (i.e. Σ rows of (p − y)-driven terms),
   * in P's layout, the fixed units' entries not yet masked.
   */
  #gradients(weights: Tensor2D[], x: Tensor2D, xT: Tensor2D | null, y: Tensor2D, masks: (Tensor2D | null)[]): { predictions: Tensor2D; gradient: Tensor1D } {
    const tf = this.#tf;
    const L = this.#layers.length;
    const inputs: Tensor2D[] = [x];
    const activations: Tensor2D[] = [];
    let predictions: Tensor2D = x;
    for (let l = 0; l < L; l++) {
      const layer = this.#layers[l]!;
      const out = this.#dense(inputs[l]!, weights[l]!, layer.hidden ? this.architecture.activation : this.#outputActivation());
      if (layer.hidden) {
        activations[l] = out;
        const mask = masks[l];
        inputs.push(mask ? tf.mul(out, mask) : out);
      } else {
        predictions = this.architecture.output === 'softmax' ? tf.softmax(out) : out;
      }
    }
    let delta: Tensor2D = tf.sub(predictions, y);
    const grads: Tensor1D[] = new Array<Tensor1D>(L);
    const explicit = this.transposes === 'explicit';
    for (let l = L - 1; l >= 0; l--) {
      const input = inputs[l]!;
      const weightGradient = explicit ? tf.matMul(l === 0 && xT !== null ? xT : tf.transpose(input), delta) : tf.matMul(input, delta, true, false);
      grads[l] = tf.reshape(weightGradient, [-1]);
      if (l === 0) break;
      const w = weights[l]!;
      const layer = this.#layers[l]!;
      // A transpose, never a reshape of w even when it has one column: the wasm backend caches
      // XNNPACK operators by the weight tensor's buffer id, not its shape, so a reshaped w would
      // reuse the forward pass's operator for the wrong shape (and yield garbage).
      let inputGradient: Tensor2D = explicit ? tf.matMul(delta, tf.transpose(w)) : tf.matMul(delta, w, false, true);
      const mask = masks[l - 1];
      if (mask) inputGradient = tf.mul(inputGradient, mask);
      delta = this.#activationGradient(inputGradient, activations[l - 1]!);
    }
    const gradient = grads.length === 1 ? grads[0]! : tf.concat(grads);
    return { predictions, gradient };
  }

  /** Masks the fixed units' entries and adds the L2 term, in the gradient's units. */
  #regularised(gradient: Tensor1D): Tensor1D {
    const tf = this.#tf;
    let g = this.#mask === null ? gradient : tf.mul<Tensor1D>(gradient, this.#mask);
    if (this.hyper.l2 > 0) g = tf.add<Tensor1D>(g, tf.mul(this.#P, this.#l2Factors!));
    return g;
  }

  /**
   * The optimizer's update on the flat parameters. `g` is the gradient in "reference units":
   * the true mean gradient is `s·g` with `s = lossFactor / referenceBatch`. The slots are kept
   * scaled so that each recurrence is a multiply-add, and every constant folds into a scalar.
   */
  #update(g: Tensor1D, scalars: readonly Tensor[]): { P: Tensor1D; slots: Tensor1D[] } {
    const tf = this.#tf;
    const P = this.#P;
    switch (this.hyper.optimizer) {
      case 'sgd': {
        const [rate] = this.#optimizerScalars;
        return { P: tf.sub(P, tf.mul(g, rate!)), slots: [] };
      }
      case 'adam': {
        // M = m / ((1−β1)s), V = v / ((1−β2)s²); scalars: c_t, e_t (see #stepScalars).
        const [M, V] = this.#slots;
        const [rate, epsilon] = scalars;
        const M2 = M === undefined ? g : tf.add<Tensor1D>(tf.mul(M, this.#beta1), g);
        const g2 = tf.square(g);
        const V2 = V === undefined ? g2 : tf.add<Tensor1D>(tf.mul(V, this.#beta2), g2);
        const P2 = tf.sub<Tensor1D>(P, tf.mul(tf.div(M2, tf.add(tf.sqrt(V2), epsilon!)), rate!));
        return { P: P2, slots: [M2, V2] };
      }
      case 'rmsprop': {
        // S = ms / ((1−ρ)s²): S ← ρS + g²; P ← P − (lr/√(1−ρ))·g/√(S + ε/((1−ρ)s²)).
        const [S] = this.#slots;
        const [rate, epsilon] = this.#optimizerScalars;
        const g2 = tf.square(g);
        const S2 = S === undefined ? g2 : tf.add<Tensor1D>(tf.mul(S, this.#beta1), g2);
        const P2 = tf.sub<Tensor1D>(P, tf.mul(tf.div(g, tf.sqrt(tf.add(S2, epsilon!))), rate!));
        return { P: P2, slots: [S2] };
      }
      case 'adagrad': {
        // A = acc / s²: A ← A + g² (A₀ = 0.1/s²); P ← P − lr·g/√(A + ε/s²).
        const [A] = this.#slots;
        const [rate, epsilon, initial] = this.#optimizerScalars;
        const A2 = tf.add<Tensor1D>(A ?? initial!, tf.square(g));
        const P2 = tf.sub<Tensor1D>(P, tf.mul(tf.div(g, tf.sqrt(tf.add(A2, epsilon!))), rate!));
        return { P: P2, slots: [A2] };
      }
    }
  }

  /** Per-step scalars (Adam's bias corrections); the caller disposes them. */
  #stepScalars(): Tensor[] {
    this.#step++;
    if (this.hyper.optimizer !== 'adam') return [];
    const t = this.#step;
    const s = this.#lossFactor / this.#referenceBatch;
    const correction2 = Math.sqrt(1 - ADAM_BETA2 ** t);
    const rate = (this.hyper.learningRate * (1 - ADAM_BETA1) * correction2) / ((1 - ADAM_BETA1 ** t) * Math.sqrt(1 - ADAM_BETA2));
    const epsilon = (this.#tf.backend().epsilon() * correction2) / (Math.sqrt(1 - ADAM_BETA2) * s);
    return [this.#tf.scalar(rate), this.#tf.scalar(epsilon)];
  }

  /**
   * Fixes the reference batch size (the one most batches have), which sets the units of the
   * gradient and of the optimizer's slots. Changing it later rescales the slots.
   */
  #setReferenceBatch(batch: number): void {
    if (batch === this.#referenceBatch) return;
    const tf = this.#tf;
    const previous = this.#referenceBatch;
    this.#referenceBatch = batch;
    const s = this.#lossFactor / batch;
    if (previous > 0 && this.#slots.length > 0) {
      // Slots are stored divided by s (Adam's first moment) or s² (second moments): rescale.
      const ratio = batch / previous;
      const old = this.#slots;
      this.#slots = tf.tidy(() => old.map((slot, i) => tf.mul(slot, this.hyper.optimizer === 'adam' && i === 0 ? ratio : ratio * ratio)));
      for (const slot of old) slot.dispose();
    }
    for (const scalar of this.#optimizerScalars) scalar.dispose();
    const epsilon = tf.backend().epsilon();
    const lr = this.hyper.learningRate;
    switch (this.hyper.optimizer) {
      case 'sgd':
        this.#optimizerScalars = [tf.scalar(lr * s)];
        break;
      case 'adam':
        this.#optimizerScalars = [];
        break;
      case 'rmsprop':
        this.#optimizerScalars = [tf.scalar(lr / Math.sqrt(1 - RMSPROP_DECAY)), tf.scalar(epsilon / ((1 - RMSPROP_DECAY) * s * s))];
        break;
      case 'adagrad':
        this.#optimizerScalars = [tf.scalar(lr), tf.scalar(epsilon / (s * s)), tf.scalar(ADAGRAD_INITIAL / (s * s))];
        break;
    }
    this.#l2Factors?.dispose();
    this.#l2Factors = this.hyper.l2 > 0 ? tf.tidy(() => tf.mul<Tensor1D>(this.#kernelMask(), (2 * this.hyper.l2) / s)) : null;
  }

  /** 1 on kernel entries (not bias rows, not fixed units), 0 elsewhere. */
  #kernelMask(): Tensor1D {
    const values = new Float32Array(this.#size);
    for (const layer of this.#layers) {
      for (let i = 0; i < layer.nIn; i++) values.fill(1, layer.offset + i * layer.cols, layer.offset + i * layer.cols + layer.nOut);
    }
    return this.#tf.tensor1d(values);
  }

  // ───────────────────────────── pieces ─────────────────────────────

  /** P split into the layers' augmented kernels. */
  #views(P: Tensor1D): Tensor2D[] {
    const tf = this.#tf;
    const layers = this.#layers;
    if (layers.length === 1) return [tf.reshape(P, [layers[0]!.rows, layers[0]!.cols])];
    const parts = tf.split(P, layers.map((layer) => layer.rows * layer.cols));
    return parts.map((part, l) => tf.reshape(part, [layers[l]!.rows, layers[l]!.cols]));
  }

  #outputActivation(): EngineActivation {
    return this.architecture.output === 'sigmoid' ? 'sigmoid' : 'linear';
  }

  /** `activation(a · W)`: one fused kernel when the backend fuses the activation. */
  #dense(a: Tensor2D, w: Tensor2D, activation: EngineActivation): Tensor2D {
    const tf = this.#tf;
    if (FUSABLE.has(activation)) return tf.fused.matMul({ a, b: w, activation: activation as 'linear' | 'relu' | 'elu' | 'sigmoid' }) as Tensor2D;
    const z = tf.matMul(a, w) as Tensor2D;
    return activation === 'tanh' ? tf.tanh<Tensor2D>(z) : tf.selu<Tensor2D>(z);
  }

  /** dL/dz from dL/dh and the activation's output h. */
  #activationGradient(dh: Tensor2D, h: Tensor2D): Tensor2D {
    const tf = this.#tf;
    switch (this.architecture.activation) {
      case 'linear':
        return dh;
      case 'relu':
        return tf.mul(dh, tf.step(h));
      case 'elu':
        return tf.engine().runKernel('EluGrad', { dy: dh, y: h }) as Tensor2D;
      case 'sigmoid':
        return tf.mul(dh, tf.mul(h, tf.sub(this.#one, h)));
      case 'tanh':
        return tf.mul(dh, tf.sub(this.#one, tf.square(h)));
      case 'selu': {
        // h > 0: λ; h ≤ 0: λα·eᶻ = h + λα.
        const shifted = tf.add(h, SELU_SCALE * SELU_ALPHA);
        return tf.mul(dh, tf.add(shifted, tf.mul(tf.step(h), tf.sub(SELU_SCALE, shifted))));
      }
    }
  }

  /** Inverted-dropout masks per hidden layer (values 0 or 1/keep; the ones column is kept), or nulls. */
  #dropoutMasks(b: number): (Tensor2D | null)[] {
    return this.#layers.map((layer) => {
      if (!layer.hidden || this.hyper.dropout <= 0) return null;
      const values = this.#rng.mask(b, layer.cols, this.#keep);
      return this.#tf.tensor2d(values, [b, layer.cols]);
    });
  }

  #keepConstant<T extends Tensor>(tensor: T): T {
    this.#constants.push(tensor);
    return tensor;
  }

  #checkAlive(): void {
    if (this.#disposed) throw new Error('the MLP engine was disposed');
  }
}

/** Inference inputs uploaded once (see `MlpEngine.uploadInputs`). */
export type UploadedInputs = { readonly chunks: readonly Tensor2D[]; readonly n: number };

/**
 * The pre-activation of a hidden layer's fixed unit: a constant whose activation is exactly 1
 * on this backend, so that the unit's output is the next layer's ones column.
 * @throws {Error} when no candidate gives exactly 1 (the caller falls back to the layers loop).
 */
function onesPreActivation(tf: TensorFlow, activation: EngineActivation): number {
  const candidates = ((): number[] => {
    switch (activation) {
      case 'relu':
      case 'elu':
      case 'linear':
        return [1];
      case 'sigmoid':
      case 'tanh':
        return [20, 30, 40];
      case 'selu': {
        const base = Math.fround(1 / SELU_SCALE);
        return [base, ...[1, -1, 2, -2, 3, -3].map((k) => nextFloat32(base, k))];
      }
    }
  })();
  const values = tf.tidy(() => {
    const a = tf.ones([1, 1]) as Tensor2D;
    const outs = candidates.map((c) => {
      const w = tf.tensor2d([c], [1, 1]);
      if (FUSABLE.has(activation)) return tf.fused.matMul({ a, b: w, activation: activation as 'linear' | 'relu' | 'elu' | 'sigmoid' });
      const z = tf.matMul(a, w);
      return activation === 'tanh' ? tf.tanh(z) : tf.selu(z);
    });
    return tf.concat(outs.map((out) => tf.reshape(out, [1])));
  });
  const read = values.dataSync();
  values.dispose();
  const index = Array.from(read).findIndex((value) => value === 1);
  if (index < 0) throw new Error(`no constant gives ${activation}(c) = 1 exactly on the ${tf.getBackend()} backend`);
  return candidates[index]!;
}

/** The float32 `steps` ulps away from `value`. */
function nextFloat32(value: number, steps: number): number {
  const buffer = new Float32Array([value]);
  const bits = new Int32Array(buffer.buffer);
  bits[0]! += steps;
  return buffer[0]!;
}

/**
 * A small, fast, seeded stream of 32-bit values (xoshiro128**, seeded by splitmix32) for dropout
 * masks: millions of draws per epoch, so a closure-based generator would dominate the step.
 */
class MaskStream {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let state = seed >>> 0;
    const next = () => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1;
  }

  /** rows × cols mask: each entry 1/keep with probability keep, else 0; the last column is 1 (the ones column). */
  mask(rows: number, cols: number, keep: number): Float32Array {
    const out = new Float32Array(rows * cols);
    const threshold = keep * 4294967296;
    const kept = 1 / keep;
    let a = this.#a;
    let b = this.#b;
    let c = this.#c;
    let d = this.#d;
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let j = 0; j < cols - 1; j++) {
        const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
        const t = b << 9;
        c ^= a;
        d ^= b;
        b ^= c;
        a ^= d;
        c ^= t;
        d = rotl(d, 11);
        if (result < threshold) out[base + j] = kept;
      }
      out[base + cols - 1] = 1;
    }
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
