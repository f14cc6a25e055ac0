/**
 * Reading the queue's event stream for the coordinator's jobs: a job's progress is an epoch,
 * passed to the task's listener in delivery order; its return value, or BullMQ's failure
 * verdict, settles the task; a stall is counted and logged. `catchUp` reads from Redis what a
 * missed event (a reconnect) would have said, and names the jobs Redis lost.
 */
import { type ConnectionOptions, type Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseEpochProgress, parseJobReturn, type EpochProgress, type JobReturn } from '../../worker/contract/queue.js';
import { taskFailureReason } from '../errors.js';
import { interrupted, type InFlight, type PublishedJobs } from './published-jobs.js';

export type JobEventsOptions = {
  readonly queueName: string;
  readonly queue: Queue;
  readonly connection: ConnectionOptions;
  readonly jobs: PublishedJobs;
  readonly log: (line: string) => void;
  /** Errors of the event stream's Redis connection (rate-limited by the caller). */
  readonly reportError: (message: string) => void;
};

export class JobEvents {
  /** Stalled-job events: a worker stopped renewing its lock (it died) and BullMQ queued the job again. */
  stalled = 0;
  /** Epoch messages ignored because a later delivery of the same job had started. */
  staleEpochs = 0;
  readonly #options: JobEventsOptions;
  #events: QueueEvents | null = null;

  constructor(options: JobEventsOptions) {
    this.#options = options;
  }

  /**
   * Starts reading events from the Redis server's clock now rather than from '$' at the first
   * XREAD, so that nothing a worker reports in between is missed. Does nothing once `isClosed`.
   */
  async open(redis: Redis, isClosed: () => boolean): Promise<void> {
    const [seconds, micros] = await redis.time();
    if (isClosed()) return;
    const lastEventId = `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)}-0`;
    const events = new QueueEvents(this.#options.queueName, { connection: this.#options.connection, lastEventId });
    this.#events = events;
    events.on('error', (error: Error) => this.#options.reportError(error.message));
    events.on('progress', ({ jobId, data }) => this.#onProgress(jobId, data));
    events.on('completed', ({ jobId, returnvalue }) => this.#onCompleted(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => this.#onFailed(jobId, failedReason));
    events.on('stalled', ({ jobId }) => this.#onStalled(jobId));
    await events.waitUntilReady();
  }

  /**
   * Looks up every awaited job: a finished one whose event was missed is settled from Redis; the
   * ones Redis does not know (it restarted without persistence) are returned, to be published again.
   */
  async catchUp(): Promise<InFlight[]> {
    const { queue, jobs } = this.#options;
    const entries = jobs.awaited();
    const states = await Promise.all(entries.map((entry) => queue.getJobState(entry.jobId)));
    const lost: InFlight[] = [];
    for (const [i, entry] of entries.entries()) {
      if (entry.settled) continue;
      const state = states[i];
      if (state === 'completed' || state === 'failed') {
        const job = await queue.getJob(entry.jobId);
        if (job === undefined || entry.settled) continue;
        if (state === 'completed') this.#onCompleted(entry.jobId, job.returnvalue);
        else this.#onFailed(entry.jobId, job.failedReason);
      } else if (state === 'unknown') {
        lost.push(entry);
      }
    }
    return lost;
  }

  /** Stops reading; bounded by the caller, since Redis may be away. */
  async close(): Promise<void> {
    await this.#events?.close();
  }

  /** Drops the connection without waiting for Redis. */
  disconnect(): void {
    if (this.#events) void this.#events.disconnect().catch(() => undefined);
  }

  #onProgress(jobId: string, raw: unknown): void {
    const entry = this.#options.jobs.get(jobId);
    if (entry === undefined || entry.settled) return;
    let progress: EpochProgress;
    try {
      progress = parseEpochProgress(raw);
    } catch (error) {
      this.#options.log(`ignored a malformed epoch message for job ${jobId}: ${(error as Error).message}`);
      return;
    }
    if (progress.taskId !== entry.data.task.taskId) return;
    if (progress.delivery < entry.delivery) {
      this.staleEpochs++;
      return;
    }
    entry.delivery = progress.delivery;
    if (entry.onEpoch(progress.epoch, progress.metrics) === 'stop' && !entry.stopSent) {
      entry.stopSent = true;
      void this.#options.jobs.sendControl(entry.jobId, 'stop');
    }
  }

  #onCompleted(jobId: string, raw: unknown): void {
    const { jobs } = this.#options;
    const entry = jobs.get(jobId);
    if (entry === undefined) return jobs.forget(jobId);
    let value: JobReturn;
    try {
      value = parseJobReturn(raw);
    } catch (error) {
      return jobs.settle(entry, {
        status: 'failed',
        reason: 'error',
        message: `malformed result for job ${jobId}: ${(error as Error).message}`,
        workerName: null,
      });
    }
    switch (value.status) {
      case 'done':
        return jobs.settle(entry, { status: 'done', result: value.result, workerName: value.workerName, backend: value.backend });
      case 'failed':
        return jobs.settle(entry, {
          status: 'failed',
          reason: taskFailureReason(value.kind),
          message: value.message,
          workerName: value.workerName,
        });
      case 'stale':
        return jobs.settle(entry, { ...interrupted('another coordinator took over this experiment'), workerName: value.workerName });
      case 'cancelled':
        return jobs.settle(entry, { ...interrupted('withdrawn by the coordinator'), workerName: value.workerName });
    }
  }

  #onFailed(jobId: string, reason: string): void {
    const { jobs } = this.#options;
    const entry = jobs.get(jobId);
    if (entry === undefined) return jobs.forget(jobId);
    // Processors return failures as values, so a failed job is BullMQ's verdict: the job stalled
    // again after its redelivery (maxStalledCount), or its worker lost it. The coordinator retries.
    jobs.settle(entry, {
      status: 'failed',
      reason: 'crashed',
      message: `queue worker lost task ${entry.data.task.taskId}: ${reason}`,
      workerName: null,
    });
  }

  #onStalled(jobId: string): void {
    const entry = this.#options.jobs.get(jobId);
    if (entry === undefined) return;
    this.stalled++;
    this.#options.log(`Task ${entry.data.task.taskId} stalled (its worker stopped answering); it goes to another worker.`);
  }
}
