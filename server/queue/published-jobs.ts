/**
 * The coordinator's jobs on the queue: each task in flight as one BullMQ job, from publishing
 * to its outcome; the 'stop' and 'cancel' controls sent to its worker; and ownership of the
 * experiment scopes the job ids live in (taking a scope over withdraws an earlier coordinator's
 * jobs). Job events settle entries through `get`/`settle` (job-events.ts).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { KEYS, jobIdFor, type Control, type JobData } from '../../worker/contract/queue.js';
import type { EpochListener, TaskOutcome } from '../coordinator/task-runner.js';

/** A published job waiting for its outcome. */
export type InFlight = {
  readonly jobId: string;
  readonly data: JobData;
  readonly onEpoch: EpochListener;
  readonly resolve: (outcome: TaskOutcome) => void;
  /** Highest BullMQ delivery (pick-up) seen for this job; older deliveries' epochs are ignored. */
  delivery: number;
  published: boolean;
  settled: boolean;
  stopSent: boolean;
  /** Stops listening to the coordinator's abort signal. */
  detach: () => void;
};

export type PublishedJobsOptions = {
  readonly redis: Redis;
  readonly queue: Queue;
  /** This coordinator instance: the owner it writes into its scopes and jobs. */
  readonly instanceId: string;
  /** The canonical data directory: with an experiment's name it makes the scope. */
  readonly dataDir: string;
  readonly log: (line: string) => void;
  readonly redact: (text: string) => string;
};

const OWNER_TTL_SECONDS = 3600;
const KEEP_FINISHED_JOBS = { age: 24 * 3600 };

export class PublishedJobs {
  /** Jobs added to the queue. */
  published = 0;
  /** Jobs added again because Redis had lost them. */
  republished = 0;
  readonly #options: PublishedJobsOptions;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #claims = new Map<string, Promise<void>>();

  constructor(options: PublishedJobsOptions) {
    this.#options = options;
  }

  /** Job ids and ownership are per (data dir, experiment): another coordinator of the same experiment is a restart. */
  scopeOf(experimentName: string): string {
    return createHash('sha256').update(`${hostname()}\0${this.#options.dataDir}\0${experimentName}`).digest('hex').slice(0, 16);
  }

  /** Takes ownership of a scope once, and removes the jobs an earlier coordinator left in it. */
  claim(scope: string): Promise<void> {
    let claim = this.#claims.get(scope);
    if (claim === undefined) {
      const { redis, queue, instanceId, log } = this.#options;
      claim = (async () => {
        const previous = await redis.set(KEYS.owner(scope), instanceId, 'EX', OWNER_TTL_SECONDS, 'GET');
        if (previous !== null && previous !== instanceId)
          log('Taking over from an earlier coordinator of this experiment: its queued tasks are withdrawn.');
        const ids = await queue.getRanges(['waiting', 'prioritized', 'delayed', 'completed', 'failed'], 0, -1);
        const stale = ids.filter((id) => id.startsWith(`${scope}.`) && !this.#inFlight.has(id));
        await Promise.all(stale.map((id) => queue.remove(id).catch(() => 0)));
      })();
      this.#claims.set(scope, claim);
      claim.catch(() => this.#claims.delete(scope));
    }
    return claim;
  }

  /** Keeps this coordinator's scopes owned: renews its own claims, retakes one whose key expired. */
  async refreshClaims(): Promise<void> {
    const { redis, instanceId } = this.#options;
    for (const scope of this.#claims.keys()) {
      const claimed = await redis.set(KEYS.owner(scope), instanceId, 'EX', OWNER_TTL_SECONDS, 'NX');
      if (claimed === null && (await redis.get(KEYS.owner(scope))) === instanceId) await redis.expire(KEYS.owner(scope), OWNER_TTL_SECONDS);
    }
  }

  /**
   * Publishes the job of a task (its scope claimed) and resolves with its outcome, once its
   * events settle it, or at once as interrupted when `signal` aborts.
   */
  publish(data: JobData, onEpoch: EpochListener, signal?: AbortSignal): Promise<TaskOutcome> {
    const jobId = jobIdFor(data.scope, data.task);
    return new Promise<TaskOutcome>((resolveOutcome) => {
      const entry: InFlight = {
        jobId,
        data,
        onEpoch,
        resolve: resolveOutcome,
        delivery: 0,
        published: false,
        settled: false,
        stopSent: false,
        detach: () => undefined,
      };
      this.#inFlight.set(jobId, entry);
      const onAbort = () => void this.#withdraw(entry, 'stopped by the coordinator');
      signal?.addEventListener('abort', onAbort, { once: true });
      entry.detach = () => signal?.removeEventListener('abort', onAbort);
      this.#add(entry).then(
        () => {
          entry.published = true;
          this.published++;
        },
        (error: Error) =>
          this.settle(entry, {
            status: 'failed',
            reason: 'error',
            message: `could not publish task ${data.task.taskId}: ${this.#options.redact(error.message)}`,
            workerName: null,
          }),
      );
    });
  }

  /** The job in flight with this id, if it is ours. */
  get(jobId: string): InFlight | undefined {
    return this.#inFlight.get(jobId);
  }

  /** Jobs on the queue whose outcome is still awaited. */
  awaited(): InFlight[] {
    return [...this.#inFlight.values()].filter((entry) => entry.published && !entry.settled);
  }

  /** Resolves a job's task with its outcome (once) and removes the job. */
  settle(entry: InFlight, outcome: TaskOutcome): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.detach();
    this.#inFlight.delete(entry.jobId);
    entry.resolve(outcome);
    this.forget(entry.jobId);
  }

  /** Removes a finished job of ours (and its control key): its outcome is in SQLite now. */
  forget(jobId: string): void {
    if (![...this.#claims.keys()].some((scope) => jobId.startsWith(`${scope}.`))) return;
    void this.#options.queue.remove(jobId).catch(() => 0);
    void this.#options.redis.del(KEYS.control(jobId)).catch(() => 0);
  }

  /** Ends every task in flight as interrupted now (settled before this returns); resolves when their workers are told. */
  withdrawAll(message: string): Promise<void> {
    return Promise.all([...this.#inFlight.values()].map((entry) => this.#withdraw(entry, message))).then(() => undefined);
  }

  async sendControl(jobId: string, control: Control): Promise<void> {
    try {
      await this.#options.redis.set(KEYS.control(jobId), control, 'EX', OWNER_TTL_SECONDS);
      await this.#options.redis.publish(KEYS.controlChannel, `${jobId} ${control}`);
    } catch (error) {
      this.#options.log(`could not send '${control}' for job ${jobId}: ${(error as Error).message}`);
    }
  }

  /**
   * Publishes again the jobs Redis lost (a restart without persistence), after `restore` has
   * rewritten the registry, ownership and datasets they need; a job whose scope another
   * coordinator owns now ends as interrupted instead.
   */
  async republish(lost: readonly InFlight[], restore: () => Promise<void>): Promise<void> {
    const again: InFlight[] = [];
    for (const entry of lost) {
      const owner = await this.#options.redis.get(KEYS.owner(entry.data.scope));
      if (owner !== null && owner !== this.#options.instanceId)
        this.settle(entry, interrupted('another coordinator took over this experiment'));
      else again.push(entry);
    }
    if (again.length === 0) return;
    const one = again.length === 1;
    this.#options.log(
      `Redis lost ${again.length} queued or running task${one ? '' : 's'} (a restart?): publishing ${one ? 'it' : 'them'} again.`,
    );
    await restore();
    for (const entry of again) {
      if (entry.settled) continue;
      // The new job's deliveries count from 1 again.
      entry.delivery = 0;
      await this.#add(entry);
      this.republished++;
    }
  }

  #add(entry: InFlight): Promise<unknown> {
    return this.#options.queue.add('task', entry.data, {
      jobId: entry.jobId,
      attempts: 1,
      removeOnComplete: KEEP_FINISHED_JOBS,
      removeOnFail: KEEP_FINISHED_JOBS,
    });
  }

  /** Ends a task as interrupted now; a waiting job is removed, a running one is told to stop. */
  async #withdraw(entry: InFlight, message: string): Promise<void> {
    if (entry.settled) return;
    this.settle(entry, interrupted(message));
    await this.sendControl(entry.jobId, 'cancel');
  }
}

/** The outcome of a task the coordinator (or a newer one) stopped. */
export function interrupted(message: string): Extract<TaskOutcome, { status: 'failed' }> {
  return { status: 'failed', reason: 'interrupted', message, workerName: null };
}
