/**
 * One task, trained and turned into an outcome: what every worker loop does around `runTask`,
 * whether it is fed by the coordinator over IPC (main.ts) or pulls from the Redis queue
 * (queue-worker.ts). Failures are outcomes, never exceptions.
 */
import { hostname } from 'node:os';
import type { FailureKind, Task, TaskResult } from './contract/protocol.js';
import { failureOf } from './failures.js';
import { runTask } from './training/run-task.js';
import type { EpochListener, HorizonListener, TrainingContext } from './training/types.js';
import { injectFault } from './fault-injection.js';

export type TaskExecution =
  | { readonly status: 'done'; readonly result: TaskResult }
  | { readonly status: 'failed'; readonly kind: FailureKind; readonly message: string }
  /** `signal` was aborted: the caller knows why and answers for the task. */
  | { readonly status: 'aborted' };

/**
 * Trains one task with `runTask` and reports how it ended. `onEpoch` returning 'stop' ends the
 * task after that epoch (pruning); it still ends `done`, with `stoppedByRequest`. `onHorizon`
 * receives the results of the task's `horizons` as they are reached (a queue worker passes none).
 */
export async function executeTask(
  task: Task,
  ctx: TrainingContext,
  onEpoch: EpochListener,
  signal?: AbortSignal,
  onHorizon?: HorizonListener,
): Promise<TaskExecution> {
  try {
    injectFault(task);
    return { status: 'done', result: await runTask(task, ctx, onEpoch, signal, onHorizon) };
  } catch (error) {
    if (signal?.aborted) return { status: 'aborted' };
    return { status: 'failed', ...failureOf(error) };
  }
}

/** How this process appears in the folds table: `host:pid`. */
export function defaultWorkerName(): string {
  return `${hostname()}:${process.pid}`;
}
