/**
 * The optimizers of spec.ts as the fast engines apply them, over ranges of Float32Arrays, with
 * TensorFlow.js's formulas and defaults (tf.train.adam, sgd, rmsprop with no
 * momentum, adagrad): the dense layers of mlp-engine.ts and the embedding tables of
 * ratings-engine.ts take their steps through this one implementation. Adam runs in the SIMD kernel
 * (kernels/kernel-memory.ts) when the arrays live in a kernel memory, with the same result.
 */
import { kernelsFor } from './kernels/kernel-memory.js';

/** Optimizers the engines implement (all of spec.ts), with TensorFlow.js's default settings. */
export const ENGINE_OPTIMIZERS = ['adam', 'sgd', 'rmsprop', 'adagrad'] as const;
export type EngineOptimizer = (typeof ENGINE_OPTIMIZERS)[number];

/** TensorFlow.js's optimizer defaults (tf.train.adam, rmsprop, adagrad); kernels/kernels.wat's Adam has the same β's. */
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const RMSPROP_DECAY = 0.9;
const ADAGRAD_INITIAL = 0.1;

/** Optimizer slots per parameter: Adam m and v; RMSprop the mean square; Adagrad the accumulator. */
const SLOTS: Readonly<Record<EngineOptimizer, number>> = { adam: 2, sgd: 0, rmsprop: 1, adagrad: 1 };
/** Small codes for the branch of `applyRange`. */
const CODES: Readonly<Record<EngineOptimizer, number>> = { adam: 0, sgd: 1, rmsprop: 2, adagrad: 3 };

/**
 * One optimizer's step counter and formulas. The parameters, their gradients and their slots are
 * the caller's arrays (`createSlots`), so one optimizer serves several parameter blocks of a model.
 */
export class ParameterOptimizer {
  readonly kind: EngineOptimizer;
  readonly learningRate: number;
  /**
   * Whether a zero gradient leaves a parameter and its slots exactly as they are (sgd, adagrad):
   * a step then needs to visit only the parameters that have a gradient. Adam's moments and
   * RMSprop's mean square decay on every step, gradient or not.
   */
  readonly sparse: boolean;
  readonly #code: number;
  readonly #epsilon: number;
  #step = 0;
  #correction1 = 1;
  #correction2 = 1;
  /** `applyRange`'s one range start, for `applyRanges`. */
  readonly #single = new Int32Array(1);

  /** @param epsilon the backend's (tf.backend().epsilon()), as TensorFlow.js's optimizers use it. */
  constructor(kind: EngineOptimizer, learningRate: number, epsilon: number) {
    this.kind = kind;
    this.learningRate = learningRate;
    this.sparse = kind === 'sgd' || kind === 'adagrad';
    this.#code = CODES[kind];
    this.#epsilon = epsilon;
  }

  /** Steps begun so far. */
  get steps(): number {
    return this.#step;
  }

  /**
   * Fresh slots for `size` parameters (0 to 2 arrays), at TensorFlow.js's initial values;
   * `allocate` gives the zeroed arrays (a kernel memory's, for the kernels to step them).
   */
  createSlots(size: number, allocate: (size: number) => Float32Array = (n) => new Float32Array(n)): Float32Array[] {
    return Array.from({ length: SLOTS[this.kind] }, () => allocate(size).fill(this.kind === 'adagrad' ? ADAGRAD_INITIAL : 0));
  }

  /** Begins the next step: every `applyRange` until the next call belongs to it (Adam's bias corrections). */
  beginStep(): void {
    const t = ++this.#step;
    this.#correction1 = 1 - ADAM_BETA1 ** t;
    this.#correction2 = 1 - ADAM_BETA2 ** t;
  }

  /**
   * Updates `P[from…to)` from their gradients `G[from…to)` (the same layout), with `slots` from
   * `createSlots` in that layout too. A parameter whose gradient has always been zero stays
   * exactly as it is under every optimizer (its update is 0 / (0 + ε) or 0), so a block may hold
   * fixed entries whose gradient the caller keeps at zero.
   */
  applyRange(P: Float32Array, slots: readonly Float32Array[], G: Float32Array, from: number, to: number): void {
    this.#single[0] = from;
    this.applyRanges(P, slots, G, this.#single, 1, to - from);
  }

  /**
   * `applyRange` on `count` ranges of `width` parameters, starting at `starts[0…count)` (e.g. the
   * embedding rows a batch touched), in one call.
   */
  applyRanges(P: Float32Array, slots: readonly Float32Array[], G: Float32Array, starts: Int32Array, count: number, width: number): void {
    const lr = this.learningRate;
    const eps = this.#epsilon;
    const s1 = slots[0] ?? P;
    const s2 = slots[1] ?? P;
    // One loop per optimizer: a branch inside the loop would cost more than the arithmetic.
    switch (this.#code) {
      case 0: {
        // lr · m̂ / (√v̂ + ε), with m̂ = m / (1 − β1ᵗ) and v̂ = v / (1 − β2ᵗ).
        const stepSize = lr / this.#correction1;
        const inverse2 = 1 / this.#correction2;
        const kernels = kernelsFor(P, s1, s2, G);
        if (kernels !== null) {
          const { adam, adamRanges } = kernels.exports;
          if (kernelsFor(P, starts) !== null) {
            adamRanges(P.byteOffset, s1.byteOffset, s2.byteOffset, G.byteOffset, starts.byteOffset, count, width, stepSize, inverse2, eps);
          } else {
            // Starts from elsewhere (applyRange's one): a kernel call per range.
            for (let r = 0; r < count; r++) {
              const at = starts[r]! * 4;
              adam(P.byteOffset + at, s1.byteOffset + at, s2.byteOffset + at, G.byteOffset + at, width, stepSize, inverse2, eps);
            }
          }
          break;
        }
        for (let r = 0; r < count; r++) {
          const to = starts[r]! + width;
          for (let k = starts[r]!; k < to; k++) {
            const g = G[k]!;
            const m = (s1[k] = ADAM_BETA1 * s1[k]! + (1 - ADAM_BETA1) * g);
            const v = (s2[k] = ADAM_BETA2 * s2[k]! + (1 - ADAM_BETA2) * g * g);
            P[k] = P[k]! - (stepSize * m) / (Math.sqrt(v * inverse2) + eps);
          }
        }
        break;
      }
      case 1:
        for (let r = 0; r < count; r++) {
          const to = starts[r]! + width;
          for (let k = starts[r]!; k < to; k++) P[k] = P[k]! - lr * G[k]!;
        }
        break;
      case 2:
        for (let r = 0; r < count; r++) {
          const to = starts[r]! + width;
          for (let k = starts[r]!; k < to; k++) {
            const g = G[k]!;
            const meanSquare = (s1[k] = RMSPROP_DECAY * s1[k]! + (1 - RMSPROP_DECAY) * g * g);
            P[k] = P[k]! - (lr * g) / Math.sqrt(meanSquare + eps);
          }
        }
        break;
      default:
        for (let r = 0; r < count; r++) {
          const to = starts[r]! + width;
          for (let k = starts[r]!; k < to; k++) {
            const g = G[k]!;
            const accumulated = (s1[k] = s1[k]! + g * g);
            P[k] = P[k]! - (lr * g) / Math.sqrt(accumulated + eps);
          }
        }
    }
  }
}
