/**
 * The training side's leaf types: what a task trains with, what it reports, the rows a model
 * takes, and the `Trainer` seam that the one training loop (loop.ts) drives. Every trainer
 * (layers-trainer.ts, the fast engine's engine-trainer.ts) and the data preparation of the
 * recommendation families import these from here, never from run-task.ts, so no import circle
 * runs through the dispatcher.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import type { BackendName, EpochMetrics, TaskResult } from '../contract/protocol.js';

/** What `runTask` trains with: the TensorFlow.js namespace and its initialised backend. */
export type TrainingContext = { readonly tf: TensorFlow; readonly backend: BackendName };

/**
 * Receives each epoch's metrics (0-based epoch) as soon as the epoch ends. Returning 'stop'
 * ends a search task after this epoch, as early stopping would (pruning); refits ignore it.
 */
export type EpochListener = (epoch: number, metrics: EpochMetrics) => 'stop' | 'continue' | void;

/**
 * Receives the result of a shorter run the search task also answers (`Task.horizons`), as that run
 * would have reported it, once training has reached its last epoch (or stopped early before).
 */
export type HorizonListener = (runId: number, result: TaskResult) => void;

/** The training loss became NaN or ±Infinity: the run failed as diverged, not the search. */
export class DivergedError extends Error {
  override name = 'DivergedError';
  constructor(
    /** 0-based epoch whose mean training loss was not finite. */
    readonly epoch: number,
    readonly loss: number,
  ) {
    super(`training diverged: the loss became ${loss} at epoch ${epoch} (try a smaller learning rate)`);
  }
}

/**
 * Throws a `DivergedError` for `epoch` with the first of `values` that is not finite (the loss
 * first, then what a trainer checks besides it: the penalised objective, the parameters).
 */
export function throwIfDiverged(epoch: number, values: readonly number[]): void {
  const bad = values.find((value) => !Number.isFinite(value));
  if (bad !== undefined) throw new DivergedError(epoch, bad);
}

/**
 * One input of a model, for a set of rows: row-major, `width` values per row. Float32 features,
 * or int32 embedding indices (the recommendation families' user and item).
 */
export type ModelInput = { readonly values: Float32Array | Int32Array; readonly width: number };

/** Rows as a model takes them: one matrix per model input (an MLP has one), and the targets. */
export type ModelRows = { readonly inputs: readonly ModelInput[]; readonly y: Float32Array; readonly n: number };

/** The seeds of a task's random streams, each derived from the task's seed under its own name. */
export type TrainingSeeds = {
  /** Initial weights (and, in a layers model, its dropout layers' mask streams). */
  readonly init: number;
  /** The order of the training rows, reshuffled every epoch. */
  readonly shuffle: number;
  /** The fast engine's dropout masks. */
  readonly dropout: number;
};

/**
 * Where a trainer keeps a copy of its weights: `best`, the best epoch's so far (early stopping's
 * restore, the default); `parked`, the current weights put aside while the loop scores a shorter
 * run's chosen epoch (`Task.horizons`), to train on from them unchanged.
 */
export type WeightSlot = 'best' | 'parked';

/**
 * A model under training, as the training loop (loop.ts) drives it: one epoch at a time, scored
 * on the task's held-out rows, with a snapshot of the best epoch's weights to come back to. Each
 * implementation owns its numerics (TensorFlow.js layers, the fast MLP engine); the loop owns
 * the order of things, early stopping, stop requests and the result.
 */
export type Trainer = {
  /** Trainable scalars of the model, as the saved layers model counts them. */
  readonly paramCount: number;
  /**
   * One pass over the shuffled training rows, checking between batches for an abort.
   * @returns training-set metrics: `loss` (without penalties) and, for classification, `accuracy`.
   * @throws {DivergedError} when the loss (or what the objective adds to it) is not finite.
   * @throws {DOMException} named `AbortError` when the task's signal is aborted.
   */
  trainEpoch(epoch: number): Promise<EpochMetrics>;
  /**
   * Metrics of the current weights on the held-out rows (a fold's validation rows, or a refit's
   * test rows), unscoped: `loss`, `auc`, … A refit's test rows are scored by the model that
   * `savedModel` returns, so that predicting from its files reproduces the test score exactly.
   */
  evaluate(): Promise<Record<string, number>>;
  /**
   * The current weights' predictions on the held-out rows, as `evaluate` scores them: the
   * out-of-fold predictions of a search fold, the test predictions of a refit (by `savedModel`'s
   * model). Binary: n probabilities of the positive class; multiclass: n × classes, row-major;
   * regression: n values.
   */
  heldPredictions(): Promise<Float32Array>;
  /** Keeps a copy of the current weights in `slot` (replacing the one there). */
  snapshot(slot?: WeightSlot): void;
  /** Writes the copy in `slot` back (the slot keeps it). @returns false when there is none. */
  restore(slot?: WeightSlot): boolean;
  /** The layers model holding the current weights, as a refit saves it; owned by the trainer. */
  savedModel(): Promise<LayersModel>;
  /** Frees every tensor the trainer holds; the trainer is unusable afterwards. */
  dispose(): void;
};
