/**
 * A training engine for the recommendation families `mf` and `ncf` (recsys/models.ts), written
 * as the MLP engine is (mlp-engine.ts): a hand-written forward and backward pass on typed arrays
 * instead of TensorFlow.js's taped layers model, whose step spent dozens of kernels on gathers,
 * the gathers' gradients (a scatter into a dense zero tensor per embedding) and scalar glue.
 *
 * - Embedding look-ups are gathers in JavaScript; their gradients are summed into the rows the
 *   batch touched only (a row looked up twice gets both contributions).
 * - Each side (users, items) keeps ONE table, every embedding of that side a segment of its
 *   rows: mf's row of user u is [p_u, b_u], so the prediction μ + b_u + b_i + p_uᵀq_i and its
 *   gradient are one loop per rating (biases and dot term fused); ncf's is [p_u, p'_u] (the
 *   tower's embedding, then the dot term's own when `useDotTerm`).
 * - ncf's MLP is an MlpEngine used as a tower (`backpropagate`: the same kernels and optimizer
 *   step as the `mlp` family): its inputs [p_u, q_i, x_u, x_i] are assembled per batch, its
 *   output deltas include the dot term, and its gradient by the inputs flows into the rows.
 * - L2 as recsys/models.ts defines it: λ(‖row_u‖² + ‖row_i‖²) per rating over every embedding
 *   (mf's biases included), averaged over the batch; none on the tower's dense layers.
 * - The optimizer (optimizers.ts) steps the tables lazily or exactly (`EmbeddingSteps`): exact,
 *   Adam and RMSprop update every row of a table at every step, as TensorFlow.js does with an
 *   embedding's dense gradient (their moments decay and Adam's rows keep moving without a
 *   gradient); lazy, only the rows the batch touched. SGD and Adagrad, which leave a row without
 *   gradient exactly as it is, visit the touched rows only either way. The tower is always exact.
 *
 * Initial weights are read from the layers model that the same seed builds (same values as the
 * layers path), and a trained engine's weights are written back into it by layer name
 * (`layerWeights`): the saved model is the layers model of recsys/models.ts. The tower's dropout
 * masks come from the MLP engine's seeded stream, not tf.dropout's.
 */
import type { TensorFlow } from '../backend.js';
import type { Params } from '../contract/spec.js';
import { hiddenWidths, PREDICT_BATCH_SIZE } from '../models/layers.js';
import { RATINGS_LAYERS, towerLayers, type RatingsModelShape } from '../recsys/models.js';
import { MlpEngine, unsupportedReason, type BetweenBatches, type EngineActivation, type TowerGradients } from './mlp-engine.js';
import { KernelMemory } from './kernels/kernel-memory.js';
import { ENGINE_OPTIMIZERS, ParameterOptimizer, type EngineOptimizer } from './optimizers.js';
import type { WeightSlot } from '../training/types.js';

/** ncf's MLP: its dense layers' names (recsys/models.ts), widths and activation. */
export type TowerArchitecture = {
  /** Dense layers, input to output (the last is the output layer). */
  readonly layers: readonly string[];
  readonly hidden: readonly number[];
  readonly activation: EngineActivation;
};

export type RatingsArchitecture = {
  readonly family: 'mf' | 'ncf';
  readonly factors: number;
  /** Embedding rows (index 0: unknown users or items, never looked up in training). */
  readonly userRows: number;
  readonly itemRows: number;
  /** ncf: width of the side-features input (0: none). */
  readonly nFeatures: number;
  /** mf: μ, added to every prediction (ncf starts its output bias there instead). */
  readonly globalMean: number;
  /** ncf: the dot term p'_uᵀq'_i on embeddings of its own (NeuMF). mf's dot is the model itself. */
  readonly dotTerm: boolean;
  /** ncf's MLP; null for mf. */
  readonly tower: TowerArchitecture | null;
};

/**
 * How Adam and RMSprop step the embedding tables. `exact`: every row at every step, as the layers
 * path (TensorFlow.js's dense embedding gradient) and PyTorch's nn.Embedding with Adam do, O(all
 * rows) per step. `lazy`: only the rows the batch touched, with their own moments and Adam's bias
 * corrections at the global step, as TensorFlow's LazyAdam and PyTorch's SparseAdam do, O(batch)
 * per step; a row nobody rated in a step keeps its weights and moments until it is rated again.
 */
export const EMBEDDING_STEPS = ['exact', 'lazy'] as const;
export type EmbeddingSteps = (typeof EMBEDDING_STEPS)[number];

export type RatingsHyperparameters = Pick<Params, 'learningRate' | 'l2' | 'dropout'> & {
  readonly optimizer: EngineOptimizer;
  readonly embeddingSteps: EmbeddingSteps;
};

/** Weights by layer name, each layer's as its `getWeights()` lists them (an embedding: its table; a dense layer: kernel, bias). */
export type LayerWeights = ReadonlyMap<string, readonly Float32Array[]>;

/** Rows as the engine reads them: embedding indices per rating, ncf's side features (n × nFeatures), ratings. */
export type RatingsRows = {
  readonly users: Int32Array;
  readonly items: Int32Array;
  readonly features: Float32Array | null;
  readonly y: Float32Array;
  readonly n: number;
  /**
   * The same side features by embedding index (`sideFeatures`), when every index has one set:
   * training gathers each batch's from these small tables instead of the n × nFeatures matrix,
   * whose rows a shuffled batch reads from all over memory.
   */
  readonly sides?: SideFeatures | null;
};

/** ncf's side features per embedding index: the user's (the first `userWidth` columns) and the item's (the rest). */
export type SideFeatures = {
  readonly userWidth: number;
  /** userRows × userWidth, row-major. */
  readonly users: Float32Array;
  /** itemRows × (nFeatures − userWidth), row-major. */
  readonly items: Float32Array;
};

/**
 * The side features of `rows` by embedding index, when they are a function of it: the first
 * `userWidth` columns of every row those of its user's index, the rest those of its item's
 * (true of training rows, where each index is one user or item; not of held-out rows, whose
 * cold users share index 0). @returns null when they are not, or without side features.
 */
export function sideFeatures(rows: RatingsRows, userWidth: number, userRows: number, itemRows: number): SideFeatures | null {
  const { features, n } = rows;
  if (features === null || n === 0) return null;
  const width = features.length / n;
  const itemWidth = width - userWidth;
  const tables = { userWidth, users: new Float32Array(userRows * userWidth), items: new Float32Array(itemRows * itemWidth) };
  const seen = { users: new Uint8Array(userRows), items: new Uint8Array(itemRows) };
  // Copies each index's features from its first row and checks that every later row agrees.
  const agrees = (side: 'users' | 'items', index: number, from: number, size: number): boolean => {
    const table = tables[side];
    const at = index * size;
    if (seen[side][index] === 0) {
      seen[side][index] = 1;
      table.set(features.subarray(from, from + size), at);
      return true;
    }
    for (let j = 0; j < size; j++) if (table[at + j] !== features[from + j]) return false;
    return true;
  };
  for (let r = 0; r < n; r++) {
    const from = r * width;
    if (!agrees('users', rows.users[r]!, from, userWidth) || !agrees('items', rows.items[r]!, from + userWidth, itemWidth)) return null;
  }
  return tables;
}

/** An epoch's means over its ratings, each batch's taken before its step. */
export type EpochLosses = {
  /** Mean squared error. */
  readonly loss: number;
  /** The objective: the squared error plus the L2 penalty. */
  readonly objective: number;
};

/**
 * Why the engine cannot train `params` (null when it can); with `tf`, also checks that the
 * backend runs ncf's tower (mlp-engine.ts's fixed hidden units).
 */
export function ratingsUnsupportedReason(
  params: Pick<Params, 'family' | 'activation' | 'optimizer' | 'depth'>,
  tf?: TensorFlow,
): string | null {
  if (params.family === 'mf')
    return (ENGINE_OPTIMIZERS as readonly string[]).includes(params.optimizer) ? null : `optimizer ${params.optimizer} is not implemented`;
  if (params.family === 'ncf') return unsupportedReason({ ...params, family: 'mlp' }, tf);
  return `family ${params.family} has no embeddings`;
}

/** The engine's view of a task's ratings model (recsys/models.ts). @throws {Error} for a family it does not train. */
export function ratingsArchitectureFor(params: Params, shape: RatingsModelShape): RatingsArchitecture {
  const reason = ratingsUnsupportedReason(params);
  if (reason !== null || params.family === 'mlp') throw new Error(`the ratings engine cannot train this run: ${reason}`);
  const ncf = params.family === 'ncf';
  return {
    family: params.family,
    factors: params.factors,
    userRows: shape.userRows,
    itemRows: shape.itemRows,
    nFeatures: ncf ? shape.nFeatures : 0,
    globalMean: shape.globalMean,
    dotTerm: ncf && params.useDotTerm,
    tower: ncf ? { layers: towerLayers(params), hidden: hiddenWidths(params), activation: params.activation } : null,
  };
}

/** One embedding layer's place in its side's table: columns offset … offset + dim − 1 of every row. */
type Segment = { readonly name: string; readonly offset: number; readonly dim: number };

/**
 * The embeddings of one side (users or items) as one row-major table, with the current step's
 * gradient (zero outside the rows touched since the last step) and the optimizer's slots.
 */
class EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly segments: readonly Segment[];
  readonly values: Float32Array;
  readonly gradient: Float32Array;
  readonly #slots: Float32Array[];
  /** Where the rows touched in this step start, in touching order. */
  readonly #touched: Int32Array;
  readonly #isTouched: Uint8Array;
  #count = 0;

  constructor(rows: number, segments: readonly Segment[], initial: LayerWeights, optimizer: ParameterOptimizer) {
    this.rows = rows;
    this.segments = segments;
    this.dim = segments.reduce((sum, segment) => sum + segment.dim, 0);
    const size = rows * this.dim;
    // The values, gradient, at most two optimizer slots and the touched rows, where the Adam kernel steps them.
    const memory = new KernelMemory(4 * size + rows, 5);
    this.values = memory.f32(size);
    this.gradient = memory.f32(size);
    this.#slots = optimizer.createSlots(size, (n) => memory.f32(n));
    this.#touched = memory.i32(rows);
    this.#isTouched = new Uint8Array(rows);
    for (const { name, offset, dim } of segments) {
      const table = initial.get(name)?.[0];
      if (table === undefined || table.length !== rows * dim) throw new RangeError(`embedding ${name}: expected ${rows} × ${dim} weights`);
      for (let row = 0; row < rows; row++) this.values.set(table.subarray(row * dim, (row + 1) * dim), row * this.dim + offset);
    }
  }

  /** Marks `row` as having a gradient in this step. @returns where the row starts in `values` and `gradient`. */
  touch(row: number): number {
    const start = row * this.dim;
    if (this.#isTouched[row] === 0) {
      this.#isTouched[row] = 1;
      this.#touched[this.#count++] = start;
    }
    return start;
  }

  /**
   * The optimizer's update of this step, then a zero gradient: of the touched rows only when
   * that is exact (`optimizer.sparse`) or asked for (`lazy`), else of every row.
   */
  step(optimizer: ParameterOptimizer, lazy: boolean): void {
    if (optimizer.sparse || lazy) {
      // In table order, the rows' values, gradients and moments are read front to back.
      const touched = this.#touched.subarray(0, this.#count).sort();
      optimizer.applyRanges(this.values, this.#slots, this.gradient, touched, this.#count, this.dim);
    } else {
      optimizer.applyRange(this.values, this.#slots, this.gradient, 0, this.values.length);
    }
    this.discard();
  }

  /** Zeroes the gradient of the touched rows and forgets them. */
  discard(): void {
    const { gradient, dim } = this;
    for (let t = 0; t < this.#count; t++) {
      const start = this.#touched[t]!;
      // A loop: a fill call per row costs more than the row's few values.
      for (let j = start; j < start + dim; j++) gradient[j] = 0;
      this.#isTouched[start / dim] = 0;
    }
    this.#count = 0;
  }

  /** One segment's columns of `values` (or of another array in this layout) as a rows × dim table. */
  segment(segment: Segment, source: Float32Array = this.values): Float32Array {
    const out = new Float32Array(this.rows * segment.dim);
    for (let row = 0; row < this.rows; row++) {
      const start = row * this.dim + segment.offset;
      out.set(source.subarray(start, start + segment.dim), row * segment.dim);
    }
    return out;
  }

  sumOfSquares(): number {
    let sum = 0;
    for (const value of this.values) sum += value * value;
    return sum;
  }
}

/**
 * An `mf` or `ncf` model under training. Its embeddings and optimizer state live in JavaScript;
 * ncf's tower is an MlpEngine, which holds no tensors between calls either. Not re-entrant.
 */
export class RatingsEngine {
  readonly architecture: RatingsArchitecture;
  readonly hyper: RatingsHyperparameters;

  readonly #users: EmbeddingTable;
  readonly #items: EmbeddingTable;
  readonly #tower: MlpEngine | null;
  /** The embeddings' optimizer (the tower has its own, stepping in lockstep). */
  readonly #optimizer: ParameterOptimizer;
  /** μ as the layers model holds it (float32). */
  readonly #mean: number;
  /** Where the dot term's factors start in a row (mf: 0; ncf: after the tower's embedding), −1 without one. */
  readonly #dotAt: number;
  /** mf: where the bias sits in a row; −1 for ncf. */
  readonly #biasAt: number;
  #batch = { errors: new Float32Array(0), userAt: new Int32Array(0), itemAt: new Int32Array(0) };
  /** `#inOrder`'s arrays. */
  #ordered = { users: new Int32Array(0), items: new Int32Array(0), y: new Float32Array(0), features: new Float32Array(0) };
  /** Copies of the embeddings by slot (training/types.ts WeightSlot); the tower keeps its own. */
  readonly #copies = new Map<WeightSlot, { readonly users: Float32Array; readonly items: Float32Array }>();
  #disposed = false;

  private constructor(
    tf: TensorFlow,
    architecture: RatingsArchitecture,
    hyper: RatingsHyperparameters,
    initial: LayerWeights,
    options: { readonly seed: number },
  ) {
    this.architecture = architecture;
    this.hyper = hyper;
    this.#optimizer = new ParameterOptimizer(hyper.optimizer, hyper.learningRate, tf.backend().epsilon());
    this.#mean = Math.fround(architecture.globalMean);
    const k = architecture.factors;
    const { factors, bias, embedding } = RATINGS_LAYERS;
    const sides = (side: 'user' | 'item'): Segment[] => {
      if (architecture.family === 'mf')
        return [
          { name: factors[side], offset: 0, dim: k },
          { name: bias[side], offset: k, dim: 1 },
        ];
      return [{ name: embedding[side], offset: 0, dim: k }, ...(architecture.dotTerm ? [{ name: factors[side], offset: k, dim: k }] : [])];
    };
    this.#dotAt = architecture.family === 'mf' ? 0 : architecture.dotTerm ? k : -1;
    this.#biasAt = architecture.family === 'mf' ? k : -1;
    this.#users = new EmbeddingTable(architecture.userRows, sides('user'), initial, this.#optimizer);
    this.#items = new EmbeddingTable(architecture.itemRows, sides('item'), initial, this.#optimizer);

    const tower = architecture.tower;
    if (tower === null) {
      this.#tower = null;
      return;
    }
    const towerWeights = tower.layers.map((name) => {
      const [kernel, bias] = initial.get(name) ?? [];
      if (kernel === undefined || bias === undefined) throw new RangeError(`dense layer ${name}: expected a kernel and a bias`);
      return { kernel, bias };
    });
    this.#tower = MlpEngine.create(
      tf,
      { nInputs: 2 * k + architecture.nFeatures, hidden: tower.hidden, nOutputs: 1, activation: tower.activation, output: 'linear' },
      // λ is the embeddings' (per rating); the tower is regularised by dropout (recsys/models.ts).
      { optimizer: hyper.optimizer, learningRate: hyper.learningRate, l2: 0, dropout: hyper.dropout },
      towerWeights,
      options,
    );
  }

  /**
   * An engine whose initial weights are `initial`, by layer name: those of the layers model that
   * recsys/models.ts builds for the same run (`readLayerWeights`).
   * @param options.seed the tower's dropout masks.
   */
  static create(
    tf: TensorFlow,
    architecture: RatingsArchitecture,
    hyper: RatingsHyperparameters,
    initial: LayerWeights,
    options: { readonly seed: number },
  ): RatingsEngine {
    return new RatingsEngine(tf, architecture, hyper, initial, options);
  }

  /** Optimizer steps taken so far. */
  get steps(): number {
    return this.#optimizer.steps;
  }

  /** One pass over `rows` in `order`, in mini-batches of `batchSize` (the last one smaller). */
  async trainEpoch(rows: RatingsRows, order: Int32Array, batchSize: number, between?: BetweenBatches): Promise<EpochLosses> {
    this.#checkAlive();
    const size = Math.min(batchSize, order.length);
    if (size <= 0) throw new RangeError('an epoch needs at least one rating');
    let loss = 0;
    let objective = 0;
    // The epoch's ratings in visiting order, gathered once: each batch then reads a contiguous run.
    const ordered = this.#inOrder(rows, order);
    for (let start = 0; start < order.length; start += size) {
      await between?.();
      const sums = this.#accumulate(ordered, start, Math.min(size, order.length - start), true);
      loss += sums.squaredErrors;
      objective += sums.squaredErrors + sums.penalty;
      this.#optimizer.beginStep();
      const lazy = this.hyper.embeddingSteps === 'lazy';
      this.#users.step(this.#optimizer, lazy);
      this.#items.step(this.#optimizer, lazy);
      if (sums.tower !== null) this.#tower!.applyGradients(sums.tower);
    }
    return { loss: loss / order.length, objective: objective / order.length };
  }

  /** Predictions (dropout off) for every row of `rows`, in row order. */
  async predict(rows: RatingsRows): Promise<Float32Array> {
    this.#checkAlive();
    const { n } = rows;
    const out = new Float32Array(n);
    const U = this.#users.values;
    const I = this.#items.values;
    const D = this.#users.dim;
    const tower = this.#tower;
    if (tower !== null) {
      const width = tower.architecture.nInputs;
      for (let start = 0; start < n; start += PREDICT_BATCH_SIZE) {
        const count = Math.min(PREDICT_BATCH_SIZE, n - start);
        const x = new Float32Array(count * width);
        for (let r = 0; r < count; r++) {
          const row = start + r;
          this.#towerInputs(rows, row, rows.users[row]! * D, rows.items[row]! * D, x, r * width);
        }
        out.set(await tower.predict(x, count), start);
      }
    }
    for (let r = 0; r < n; r++) {
      const ou = rows.users[r]! * D;
      const oi = rows.items[r]! * D;
      let value = tower === null ? this.#mean : out[r]!;
      if (this.#biasAt >= 0) value += U[ou + this.#biasAt]! + I[oi + this.#biasAt]!;
      if (this.#dotAt >= 0) value += dot(U, ou + this.#dotAt, I, oi + this.#dotAt, this.architecture.factors);
      out[r] = value;
    }
    return out;
  }

  /**
   * The gradient of the batch's mean squared error plus the L2 penalty by every trainable
   * layer's weights (by layer name, as `layerWeights`), at the current weights, without dropout
   * and without a step: what the optimizer is given. For checks against automatic differentiation.
   */
  async gradient(rows: RatingsRows, batch: Int32Array): Promise<Map<string, Float32Array[]>> {
    this.#checkAlive();
    const { tower } = this.#accumulate(this.#inOrder(rows, batch), 0, batch.length, false);
    const out = new Map<string, Float32Array[]>();
    for (const table of [this.#users, this.#items]) {
      for (const segment of table.segments) out.set(segment.name, [table.segment(segment, table.gradient)]);
      table.discard();
    }
    if (tower !== null) this.#towerEntries(this.#tower!.layerGradients(tower), out);
    return out;
  }

  /** The current weights of every trainable layer by name, as the layers model's `setWeights` wants them. */
  async layerWeights(): Promise<Map<string, Float32Array[]>> {
    this.#checkAlive();
    const out = new Map<string, Float32Array[]>();
    for (const table of [this.#users, this.#items]) for (const segment of table.segments) out.set(segment.name, [table.segment(segment)]);
    if (this.#tower !== null) this.#towerEntries(await this.#tower.denseWeights(), out);
    return out;
  }

  /** Sum of squares of every parameter: not finite once any parameter is not. */
  parameterSumOfSquares(): number {
    return this.#users.sumOfSquares() + this.#items.sumOfSquares() + (this.#tower?.parameterNorms().sumOfSquares ?? 0);
  }

  /** Keeps a copy of the current weights in `slot` (by default as the best so far). */
  snapshot(slot: WeightSlot = 'best'): void {
    this.#checkAlive();
    this.#copies.set(slot, { users: this.#users.values.slice(), items: this.#items.values.slice() });
    this.#tower?.snapshot(slot);
  }

  /** Puts the weights of `slot`'s snapshot back (the slot keeps it). @returns false when there is no snapshot. */
  restoreSnapshot(slot: WeightSlot = 'best'): boolean {
    this.#checkAlive();
    const copy = this.#copies.get(slot);
    if (copy === undefined) return false;
    this.#users.values.set(copy.users);
    this.#items.values.set(copy.items);
    this.#tower?.restoreSnapshot(slot);
    return true;
  }

  /** Marks the engine unusable (it holds no tensors between calls). */
  dispose(): void {
    this.#disposed = true;
    this.#copies.clear();
    this.#tower?.dispose();
  }

  // ───────────────────────────── one batch ─────────────────────────────

  /**
   * `rows` in `order` (users, items, ratings; per-row features unless the side tables are there),
   * in scratch arrays reused by the next call.
   */
  #inOrder(rows: RatingsRows, order: Int32Array): RatingsRows {
    const n = order.length;
    const sides = rows.sides ?? null;
    const f = this.architecture.nFeatures;
    const copyFeatures = sides === null && rows.features !== null;
    if (this.#ordered.y.length < n)
      this.#ordered = { users: new Int32Array(n), items: new Int32Array(n), y: new Float32Array(n), features: new Float32Array(0) };
    if (copyFeatures && this.#ordered.features.length < n * f) this.#ordered.features = new Float32Array(n * f);
    const { users, items, y, features } = this.#ordered;
    for (let r = 0; r < n; r++) {
      const row = order[r]!;
      users[r] = rows.users[row]!;
      items[r] = rows.items[row]!;
      y[r] = rows.y[row]!;
    }
    if (copyFeatures) for (let r = 0; r < n; r++) features.set(rows.features!.subarray(order[r]! * f, (order[r]! + 1) * f), r * f);
    return { users, items, y, n, sides, features: copyFeatures ? features : null };
  }

  /**
   * Forward and backward pass on ratings `start…start + b` of `rows` (a batch): the embeddings'
   * gradients summed into the touched rows of each table, the tower's returned for its own step.
   * @returns the batch's sums of squared errors and of the L2 penalty, and the tower's gradients (ncf).
   */
  #accumulate(
    rows: RatingsRows,
    start: number,
    b: number,
    training: boolean,
  ): { readonly squaredErrors: number; readonly penalty: number; readonly tower: TowerGradients | null } {
    const k = this.architecture.factors;
    const users = this.#users;
    const items = this.#items;
    const U = users.values;
    const I = items.values;
    const GU = users.gradient;
    const GI = items.gradient;
    const lambda = this.hyper.l2;
    // d(mean over the batch of (e² + λ‖row‖²)) = 2/b · (e · ∂r̂ + λ · row).
    const scale = 2 / b;
    const decay = scale * lambda;
    const { errors, userAt, itemAt } = this.#batchBuffers(b);
    // Where each rating's user and item rows start, looked up once per batch.
    for (let r = 0; r < b; r++) {
      userAt[r] = users.touch(rows.users[start + r]!);
      itemAt[r] = items.touch(rows.items[start + r]!);
    }
    let squaredErrors = 0;
    // Σ ‖row_u‖² + ‖row_i‖² over the batch's ratings (λ times it is the penalty).
    let squares = 0;

    let towerGradients: TowerGradients | null = null;
    if (this.#tower === null) {
      // mf: r̂ = μ + b_u + b_i + p_uᵀq_i, rows [p_u, b_u].
      const mean = this.#mean;
      for (let r = 0; r < b; r++) {
        const ou = userAt[r]!;
        const oi = itemAt[r]!;
        const e = mean + U[ou + k]! + I[oi + k]! + dot(U, ou, I, oi, k) - rows.y[start + r]!;
        squaredErrors += e * e;
        const g = scale * e;
        for (let j = 0; j < k; j++) {
          const u = U[ou + j]!;
          const i = I[oi + j]!;
          GU[ou + j]! += g * i + decay * u;
          GI[oi + j]! += g * u + decay * i;
          squares += u * u + i * i;
        }
        const bu = U[ou + k]!;
        const bi = I[oi + k]!;
        GU[ou + k]! += g + decay * bu;
        GI[oi + k]! += g + decay * bi;
        squares += bu * bu + bi * bi;
      }
    } else {
      // ncf: r̂ = tower([p_u, q_i, x_u, x_i]) (+ p'_uᵀq'_i), rows [p_u (, p'_u)].
      const tower = this.#tower;
      const width = tower.architecture.nInputs + 1;
      const x0 = tower.batchInputs(b);
      for (let r = 0; r < b; r++) this.#towerInputs(rows, start + r, userAt[r]!, itemAt[r]!, x0, r * width);
      const dotAt = this.#dotAt;
      const outputDelta = (p: Float32Array, delta: Float32Array) => {
        for (let r = 0; r < b; r++) {
          const extra = dotAt < 0 ? 0 : dot(U, userAt[r]! + dotAt, I, itemAt[r]! + dotAt, k);
          const e = p[r]! + extra - rows.y[start + r]!;
          errors[r] = e;
          delta[r] = e;
          squaredErrors += e * e;
        }
      };
      // The gradient by the tower's first 2k inputs: [p_u, q_i] (the side features have none).
      towerGradients = tower.backpropagate(x0, b, outputDelta, { training, inputColumns: 2 * k });
      // The tower's sums are of (loss / lossFactor) over the batch.
      const towerScale = tower.lossFactor / b;
      const input = towerGradients.input!;
      for (let r = 0; r < b; r++) {
        const ou = userAt[r]!;
        const oi = itemAt[r]!;
        const from = r * 2 * k;
        for (let j = 0; j < k; j++) {
          const u = U[ou + j]!;
          const i = I[oi + j]!;
          GU[ou + j]! += towerScale * input[from + j]! + decay * u;
          GI[oi + j]! += towerScale * input[from + k + j]! + decay * i;
          squares += u * u + i * i;
        }
        if (dotAt >= 0) {
          const g = scale * errors[r]!;
          for (let j = dotAt; j < dotAt + k; j++) {
            const u = U[ou + j]!;
            const i = I[oi + j]!;
            GU[ou + j]! += g * i + decay * u;
            GI[oi + j]! += g * u + decay * i;
            squares += u * u + i * i;
          }
        }
      }
    }
    return { squaredErrors, penalty: lambda > 0 ? lambda * squares : 0, tower: towerGradients };
  }

  /**
   * Writes rating `row`'s tower inputs [p_u, q_i, features] into `x` at `at`; `ou` and `oi`:
   * where its user's and item's rows start in the tables.
   */
  #towerInputs(rows: RatingsRows, row: number, ou: number, oi: number, x: Float32Array, at: number): void {
    const k = this.architecture.factors;
    const f = this.architecture.nFeatures;
    const U = this.#users.values;
    const I = this.#items.values;
    // Plain loops: a subarray per row and input would cost more than the copy.
    for (let j = 0; j < k; j++) {
      x[at + j] = U[ou + j]!;
      x[at + k + j] = I[oi + j]!;
    }
    const to = at + 2 * k;
    const sides = rows.sides;
    if (sides !== undefined && sides !== null) {
      const uw = sides.userWidth;
      const iw = f - uw;
      const fromUser = rows.users[row]! * uw;
      const fromItem = rows.items[row]! * iw;
      for (let j = 0; j < uw; j++) x[to + j] = sides.users[fromUser + j]!;
      for (let j = 0; j < iw; j++) x[to + uw + j] = sides.items[fromItem + j]!;
      return;
    }
    const features = rows.features;
    if (features === null) return;
    const from = row * f;
    for (let j = 0; j < f; j++) x[to + j] = features[from + j]!;
  }

  #towerEntries(layers: readonly { readonly kernel: Float32Array; readonly bias: Float32Array }[], out: Map<string, Float32Array[]>): void {
    this.architecture.tower!.layers.forEach((name, l) => {
      out.set(name, [layers[l]!.kernel, layers[l]!.bias]);
    });
  }

  /** Per-rating scratch of a batch of `b`: errors, and where the user's and item's rows start. */
  #batchBuffers(b: number): { readonly errors: Float32Array; readonly userAt: Int32Array; readonly itemAt: Int32Array } {
    if (this.#batch.errors.length < b) this.#batch = { errors: new Float32Array(b), userAt: new Int32Array(b), itemAt: new Int32Array(b) };
    return this.#batch;
  }

  #checkAlive(): void {
    if (this.#disposed) throw new Error('the ratings engine was disposed');
  }
}

function dot(a: Float32Array, at: number, b: Float32Array, bt: number, k: number): number {
  let sum = 0;
  for (let j = 0; j < k; j++) sum += a[at + j]! * b[bt + j]!;
  return sum;
}
