/**
 * Keeping a training loop responsive: it yields to the event loop at every epoch end and every
 * YIELD_EVERY_MS between batches, so `stop`, `shutdown` and disconnect messages are heard even
 * during long epochs, and it stops at the next boundary once its signal is aborted.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Task } from '../contract/protocol.js';

const YIELD_EVERY_MS = 50;

/** The pacing of one task: the loop calls `epochBoundary`, a trainer `betweenBatches`. */
export class Pacer {
  readonly #taskId: string;
  readonly #signal: AbortSignal | undefined;
  #lastYieldAt = performance.now();

  constructor(task: Pick<Task, 'taskId'>, signal?: AbortSignal) {
    this.#taskId = task.taskId;
    this.#signal = signal;
  }

  /** @throws {DOMException} named `AbortError` when the signal is aborted. */
  throwIfAborted(epoch?: number): void {
    if (this.#signal?.aborted)
      throw new DOMException(`task ${this.#taskId} aborted${epoch === undefined ? '' : ` during epoch ${epoch}`}`, 'AbortError');
  }

  /** End of an epoch: messages sent while it trained are heard before it is reported. */
  async epochBoundary(epoch: number): Promise<void> {
    await yieldToEventLoop();
    this.#lastYieldAt = performance.now();
    this.throwIfAborted(epoch);
  }

  /** Between batches: stop here when aborted, and yield now and then. */
  async betweenBatches(epoch: number): Promise<void> {
    this.throwIfAborted(epoch);
    if (performance.now() - this.#lastYieldAt < YIELD_EVERY_MS) return;
    await yieldToEventLoop();
    this.#lastYieldAt = performance.now();
    this.throwIfAborted(epoch);
  }
}
