import type { BackendName, DatasetInfo, EpochMetrics, ExperimentSpec, Task, TaskResult } from '../../worker/contract/protocol.js';

export type EpochListener = (epoch: number, metrics: EpochMetrics) => 'continue' | 'stop' | void;

/** A task that trained to the end, or a shorter run it answered on the way (`Task.horizons`). */
export type DoneOutcome = {
  readonly status: 'done';
  readonly result: TaskResult;
  readonly workerName: string;
  readonly backend: BackendName;
};

/** Receives the outcome of one of a task's `horizons` (run `runId`) when the worker reaches it. */
export type HorizonListener = (runId: number, outcome: DoneOutcome) => void;

/** How one delivery of a task ended. Failures are data: the coordinator decides about retries. */
export type TaskOutcome =
  | DoneOutcome
  | {
      readonly status: 'failed';
      /** diverged: non-finite loss; error: the task threw; crashed: the worker process died; interrupted: we stopped it. */
      readonly reason: 'diverged' | 'error' | 'crashed' | 'interrupted';
      readonly message: string;
      readonly workerName: string | null;
    };

/**
 * Where tasks are trained: the local pool of worker processes, or (later) a distributed queue.
 * The coordinator sees only this seam.
 */
export type TaskRunner = {
  /** How many tasks may train at once. */
  readonly concurrency: number;
  /** Whether `run` answers a task's `horizons` through `onHorizon` (epoch-prefix sharing); when not, the coordinator sends none. */
  readonly answersHorizons?: boolean;
  /**
   * Trains one task; never rejects for a task's own failure (that is an outcome). When `onEpoch`
   * returns 'stop', the worker is asked to end the task after the epoch it is in (pruning); it
   * still reports `done`, with `stoppedByRequest`. Each of `task.horizons` reached reaches
   * `onHorizon` before the task's own outcome.
   */
  run(task: Task, onEpoch: EpochListener, signal?: AbortSignal, onHorizon?: HorizonListener): Promise<TaskOutcome>;
  /** Loads and splits the dataset once on a worker, to learn the task and catch bad data before anything is written. */
  describe(spec: ExperimentSpec): Promise<DatasetInfo>;
  /** Stops every worker; running tasks end as interrupted. */
  close(): Promise<void>;
};
