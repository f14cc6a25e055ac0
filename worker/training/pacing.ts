/**
 * Keeping a training loop responsive: it yields to the event loop at every epoch end and every
 * YIELD_EVERY_MS between batches, so `stop`, `shutdown` and disconnect messages are heard even
 * during long epochs, and it stops at the next boundary once its signal is aborted.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Task } from '../contract/protocol.js';

const YIELD_EVERY_MS = 50;

/** What a loop needs to pace itself; `lastYieldAt` is updated here. */
export type Paced = { readonly task: Task; readonly signal?: AbortSignal; lastYieldAt: number };

export function throwIfAborted(signal: AbortSignal | undefined, task: Task, epoch?: number): void {
  if (signal?.aborted)
    throw new DOMException(`task ${task.taskId} aborted${epoch === undefined ? '' : ` during epoch ${epoch}`}`, 'AbortError');
}

/** End of an epoch: messages sent while it trained are heard before it is reported. */
export async function epochBoundary(paced: Paced, epoch: number): Promise<void> {
  await yieldToEventLoop();
  paced.lastYieldAt = performance.now();
  throwIfAborted(paced.signal, paced.task, epoch);
}

/** Between batches: stop here when aborted, and yield now and then. */
export async function betweenBatches(paced: Paced, epoch: number): Promise<void> {
  throwIfAborted(paced.signal, paced.task, epoch);
  if (performance.now() - paced.lastYieldAt < YIELD_EVERY_MS) return;
  await yieldToEventLoop();
  paced.lastYieldAt = performance.now();
  throwIfAborted(paced.signal, paced.task, epoch);
}
