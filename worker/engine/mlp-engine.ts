/**
 * A training engine for the `mlp` family whose training steps run no TensorFlow.js kernel. On the
 * WebAssembly backend a kernel costs ~5 µs of dispatch, its elementwise kernels run at ~5 ns per
 * element (no SIMD), and a matrix product on XNNPACK (SIMD) makes an operator and packs its right
 * operand at every call, the operands changing every step (bench/engine-products.ts). So a step is
 * written by hand rather than taped by `tf.grad`, and runs in foldwise's own WebAssembly SIMD
 * kernels (kernels/) on arrays in their memories. TensorFlow.js gives the initial weights (the
 * layers model's) and scores held-out rows (`predictUploaded`, one forward pass per chunk).
 *
 * - Per step, 8 matrix products for the reference MLP 30→64→32→1 (3 forward, 5 backward), in the
 *   kernels' `matMul` (below), against ~150 kernels for `optimizer.minimize` on the layers model.
 * - Biases are folded into the kernels ("augmented" layout): every layer input carries a
 *   trailing column of ones and every kernel a trailing bias row, so the bias gradient falls out
 *   of the kernel's product (no reductions). Each hidden layer keeps its ones column alive with
 *   one FIXED extra unit (zero weights, a constant pre-activation whose activation is exactly 1
 *   on TensorFlow.js, for inference; a training step writes its 1 directly) that is never updated.
 * - The backward pass is written out per activation; sigmoid + cross-entropy and softmax +
 *   cross-entropy collapse to `p − y`. No product has a transposed operand (row-major `a · b`
 *   only): each layer's input is also kept transposed (aᵀ, written by the loop that applies
 *   dropout), so dW = aᵀ·δ and dh = δ·Wᵀ (Wᵀ: a small copy).
 * - Parameters, optimizer state and the step's scratch arrays live in kernel memories
 *   (kernels/kernel-memory.ts), where the products, Adam, relu and its gradient, dropout, the
 *   transposes and each layer's gradient run as WebAssembly SIMD loops with the JavaScript loops'
 *   results; the other activations, their derivatives and the other optimizers (SGD, RMSprop,
 *   Adagrad, with TensorFlow.js's formulas and defaults: optimizers.ts) run in JavaScript.
 * - Batches are assembled in JavaScript (a gather kernel on wasm costs ~50 ns per element);
 *   dropout masks come from a seeded stream.
 *
 * Semantics match the layers model of `worker/models/layers.ts` (same initial weights when built from
 * its weights, same losses, L2 on kernels only, TensorFlow.js's optimizers), up to rounding;
 * dropout masks come from a different (seeded) stream than tf.dropout's.
 */
import type { Tensor2D } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import type { Params } from '../contract/spec.js';
import { SELU_ALPHA, SELU_SCALE } from '../models/activations.js';
import type { OutputActivation } from '../models/output-head.js';
import type { WeightSlot } from '../training/types.js';
import { KernelMemory, kernelsFor } from './kernels/kernel-memory.js';
import { ENGINE_OPTIMIZERS, ParameterOptimizer, type EngineOptimizer } from './optimizers.js';

/** Hidden-layer activations the engine implements (all of spec.ts). */
export const ENGINE_ACTIVATIONS = ['relu', 'tanh', 'elu', 'selu', 'sigmoid', 'linear'] as const;
export type EngineActivation = (typeof ENGINE_ACTIVATIONS)[number];

/**
 * The output layer, which fixes the loss (models/output-head.ts): sigmoid + binary cross-entropy,
 * softmax + categorical cross-entropy, linear + squared error.
 */
export type OutputKind = OutputActivation;

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

export type MlpEngineOptions = {
  /** Seed of the dropout masks' stream. */
  readonly seed: number;
  /**
   * Classification: the weight of each class's rows in the loss, by class index (the gradient of
   * a row's loss is multiplied by its class's weight); absent or null: every row weighs 1.
   */
  readonly classWeights?: Float32Array | null;
};

/** Training rows as the engine reads them: standardised features n × f and targets, row-major. */
export type TrainingRows = {
  readonly x: Float32Array;
  /** Sigmoid and linear outputs: n targets; softmax: n class indices. */
  readonly y: Float32Array;
  readonly n: number;
};

/** Inference inputs uploaded once (see `MlpEngine.uploadInputs`). */
export type UploadedInputs = { readonly chunks: readonly Tensor2D[]; readonly n: number };

/**
 * Receives a batch's outputs p (b × nOutputs, row-major) and writes into `delta` (b × nOutputs,
 * row-major) the gradient of Σ over the batch's rows of (loss / lossFactor) by the output layer's
 * pre-activations: p − y for the engine's own losses. `outputs` may be a view of the backend's
 * memory, valid during the call only (copy what must outlive it).
 */
export type OutputDelta = (outputs: Float32Array, delta: Float32Array) => void;

/** One batch's gradients from `MlpEngine.backpropagate`, for `applyGradients` or `layerGradients`. */
export type TowerGradients = {
  /**
   * Per layer, the gradient of Σ (loss / lossFactor) by the augmented kernel without its fixed
   * unit: rows (inputs + the bias row) × units, row-major.
   */
  readonly sums: readonly Float32Array[];
  /** The same sum's gradient by the first `inputColumns` inputs: b × inputColumns, row-major (null when not asked for). */
  readonly input: Float32Array | null;
  /** Rows in the batch. */
  readonly b: number;
};

/** Called between batches (abort checks, yielding to the event loop); may throw to stop. */
export type BetweenBatches = () => Promise<void> | void;

/** Activations a fused matrix product applies itself. */
const FUSABLE: ReadonlySet<string> = new Set(['linear', 'relu', 'elu', 'sigmoid']);
/** Rows per forward pass at inference, as models/layers.ts's PREDICT_BATCH_SIZE. */
const PREDICT_CHUNK = 8192;

/**
 * Why the engine cannot train `params` (null when it can). With `tf`, also checks that the
 * backend can run the fixed hidden units (see `fixedUnitConstant`).
 */
export function unsupportedReason(params: Pick<Params, 'family' | 'activation' | 'optimizer' | 'depth'>, tf?: TensorFlow): string | null {
  if (params.family !== 'mlp') return `family ${params.family} is not an MLP`;
  if (!(ENGINE_ACTIVATIONS as readonly string[]).includes(params.activation)) return `activation ${params.activation} is not implemented`;
  if (!(ENGINE_OPTIMIZERS as readonly string[]).includes(params.optimizer)) return `optimizer ${params.optimizer} is not implemented`;
  if (tf !== undefined && params.depth > 0 && fixedUnitConstant(tf, params.activation) === null)
    return `no constant makes ${params.activation} output exactly 1 on the ${tf.getBackend()} backend`;
  return null;
}

type Layer = {
  /** Rows (inputs + the bias row) and columns (outputs, + the fixed unit on hidden layers) of the augmented kernel. */
  readonly rows: number;
  readonly cols: number;
  /** Where the kernel starts in the flat parameters. */
  readonly offset: number;
  readonly nIn: number;
  readonly nOut: number;
  readonly hidden: boolean;
};

/**
 * An MLP under training. Its parameters and optimizer state live in JavaScript; it holds no
 * tensors between calls. Not re-entrant: one `trainEpoch` or `predict` at a time. It also
 * serves as the tower of a larger model (`batchInputs`, `backpropagate`, `applyGradients`:
 * ratings-engine.ts's ncf), whose inputs and output deltas the caller supplies.
 */
export class MlpEngine {
  readonly architecture: MlpArchitecture;
  readonly hyper: MlpHyperparameters;
  /** Trainable scalars, as the layers model counts them. */
  readonly paramCount: number;

  readonly #tf: TensorFlow;
  readonly #layers: readonly Layer[];
  /** All parameters, layer after layer, each an augmented kernel rows × cols, row-major. */
  readonly #P: Float32Array;
  /** 1 where an entry is trained (not a fixed unit's), 0 elsewhere. */
  readonly #trained: Uint8Array;
  /** 1 on kernel entries (the L2 penalty's), 0 on bias rows and fixed units. */
  readonly #kernel: Uint8Array;
  readonly #optimizer: ParameterOptimizer;
  /** Optimizer slots, in P's layout (optimizers.ts). */
  readonly #slots: Float32Array[];
  /** The step's gradient, in P's layout. */
  readonly #G: Float32Array;
  /** Each layer's batch-sum gradient as the step's products give it (rows × nOut), read into the state memory. */
  readonly #sums: Float32Array[];
  /** Where P, the slots and G live: the memory of the SIMD kernels (kernels/kernel-memory.ts). */
  readonly #state: KernelMemory;
  /** Where the scratch arrays live, sized for steps of up to `#scratchRows` rows; replaced between steps when a larger batch comes. */
  #scratchMemory: KernelMemory | null = null;
  #scratchRows = 0;
  readonly #rng: MaskStream;
  readonly #classWeights: Float32Array | null;
  /** The loss's constant factor: the gradient of the batch-mean loss is factor/b · Σ rows (p − y)…. */
  readonly #lossFactor: number;
  /** Copies of the weights by slot: the best epoch's, and the current ones put aside (training/types.ts WeightSlot). */
  readonly #copies = new Map<WeightSlot, Float32Array>();
  /** Scratch arrays reused from step to step (every tensor made from one is disposed within its step). */
  readonly #scratch = new Map<string, Float32Array>();
  #disposed = false;

  private constructor(
    tf: TensorFlow,
    architecture: MlpArchitecture,
    hyper: MlpHyperparameters,
    initial: readonly DenseWeights[],
    options: MlpEngineOptions,
  ) {
    this.#tf = tf;
    this.architecture = architecture;
    this.hyper = hyper;
    this.#rng = new MaskStream(options.seed);
    this.#classWeights = architecture.output === 'linear' ? null : (options.classWeights ?? null);
    this.#lossFactor = architecture.output === 'linear' ? 2 : 1;
    this.#optimizer = new ParameterOptimizer(hyper.optimizer, hyper.learningRate, tf.backend().epsilon());

    const widths = [architecture.nInputs, ...architecture.hidden, architecture.nOutputs];
    const layers: Layer[] = [];
    let size = 0;
    for (let l = 0; l < widths.length - 1; l++) {
      const hidden = l < widths.length - 2;
      const nIn = widths[l]!;
      const nOut = widths[l + 1]!;
      const layer = { rows: nIn + 1, cols: nOut + (hidden ? 1 : 0), offset: size, nIn, nOut, hidden };
      layers.push(layer);
      size += layer.rows * layer.cols;
    }
    this.#layers = layers;
    this.paramCount = layers.reduce((sum, layer) => sum + (layer.nIn + 1) * layer.nOut, 0);
    if (initial.length !== layers.length) throw new RangeError(`expected ${layers.length} dense layers of weights, got ${initial.length}`);

    const fixedPreActivation = architecture.hidden.length > 0 ? fixedUnitConstant(tf, architecture.activation) : 0;
    if (fixedPreActivation === null)
      throw new Error(`no constant makes ${architecture.activation} output exactly 1 on the ${tf.getBackend()} backend`);
    // P, G, at most two optimizer slots, and the layers' sums (smaller than P).
    this.#state = new KernelMemory(5 * size, 4 + layers.length);
    this.#P = this.#state.f32(size);
    this.#trained = new Uint8Array(size);
    this.#kernel = new Uint8Array(size);
    layers.forEach((layer, l) => {
      const { kernel, bias } = initial[l]!;
      if (kernel.length !== layer.nIn * layer.nOut || bias.length !== layer.nOut)
        throw new RangeError(`layer ${l}: weights of the wrong size`);
      for (let i = 0; i <= layer.nIn; i++) {
        const row = layer.offset + i * layer.cols;
        for (let j = 0; j < layer.nOut; j++) {
          this.#P[row + j] = i < layer.nIn ? kernel[i * layer.nOut + j]! : bias[j]!;
          this.#trained[row + j] = 1;
          this.#kernel[row + j] = i < layer.nIn ? 1 : 0;
        }
        if (layer.hidden) this.#P[row + layer.nOut] = i === layer.nIn ? fixedPreActivation : 0;
      }
    });
    this.#slots = this.#optimizer.createSlots(size, (n) => this.#state.f32(n));
    this.#G = this.#state.f32(size);
    this.#sums = layers.map((layer) => this.#state.f32(layer.rows * layer.nOut));
  }

  /**
   * An engine whose initial weights are `initial` (one entry per dense layer, input to output),
   * e.g. the seeded Glorot weights of the layers model from `buildModel`.
   * @throws {Error} when a hidden unit cannot be made to output exactly 1 on this backend.
   */
  static create(
    tf: TensorFlow,
    architecture: MlpArchitecture,
    hyper: MlpHyperparameters,
    initial: readonly DenseWeights[],
    options: MlpEngineOptions,
  ): MlpEngine {
    return new MlpEngine(tf, architecture, hyper, initial, options);
  }

  /** Number of optimizer steps taken so far. */
  get steps(): number {
    return this.#optimizer.steps;
  }

  /**
   * One pass over `rows` in `order`, in mini-batches of `batchSize` (the last one smaller).
   * @returns the training-mode predictions (dropout on; each batch's before its step), in
   *   visiting order: n values (sigmoid, linear) or n × C probabilities (softmax), row-major.
   */
  async trainEpoch(rows: TrainingRows, order: Int32Array, batchSize: number, between?: BetweenBatches): Promise<Float32Array> {
    this.#checkAlive();
    const size = Math.min(batchSize, order.length);
    if (size <= 0) throw new RangeError('an epoch needs at least one row');
    const predictions = new Float32Array(order.length * this.architecture.nOutputs);
    for (let start = 0; start < order.length; start += size) {
      await between?.();
      const batch = order.subarray(start, Math.min(start + size, order.length));
      const gradients = this.#forwardBackward(rows, batch, this.hyper.dropout > 0, predictions, start * this.architecture.nOutputs);
      this.#update(gradients, batch.length);
    }
    return predictions;
  }

  /**
   * Inference (dropout off) on the rows of `x` (n × nInputs, row-major, standardised).
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
   * Uploads inference inputs once (in the augmented layout, 8192 rows per chunk), for
   * `predictUploaded` to score every epoch without uploading again. The caller disposes `chunks`.
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

  /** Inference on inputs from `uploadInputs`: one forward pass per chunk, read back once. */
  async predictUploaded(inputs: UploadedInputs): Promise<Float32Array> {
    this.#checkAlive();
    const tf = this.#tf;
    if (inputs.n === 0) return new Float32Array(0);
    const output = tf.tidy(() => {
      const weights = this.#layers.map((layer) => this.#weightTensor(layer));
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

  /** Keeps a copy of the current weights in `slot` (by default as the best so far). */
  snapshot(slot: WeightSlot = 'best'): void {
    this.#checkAlive();
    this.#copies.set(slot, this.#P.slice());
  }

  /** Puts the weights of `slot`'s snapshot back (the slot keeps it). @returns false when there is no snapshot. */
  restoreSnapshot(slot: WeightSlot = 'best'): boolean {
    this.#checkAlive();
    const copy = this.#copies.get(slot);
    if (copy === undefined) return false;
    this.#P.set(copy);
    return true;
  }

  /**
   * Sum of squares of all trainable parameters (not finite once any parameter is not), and the
   * L2 penalty `l2·Σ kernel²` (0 without L2).
   */
  parameterNorms(): { readonly sumOfSquares: number; readonly penalty: number } {
    let sumOfSquares = 0;
    let kernelSquares = 0;
    const P = this.#P;
    for (let k = 0; k < P.length; k++) {
      if (this.#trained[k] === 0) continue;
      const square = P[k]! * P[k]!;
      sumOfSquares += square;
      if (this.#kernel[k] === 1) kernelSquares += square;
    }
    return { sumOfSquares, penalty: this.hyper.l2 > 0 ? this.hyper.l2 * kernelSquares : 0 };
  }

  /** The current weights per dense layer, as the layers model's `setWeights` wants them. */
  async denseWeights(): Promise<DenseWeights[]> {
    this.#checkAlive();
    return this.#layers.map((layer) => this.#unaugment(layer, this.#P.subarray(layer.offset, layer.offset + layer.rows * layer.cols)));
  }

  /**
   * The gradient of the mean loss over `batchRows` plus the L2 penalty, per dense layer, at the
   * current weights, without dropout and without taking a step: what the optimizer is given.
   * For checks against automatic differentiation.
   */
  async gradient(rows: TrainingRows, batchRows: Int32Array): Promise<DenseWeights[]> {
    this.#checkAlive();
    return this.layerGradients({ sums: this.#forwardBackward(rows, batchRows, false, null, 0), input: null, b: batchRows.length });
  }

  // ─────────────── the network as the tower of a larger model (ratings-engine.ts's NCF) ───────────────

  /**
   * The loss's constant factor (2 for the squared error, else 1): `backpropagate`'s gradients
   * times lossFactor / b are those of the batch-mean loss.
   */
  get lossFactor(): number {
    return this.#lossFactor;
  }

  /**
   * A scratch input matrix for a batch of `b` rows: b × (nInputs + 1), row-major, its last column
   * the ones of the augmented layout. The caller writes the other columns and passes it to
   * `backpropagate`; it is reused by the next step.
   */
  batchInputs(b: number): Float32Array {
    this.#checkAlive();
    this.#reserveScratch(b);
    const f = this.architecture.nInputs;
    const x0 = this.#buffer('x', b * (f + 1));
    for (let r = 0; r < b; r++) x0[r * (f + 1) + f] = 1;
    return x0;
  }

  /**
   * Forward and backward pass on inputs the caller assembled (`batchInputs`), with the output
   * deltas of the caller's loss (a composite model adds its own terms to the outputs first).
   * Takes no step: pass the result to `applyGradients`.
   * @param options.training dropout on (when the engine has dropout); `inputColumns`: how many
   *   of the first inputs to compute the gradient by, for the layers below (embeddings); 0: none.
   */
  backpropagate(
    x0: Float32Array,
    b: number,
    outputDelta: OutputDelta,
    options: { readonly training: boolean; readonly inputColumns: number },
  ): TowerGradients {
    this.#checkAlive();
    const f = this.architecture.nInputs;
    if (x0.length < b * (f + 1)) throw new RangeError(`expected ${b} × ${f + 1} inputs, got ${x0.length} values`);
    if (options.inputColumns > f) throw new RangeError(`inputColumns ${options.inputColumns} exceeds the ${f} inputs`);
    return this.#backpropagate(x0, b, options.training && this.hyper.dropout > 0, outputDelta, options.inputColumns);
  }

  /** One optimizer step from `backpropagate`'s gradients (those of the batch-mean loss, plus L2 on the kernels). */
  applyGradients(gradients: TowerGradients): void {
    this.#checkAlive();
    this.#update(gradients.sums, gradients.b);
  }

  /** What `applyGradients` gives the optimizer, per dense layer (the batch-mean loss's gradient plus L2): for checks. */
  layerGradients(gradients: TowerGradients): DenseWeights[] {
    const { sums, b } = gradients;
    const scale = this.#lossFactor / b;
    const decay = 2 * this.hyper.l2;
    return this.#layers.map((layer, l) => {
      const { nIn, nOut, cols, offset } = layer;
      const sum = sums[l]!;
      const kernel = new Float32Array(nIn * nOut);
      const bias = new Float32Array(nOut);
      for (let i = 0; i <= nIn; i++) {
        for (let j = 0; j < nOut; j++) {
          const g = sum[i * nOut + j]! * scale;
          if (i < nIn) kernel[i * nOut + j] = g + decay * this.#P[offset + i * cols + j]!;
          else bias[j] = g;
        }
      }
      return { kernel, bias };
    });
  }

  /** Marks the engine unusable (it holds no tensors between calls). */
  dispose(): void {
    this.#disposed = true;
    this.#copies.clear();
  }

  // ───────────────────────────── one step ─────────────────────────────

  /**
   * Forward and backward pass on rows of `rows`: the batch's inputs with their ones column,
   * and the output deltas (p − y)ᵀ of the engine's own loss.
   * @param predictions when given, receives the batch's predictions at `offset`.
   * @returns as `#backpropagate`'s `sums`.
   */
  #forwardBackward(
    rows: TrainingRows,
    batch: Int32Array,
    dropout: boolean,
    predictions: Float32Array | null,
    offset: number,
  ): readonly Float32Array[] {
    const b = batch.length;
    const { nInputs: f, nOutputs: c, output } = this.architecture;
    const x0 = this.batchInputs(b);
    for (let r = 0; r < b; r++) {
      const source = batch[r]! * f;
      const target = r * (f + 1);
      for (let j = 0; j < f; j++) x0[target + j] = rows.x[source + j]!;
    }
    const weights = this.#classWeights;
    const outputDelta = (p: Float32Array, delta: Float32Array) => {
      if (predictions !== null) predictions.set(p, offset);
      for (let r = 0; r < b; r++) {
        const label = rows.y[batch[r]!]!;
        const weight = weights === null ? 1 : weights[label]!;
        if (output === 'softmax') {
          for (let j = 0; j < c; j++) delta[r * c + j] = weight * (p[r * c + j]! - (j === label ? 1 : 0));
        } else {
          delta[r] = weight * (p[r]! - label);
        }
      }
    };
    return this.#backpropagate(x0, b, dropout, outputDelta, 0).sums;
  }

  /**
   * Forward and backward pass on one batch, 8 products for two hidden layers (9 with the
   * gradient by the inputs), each a plain `a · b` in `matMul` (no transposed operand): each
   * layer's input a_l is kept transposed as well (aᵀ, rows × b), so that dW_l = a_lᵀ · δ_l and the
   * gradient by a_l is δ_l · W_lᵀ (a small copy of the kernel).
   * @param x0 the batch's inputs, b × (nInputs + 1) with a last column of ones.
   * @param outputDelta receives the outputs p (b × nOutputs) and writes ∂(Σ loss / lossFactor)/∂z
   *   of the output layer's pre-activations into `delta` (b × nOutputs).
   * @param inputColumns how many of the first inputs to compute the gradient by (one more product if > 0).
   * @returns `sums`: per layer, the gradient (rows × units, the fixed unit left out) of Σ over the
   *   batch's rows of (loss / lossFactor); `input`: that sum's gradient by the first
   *   `inputColumns` inputs (b × inputColumns), when asked for.
   */
  #backpropagate(x0: Float32Array, b: number, dropout: boolean, outputDelta: OutputDelta, inputColumns: number): TowerGradients {
    const layers = this.#layers;
    const L = layers.length;
    const { nOutputs: c, output, activation } = this.architecture;
    this.#reserveScratch(b);
    // Forward: each layer's input a_l (b × rows) and transposed (rows × b), and what the backward
    // pass needs of each hidden layer's activations, all in the scratch memory.
    const first = layers[0]!;
    const inputs: Float32Array[] = [x0];
    const inputsT: Float32Array[] = [transpose(this.#buffer('inputT0', b * first.rows), x0, b, first.rows)];
    const tapes: HiddenTape[] = [];
    const keep = 1 - this.hyper.dropout;
    let p: Float32Array = x0;
    for (let l = 0; l < L; l++) {
      const layer = layers[l]!;
      // The product on a copy of the layer's kernel in the scratch memory (P is in the state memory).
      const weights = this.#buffer(`weights${l}`, layer.rows * layer.cols);
      weights.set(this.#P.subarray(layer.offset, layer.offset + layer.rows * layer.cols));
      const name = dropout && activation === 'relu' ? `values${l}` : `h${l}`;
      const values = matMul(this.#buffer(name, b * layer.cols), inputs[l]!, weights, b, layer.rows, layer.cols);
      if (!layer.hidden) {
        p = output === 'softmax' ? softmaxRows(values, b, c) : activate(values, this.#outputActivation());
        break;
      }
      activate(values, activation);
      // The fixed unit outputs exactly 1 whatever the activation's rounding here (at inference
      // TensorFlow.js's activation of its constant gives 1: fixedUnitConstant).
      for (let at = layer.nOut; at < values.length; at += layer.cols) values[at] = 1;
      const nextT = this.#buffer(`inputT${l + 1}`, values.length);
      // relu's derivative times the mask is 1/keep where the dropped output is positive, else
      // 0: the dropped output is all its backward pass reads. Other activations keep h and the mask.
      const relu = activation === 'relu';
      if (dropout) {
        const dropped = this.#buffer(`dropped${l}`, values.length);
        const mask = relu ? null : this.#buffer(`mask${l}`, values.length);
        this.#rng.dropout(values, dropped, nextT, mask, b, layer.cols, keep);
        tapes.push(relu ? { h: dropped, mask: null, scale: Math.fround(1 / keep) } : { h: values, mask, scale: 1 });
        inputs.push(dropped);
      } else {
        transpose(nextT, values, b, layer.cols);
        tapes.push({ h: values, mask: relu ? null : this.#ones(values.length), scale: 1 });
        inputs.push(values);
      }
      inputsT.push(nextT);
    }

    // Backward on δ_l = ∂(Σ loss / factor)/∂z_l (b × units), from the output's (e.g. p − y).
    let delta: Float32Array = this.#buffer(`delta${L - 1}`, b * c);
    outputDelta(p, delta);
    const sums: Float32Array[] = new Array<Float32Array>(L);
    let input: Float32Array | null = null;
    for (let l = L - 1; l >= 0; l--) {
      const layer = layers[l]!;
      // The backward products run in the scratch memory, where all their operands are (see matMul).
      const { rows, nIn, nOut } = layer;
      const sum = matMul(this.#buffer(`sum${l}`, rows * nOut), inputsT[l]!, delta, rows, b, nOut);
      this.#sums[l]!.set(sum);
      sums[l] = this.#sums[l]!;
      if (l === 0) {
        if (inputColumns > 0)
          input = matMul(
            this.#buffer('input', b * inputColumns),
            delta,
            this.#kernelTransposed(layer, inputColumns),
            b,
            nOut,
            inputColumns,
          );
        break;
      }
      const upstream = matMul(this.#buffer(`upstream${l}`, b * nIn), delta, this.#kernelTransposed(layer, nIn), b, nOut, nIn);
      const below = layers[l - 1]!;
      const tape = tapes[l - 1]!;
      const out = this.#buffer(`delta${l - 1}`, b * below.nOut);
      delta =
        tape.mask === null
          ? reluGradient(out, upstream, tape.h, tape.scale, b, below.cols)
          : activationGradient(out, activation, upstream, tape.h, tape.mask, b, below.cols);
    }
    return { sums, input, b };
  }

  /** The first `inputs` rows of a layer's kernel (no bias row, no fixed unit), transposed: units × inputs, reused by later steps. */
  #kernelTransposed(layer: Layer, inputs: number): Float32Array {
    const { nOut, cols, offset } = layer;
    const out = this.#buffer(`kernelT${offset}`, nOut * inputs);
    const P = this.#P;
    for (let i = 0; i < inputs; i++) {
      const row = offset + i * cols;
      for (let j = 0, at = i; j < nOut; j++, at += inputs) out[at] = P[row + j]!;
    }
    return out;
  }

  /**
   * One optimizer step from the batch-sum gradients of a batch of `b` rows (optimizers.ts): the
   * gradient of the batch-mean loss plus L2 on the kernels, in P's layout (zero on the fixed
   * units, which therefore stay as they are).
   */
  #update(sums: readonly Float32Array[], b: number): void {
    const optimizer = this.#optimizer;
    optimizer.beginStep();
    const P = this.#P;
    const G = this.#G;
    const scale = this.#lossFactor / b;
    const decay = 2 * this.hyper.l2;
    this.#layers.forEach((layer, l) => {
      const sum = sums[l]!;
      const { rows, cols, nIn, nOut, offset } = layer;
      const kernels = kernelsFor(G, sum, P);
      if (kernels !== null) {
        kernels.exports.layerGradient(
          G.byteOffset + offset * 4,
          sum.byteOffset,
          P.byteOffset + offset * 4,
          rows,
          cols,
          nIn,
          nOut,
          scale,
          decay,
        );
        return;
      }
      for (let i = 0; i < rows; i++) {
        const row = offset + i * cols;
        // L2 on the kernel's rows, not on the bias row.
        const rowDecay = i < nIn ? decay : 0;
        for (let j = 0, at = i * nOut; j < nOut; j++, at++) G[row + j] = sum[at]! * scale + rowDecay * P[row + j]!;
        if (cols > nOut) G[row + nOut] = 0;
      }
    });
    optimizer.applyRange(P, this.#slots, G, 0, P.length);
  }

  // ───────────────────────────── pieces ─────────────────────────────

  /** `size` ones, the dropout mask of a step without dropout. */
  #ones(size: number): Float32Array {
    const key = `ones/${size}`;
    let ones = this.#scratch.get(key);
    if (ones === undefined) {
      ones = new Float32Array(size).fill(1);
      this.#scratch.set(key, ones);
    }
    return ones;
  }

  /** A scratch array of `size` values for `purpose`, reused by later steps. */
  #buffer(purpose: string, size: number): Float32Array {
    const key = `${purpose}/${size}`;
    let buffer = this.#scratch.get(key);
    if (buffer === undefined) {
      buffer = this.#scratchMemory?.f32(size) ?? new Float32Array(size);
      this.#scratch.set(key, buffer);
    }
    return buffer;
  }

  /**
   * A scratch memory for steps of `b` rows, made before the step's first scratch array: a memory
   * cannot grow (kernel-memory.ts), so a larger batch than the memory's gets a new one, and the
   * scratch arrays are made again in it. Sized for two batch sizes (an epoch's last batch is smaller).
   */
  #reserveScratch(b: number): void {
    if (b <= this.#scratchRows) return;
    this.#scratchMemory = new KernelMemory(2 * this.#scratchFloats(b), 128);
    this.#scratchRows = b;
    this.#scratch.clear();
  }

  /** An upper bound of the scratch values a step of `b` rows allocates (#backpropagate's buffers). */
  #scratchFloats(b: number): number {
    let perRow = 3 * this.#layers[0]!.rows;
    let fixed = 0;
    for (const layer of this.#layers) {
      perRow += layer.nIn + layer.nOut + (layer.hidden ? 5 * layer.cols : 0);
      fixed += 2 * layer.rows * layer.nOut;
    }
    return b * perRow + fixed;
  }

  /** A layer's augmented kernel as a tensor (a copy: the cpu backend keeps the array it is given). */
  #weightTensor(layer: Layer): Tensor2D {
    return this.#tf.tensor2d(this.#P.slice(layer.offset, layer.offset + layer.rows * layer.cols), [layer.rows, layer.cols]);
  }

  #outputActivation(): EngineActivation {
    return this.architecture.output === 'sigmoid' ? 'sigmoid' : 'linear';
  }

  /** `activation(a · W)`: one fused kernel when the backend fuses the activation. */
  #dense(a: Tensor2D, w: Tensor2D, activation: EngineActivation): Tensor2D {
    return denseLayer(this.#tf, a, w, activation);
  }

  /** Kernel and bias of one layer from values in its augmented layout. */
  #unaugment(layer: Layer, values: Float32Array): DenseWeights {
    const kernel = new Float32Array(layer.nIn * layer.nOut);
    const bias = new Float32Array(layer.nOut);
    for (let i = 0; i <= layer.nIn; i++) {
      for (let j = 0; j < layer.nOut; j++) {
        const value = values[i * layer.cols + j]!;
        if (i < layer.nIn) kernel[i * layer.nOut + j] = value;
        else bias[j] = value;
      }
    }
    return { kernel, bias };
  }

  #checkAlive(): void {
    if (this.#disposed) throw new Error('the MLP engine was disposed');
  }
}

function denseLayer(tf: TensorFlow, a: Tensor2D, w: Tensor2D, activation: EngineActivation): Tensor2D {
  if (FUSABLE.has(activation))
    return tf.fused.matMul({ a, b: w, activation: activation as 'linear' | 'relu' | 'elu' | 'sigmoid' }) as Tensor2D;
  const z = tf.matMul(a, w) as Tensor2D;
  return activation === 'tanh' ? tf.tanh<Tensor2D>(z) : tf.selu<Tensor2D>(z);
}

/**
 * What the backward pass reads of a hidden layer (b × cols): relu, its output after dropout and
 * the kept entries' scale 1/keep (`mask` null); other activations, h before dropout and the mask
 * (ones without dropout).
 */
type HiddenTape = { readonly h: Float32Array; readonly mask: Float32Array | null; readonly scale: number };

/**
 * relu's ∂/∂z (b × units, units = cols − 1) from ∂/∂a (`upstream`, b × units) and the layer's
 * output after dropout (b × cols): `scale` (1/keep) × upstream where that output is positive, else 0.
 */
function reluGradient(
  out: Float32Array,
  upstream: Float32Array,
  output: Float32Array,
  scale: number,
  b: number,
  cols: number,
): Float32Array {
  const kernels = kernelsFor(out, upstream, output);
  if (kernels !== null) {
    kernels.exports.reluBackward(out.byteOffset, upstream.byteOffset, output.byteOffset, scale, b, cols);
    return out;
  }
  const units = cols - 1;
  for (let r = 0; r < b; r++) {
    const at = r * cols;
    const to = r * units;
    for (let j = 0; j < units; j++) out[to + j] = output[at + j]! > 0 ? upstream[to + j]! * scale : 0;
  }
  return out;
}

/**
 * ∂/∂z of a hidden layer (b × units, units = cols − 1) from ∂/∂a (`upstream`, b × units), its
 * activations h (b × cols, before dropout; the last column is the fixed unit's, through which no
 * gradient flows) and its dropout mask (b × cols, values 0 or 1/keep; ones without dropout).
 * Writes into `out`.
 */
function activationGradient(
  out: Float32Array,
  activation: EngineActivation,
  upstream: Float32Array,
  h: Float32Array,
  mask: Float32Array,
  b: number,
  cols: number,
): Float32Array {
  const units = cols - 1;
  for (let r = 0; r < b; r++) {
    const at = r * cols;
    const to = r * units;
    // One loop per activation: a switch inside the loop costs more than the arithmetic.
    switch (activation) {
      case 'relu':
        for (let j = 0; j < units; j++) out[to + j] = h[at + j]! > 0 ? upstream[to + j]! * mask[at + j]! : 0;
        break;
      case 'linear':
        for (let j = 0; j < units; j++) out[to + j] = upstream[to + j]! * mask[at + j]!;
        break;
      case 'elu':
        for (let j = 0; j < units; j++) {
          const value = h[at + j]!;
          out[to + j] = upstream[to + j]! * mask[at + j]! * (value > 0 ? 1 : value + 1);
        }
        break;
      case 'selu':
        for (let j = 0; j < units; j++) {
          const value = h[at + j]!;
          out[to + j] = upstream[to + j]! * mask[at + j]! * (value > 0 ? SELU_SCALE : value + SELU_SCALE * SELU_ALPHA);
        }
        break;
      case 'sigmoid':
        for (let j = 0; j < units; j++) out[to + j] = upstream[to + j]! * mask[at + j]! * h[at + j]! * (1 - h[at + j]!);
        break;
      case 'tanh':
        for (let j = 0; j < units; j++) out[to + j] = upstream[to + j]! * mask[at + j]! * (1 - h[at + j]! * h[at + j]!);
        break;
    }
  }
  return out;
}

/**
 * out ← a·b, a m × k, b k × n, out m × n, row-major: the SIMD kernel where the three arrays are in
 * one kernel memory, else this loop. Both sum each out[i][j] over p = 0 … k − 1 in that order in
 * float32, so they give the same bits. Every product of a training step, instead of
 * TensorFlow.js's: on wasm each of those makes an XNNPACK operator and packs its right operand
 * at every call (a third of a step at batch 128; bench/engine-products.ts), and the kernel runs
 * these small products faster than XNNPACK's own arithmetic.
 */
export function matMul(out: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const kernels = kernelsFor(out, a, b);
  if (kernels !== null) {
    kernels.exports.matMul(out.byteOffset, a.byteOffset, b.byteOffset, m, k, n);
    return out;
  }
  const round = Math.fround;
  out.fill(0, 0, m * n);
  // p outside j: the same order of sums per entry, with b read along its rows.
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let p = 0; p < k; p++) {
      const ap = a[i * k + p]!;
      for (let j = 0, at = p * n; j < n; j++, at++) out[row + j] = round(out[row + j]! + round(ap * b[at]!));
    }
  }
  return out;
}

/** values ← activation(values), in place (relu in the kernel; the others in JavaScript, as float32). */
function activate(values: Float32Array, activation: EngineActivation): Float32Array {
  const n = values.length;
  // One loop per activation: a switch inside the loop costs more than the arithmetic.
  switch (activation) {
    case 'relu':
      return reluInPlace(values);
    case 'linear':
      return values;
    case 'tanh':
      for (let i = 0; i < n; i++) values[i] = Math.tanh(values[i]!);
      return values;
    case 'sigmoid':
      for (let i = 0; i < n; i++) values[i] = 1 / (1 + Math.exp(-values[i]!));
      return values;
    case 'elu':
      for (let i = 0; i < n; i++) {
        const x = values[i]!;
        values[i] = x > 0 ? x : Math.expm1(x);
      }
      return values;
    case 'selu':
      for (let i = 0; i < n; i++) {
        const x = values[i]!;
        values[i] = x > 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * Math.expm1(x);
      }
      return values;
  }
}

/** Each row of `values` (b × c) ← its softmax, in place, shifted by the row's maximum as TensorFlow.js does. */
function softmaxRows(values: Float32Array, b: number, c: number): Float32Array {
  for (let r = 0; r < b; r++) {
    const at = r * c;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < c; j++) max = Math.max(max, values[at + j]!);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += values[at + j] = Math.exp(values[at + j]! - max);
    for (let j = 0; j < c; j++) values[at + j] = values[at + j]! / sum;
  }
  return values;
}

/** values ← max(values, 0): the kernel's f32x4.max or Math.max, which agree on −0 and NaN. */
function reluInPlace(values: Float32Array): Float32Array {
  const kernels = kernelsFor(values);
  if (kernels !== null) {
    kernels.exports.relu(values.byteOffset, values.length);
    return values;
  }
  for (let i = 0; i < values.length; i++) values[i] = Math.max(values[i]!, 0);
  return values;
}

/** Rows of a transpose block: 16 floats, one cache line of the transposed output per column. */
const BLOCK = 16;

/** Writes `a` (rows × cols, row-major) transposed into `out` (cols × rows). @returns out */
function transpose(out: Float32Array, a: Float32Array, rows: number, cols: number): Float32Array {
  const kernels = kernelsFor(out, a);
  if (kernels !== null) {
    kernels.exports.transpose(out.byteOffset, a.byteOffset, rows, cols);
    return out;
  }
  // In blocks of rows: a column's writes fill whole cache lines, and the block's rows stay in cache.
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(r0 + BLOCK, rows);
    for (let j = 0; j < cols; j++) {
      const to = j * rows;
      for (let r = r0, from = r0 * cols + j; r < r1; r++, from += cols) out[to + r] = a[from]!;
    }
  }
  return out;
}

const fixedUnitConstants = new Map<string, number | null>();

/**
 * The pre-activation of a hidden layer's fixed unit: a constant whose activation is exactly 1
 * on the current backend, so that the unit's output is the next layer's ones column; null when
 * no candidate gives exactly 1 (then the layers loop trains the run). Probed once per backend.
 */
export function fixedUnitConstant(tf: TensorFlow, activation: EngineActivation): number | null {
  const key = `${tf.getBackend()}/${activation}`;
  if (!fixedUnitConstants.has(key)) fixedUnitConstants.set(key, probeFixedUnitConstant(tf, activation));
  return fixedUnitConstants.get(key)!;
}

function probeFixedUnitConstant(tf: TensorFlow, activation: EngineActivation): number | null {
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
    return tf.concat(candidates.map((c) => tf.reshape(denseLayer(tf, a, tf.tensor2d([c], [1, 1]), activation), [1])));
  });
  const read = values.dataSync();
  values.dispose();
  const index = Array.from(read).indexOf(1);
  return index < 0 ? null : candidates[index]!;
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
 * masks: a closure-based generator would dominate the step.
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

  /**
   * Inverted dropout of `values` (rows × cols; the last column, the ones column, is kept as it
   * is): every other entry kept and scaled by 1/keep with probability keep, else 0. Writes the
   * result into `dropped` and, transposed (cols × rows), into `droppedT`; the mask (1/keep or 0,
   * 1 on the last column) into `mask` when given. One draw per entry, row by row.
   */
  dropout(
    values: Float32Array,
    dropped: Float32Array,
    droppedT: Float32Array,
    mask: Float32Array | null,
    rows: number,
    cols: number,
    keep: number,
  ): void {
    const threshold = keep * 4294967296;
    // The float32 scale, as a Float32Array mask holds it.
    const kept = Math.fround(1 / keep);
    const kernels = mask === null ? kernelsFor(values, dropped, droppedT) : kernelsFor(values, dropped, droppedT, mask);
    if (kernels !== null) {
      const { args, exports } = kernels;
      args[0] = this.#a;
      args[1] = this.#b;
      args[2] = this.#c;
      args[3] = this.#d;
      exports.dropout(
        values.byteOffset,
        dropped.byteOffset,
        droppedT.byteOffset,
        mask?.byteOffset ?? 0,
        rows,
        cols,
        threshold,
        kept,
        args.byteOffset,
      );
      this.#a = args[0]!;
      this.#b = args[1]!;
      this.#c = args[2]!;
      this.#d = args[3]!;
      return;
    }
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
        const scale = result < threshold ? kept : 0;
        const value = values[base + j]! * scale;
        dropped[base + j] = value;
        droppedT[j * rows + r] = value;
        if (mask !== null) mask[base + j] = scale;
      }
      const ones = values[base + cols - 1]!;
      dropped[base + cols - 1] = ones;
      droppedT[(cols - 1) * rows + r] = ones;
      if (mask !== null) mask[base + cols - 1] = 1;
    }
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
