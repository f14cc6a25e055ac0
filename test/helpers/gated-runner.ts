/**
 * Wraps a TaskRunner (the real WorkerPool in browser tests) so that no task starts until the
 * test opens the gate: a page can load and connect before a search fills it in, however fast
 * or slow the machine. `describe` (used by prepare) is never held.
 */
import type { DatasetInfo, EpochMetrics, ExperimentSpec, Task } from '../../worker/contract/protocol.js';
import type { TaskOutcome, TaskRunner } from '../../server/coordinator/task-runner.js';

export class GatedRunner implements TaskRunner {
  readonly concurrency: number;
  readonly #inner: TaskRunner;
  #open = false;
  #waiters: (() => void)[] = [];

  constructor(inner: TaskRunner) {
    this.#inner = inner;
    this.concurrency = inner.concurrency;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  open(): void {
    this.#open = true;
    for (const release of this.#waiters.splice(0)) release();
  }

  close(): Promise<void> {
    this.open();
    return this.#inner.close();
  }

  async run(task: Task, onEpoch: (epoch: number, metrics: EpochMetrics) => void, signal?: AbortSignal): Promise<TaskOutcome> {
    if (!this.#open) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.#inner.run(task, onEpoch, signal);
  }

  describe(spec: ExperimentSpec): Promise<DatasetInfo> {
    return this.#inner.describe(spec);
  }
}
