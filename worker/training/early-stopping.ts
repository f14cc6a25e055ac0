/**
 * Early stopping as a pure decision over a curve of validation values. The training loop owns
 * the weights: it snapshots them on 'improved' and restores the snapshot at the end.
 */
import type { EarlyStoppingSpec } from '../contract/spec.js';
import { directionOf, isBetter, type Direction } from '../contract/vocabulary.js';

/** What the training loop should do after an epoch. */
export type EpochVerdict = 'improved' | 'continue' | 'stop';

export type BestEpochTrackerOptions = {
  /** Name of the watched metric, e.g. `val_loss`; kept for messages. */
  readonly monitor: string;
  /** Epochs in a row without improvement after which training stops (Keras's meaning; 0 and 1 both stop at the first). */
  readonly patience: number;
  /** Smallest change of the value that counts as an improvement. */
  readonly minDelta: number;
  /** `minimize` when smaller is better (losses, errors), `maximize` when larger is (accuracy, AUC). */
  readonly direction: Direction;
};

/**
 * Tracks the best epoch of a monitored metric, Keras-style: an epoch improves when it beats the
 * best value by more than `minDelta`; the `patience`-th epoch in a row without improvement gets
 * the verdict 'stop' (as Keras and tfjs count it). NaN and null (non-finite) values never improve.
 */
export class BestEpochTracker {
  readonly monitor: string;
  readonly #patience: number;
  readonly #minDelta: number;
  readonly #direction: Direction;
  #bestEpoch: number | null = null;
  #bestValue: number | null = null;
  #epochsWithoutImprovement = 0;

  /** @throws {RangeError} on a negative or non-integer patience, or a negative minDelta. */
  constructor(options: BestEpochTrackerOptions) {
    if (!Number.isInteger(options.patience) || options.patience < 0)
      throw new RangeError(`patience must be an integer ≥ 0, got ${options.patience}`);
    if (!(options.minDelta >= 0)) throw new RangeError(`minDelta must be ≥ 0, got ${options.minDelta}`);
    this.monitor = options.monitor;
    this.#patience = options.patience;
    this.#minDelta = options.minDelta;
    this.#direction = options.direction;
  }

  /** 0-based epoch of the best value so far; null until a finite value arrived. */
  get bestEpoch(): number | null {
    return this.#bestEpoch;
  }

  /** The best value so far; null until a finite value arrived. */
  get bestValue(): number | null {
    return this.#bestValue;
  }

  /** Records the monitored value of `epoch` (0-based, increasing) and says what to do next. */
  update(epoch: number, value: number | null): EpochVerdict {
    if (value !== null && Number.isFinite(value) && this.#improves(value)) {
      this.#bestEpoch = epoch;
      this.#bestValue = value;
      this.#epochsWithoutImprovement = 0;
      return 'improved';
    }
    this.#epochsWithoutImprovement++;
    return this.#epochsWithoutImprovement >= this.#patience ? 'stop' : 'continue';
  }

  #improves(value: number): boolean {
    if (this.#bestValue === null) return true;
    const threshold = this.#direction === 'minimize' ? this.#bestValue - this.#minDelta : this.#bestValue + this.#minDelta;
    return isBetter(this.#direction, value, threshold);
  }
}

/** A tracker for a spec's early-stopping settings; the direction follows the monitored metric. */
export function createBestEpochTracker(spec: Pick<EarlyStoppingSpec, 'monitor' | 'patience' | 'minDelta'>): BestEpochTracker {
  return new BestEpochTracker({
    monitor: spec.monitor,
    patience: spec.patience,
    minDelta: spec.minDelta,
    direction: directionOf(spec.monitor),
  });
}
