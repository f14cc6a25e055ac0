import { EventEmitter } from 'node:events';
import type { EpochMetrics } from '../../worker/contract/protocol.js';
import type { ExperimentStatus } from '../storage/experiment-store.js';
import type { RunStatus } from '../storage/run-store.js';
import type { Standing } from '../selection/provisional.js';

/** What the coordinator announces after each write; the dashboard streams these as Server-Sent Events. */
export type CoordinatorEvents = {
  epoch: { experimentId: number; runId: number; foldIndex: number; epoch: number; metrics: EpochMetrics };
  run: { experimentId: number; runId: number; status: RunStatus };
  experiment: { experimentId: number; status: ExperimentStatus };
  progress: SearchProgress;
  /** A refit starts: run `runId` retrains `sourceRunId`'s configuration for `epochs` epochs. */
  refit: { experimentId: number; runId: number; sourceRunId: number; epochs: number };
  /** Nested CV: the search of outer fold `outerFold` (0-based, of `k`) starts, in its own experiment (outer-folds.ts). */
  outerFold: { experimentId: number; outerFoldExperimentId: number; name: string; outerFold: number; k: number };
};

export type SearchProgress = {
  readonly experimentId: number;
  readonly tasksDone: number;
  readonly tasksTotal: number;
  readonly elapsedMs: number;
  /** The best finished run (rank 1 of rankRuns), or null while none has finished. */
  readonly best: Standing | null;
  /**
   * The leading unfinished run by its mean over the folds it has finished (`foldsDone` of
   * `nFolds`; selection/provisional.ts): folds train in waves, so early in a search only this exists.
   */
  readonly leading: Standing | null;
};

/** A typed wrapper over EventEmitter: `emit` and `on` only accept the events above. */
export class CoordinatorEventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Every open dashboard tab subscribes; many listeners are expected, not a leak.
    this.#emitter.setMaxListeners(0);
  }

  emit<K extends keyof CoordinatorEvents>(name: K, event: CoordinatorEvents[K]): void {
    this.#emitter.emit(name, event);
  }

  on<K extends keyof CoordinatorEvents>(name: K, listener: (event: CoordinatorEvents[K]) => void): () => void {
    this.#emitter.on(name, listener);
    return () => this.#emitter.off(name, listener);
  }
}
