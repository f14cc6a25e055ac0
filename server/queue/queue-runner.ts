/**
 * The queue's `TaskRunner`: (run, fold) tasks go to a BullMQ queue on Redis, trained by
 * `foldwise worker` processes on any machine. This class wires the parts, each in its own file:
 * the datasets it publishes (dataset-publisher.ts), the jobs it publishes and awaits
 * (published-jobs.ts), the event stream it reads them back from (job-events.ts), and the
 * connection and registry (registry.ts).
 */
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { BackendName, DatasetInfo, ExperimentSpec, Task } from '../../worker/contract/protocol.js';
import {
  CODE_VERSION,
  REGISTRY_TTL_SECONDS,
  csvAddress,
  queueNameFor,
  type CodeVersion,
  type JobData,
} from '../../worker/contract/queue.js';
import { checkRedisUrl, createRedactor, maskRedisUrl, rateLimited, redisClientOptions } from '../../worker/contract/redis-connection.js';
import { ValidationError } from '../errors.js';
import { WorkerPool } from '../coordinator/worker-pool.js';
import type { EpochListener, TaskOutcome, TaskRunner } from '../coordinator/task-runner.js';
import { DatasetPublisher } from './dataset-publisher.js';
import { JobEvents } from './job-events.js';
import { PublishedJobs, interrupted } from './published-jobs.js';
import { CoordinatorRegistry, waitForConnection } from './registry.js';
import { QueueWorkerSupervisor, type QueueWorkerSettings } from './worker-supervisor.js';

export type QueueRunnerOptions = {
  /** `redis://[:password@]host:port`; never printed unmasked. */
  readonly url: string;
  /** The coordinator's data directory: with an experiment's name it scopes job ids and ownership. */
  readonly dataDir: string;
  /**
   * Tasks on the queue at once. The coordinator starts no more than this, so its ordering and
   * fold cutting still apply. @default the worker slots registered when `whenReady` resolves
   */
  readonly slots?: number;
  /** Queue worker processes to run on this machine as well (`--local-workers`). @default 0 */
  readonly localWorkers?: number;
  /** Environment and timings for those local workers. */
  readonly localWorkerSettings?: Omit<QueueWorkerSettings, 'url' | 'count'>;
  /**
   * Runs `describe` and refits; it must write into this machine's data dir.
   * @default a one-process WorkerPool, started when first needed
   */
  readonly createLocalRunner?: () => TaskRunner;
  /** Environment of the default local runner's worker (e.g. FOLDWISE_BACKEND). */
  readonly localEnv?: NodeJS.ProcessEnv;
  /** The version this coordinator announces; tests set another one. @default CODE_VERSION */
  readonly codeVersion?: CodeVersion;
  /** How often every job in flight is looked up in Redis, to catch a lost job or a missed event. @default 5000 */
  readonly checkIntervalMs?: number;
  /** Progress lines (waiting for workers, redeliveries, recoveries); already masked. @default stderr */
  readonly log?: (line: string) => void;
};

/** Counters for tests and the benchmark. */
export type QueueRunnerStats = {
  /** Jobs added to the queue. */
  readonly published: number;
  /** Jobs added again because Redis had lost them. */
  readonly republished: number;
  /** Stalled-job events: a worker stopped renewing its lock (it died) and BullMQ queued the job again. */
  readonly stalled: number;
  /** Epoch messages ignored because a later delivery of the same job had started. */
  readonly staleEpochs: number;
};

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A TaskRunner that publishes (run, fold) tasks to a BullMQ queue on Redis and reads their
 * epochs and results back from the queue's event stream; `foldwise worker` processes on any
 * machine train them. Describe and refit run on a local one-process pool: the dataset check
 * needs no worker to be connected, and the refit's model files must land in this data dir.
 *
 * Faults: a worker that dies mid-task loses its lock and BullMQ hands the job to another
 * worker (its epochs are sent again and overwrite the same rows); a job that Redis lost (a
 * restart without persistence) is published again; jobs left by an earlier coordinator of the
 * same experiment are removed, and their workers drop them at the next epoch.
 */
export class QueueRunner implements TaskRunner {
  readonly queueName: string;
  readonly #options: QueueRunnerOptions;
  readonly #version: CodeVersion;
  readonly #instanceId = randomUUID();
  readonly #redact: (text: string) => string;
  readonly #log: (line: string) => void;
  readonly #redis: Redis;
  readonly #queue: Queue;
  readonly #registry: CoordinatorRegistry;
  readonly #datasets: DatasetPublisher;
  readonly #jobs: PublishedJobs;
  readonly #events: JobEvents;
  readonly #started: Promise<void>;
  readonly #supervisor: QueueWorkerSupervisor | null;
  #local: TaskRunner | null = null;
  #discoveredSlots: number | null = null;
  #timers: NodeJS.Timeout[] = [];
  #checking = false;
  #beating = false;
  #closed = false;

  constructor(options: QueueRunnerOptions) {
    try {
      checkRedisUrl(options.url);
    } catch (error) {
      throw new ValidationError((error as Error).message);
    }
    if (options.slots !== undefined && (!Number.isInteger(options.slots) || options.slots < 1)) {
      throw new ValidationError(`expected slots to be a whole number from 1 up, got ${options.slots}`);
    }
    this.#options = options;
    this.#version = options.codeVersion ?? CODE_VERSION;
    this.queueName = queueNameFor(this.#version);
    this.#redact = createRedactor(options.url);
    const write = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.#log = (line) => write(this.#redact(line));

    const connection = { url: options.url, ...redisClientOptions() };
    this.#redis = new Redis(options.url, redisClientOptions('foldwise-coordinator'));
    const reportError = rateLimited((message: string) => this.#log(`queue ${maskRedisUrl(options.url)}: ${message}`));
    this.#redis.on('error', (error: Error) => reportError(error.message));
    this.#queue = new Queue(this.queueName, { connection });
    this.#queue.on('error', (error: Error) => reportError(error.message));

    this.#registry = new CoordinatorRegistry(this.#redis, this.#instanceId, this.#version, this.#log);
    this.#datasets = new DatasetPublisher(this.#redis);
    this.#jobs = new PublishedJobs({
      redis: this.#redis,
      queue: this.#queue,
      instanceId: this.#instanceId,
      dataDir: canonicalPath(options.dataDir),
      log: this.#log,
      redact: this.#redact,
    });
    this.#events = new JobEvents({
      queueName: this.queueName,
      queue: this.#queue,
      connection,
      jobs: this.#jobs,
      log: this.#log,
      reportError,
    });

    this.#supervisor =
      (options.localWorkers ?? 0) > 0
        ? new QueueWorkerSupervisor({
            ...options.localWorkerSettings,
            url: options.url,
            count: options.localWorkers!,
            output: 'pipe',
            log: this.#log,
          })
        : null;

    this.#started = this.#start();
    this.#started.catch(() => undefined);
  }

  async #start(): Promise<void> {
    await waitForConnection(this.#redis, CONNECT_TIMEOUT_MS, () => `cannot reach Redis at ${maskRedisUrl(this.#options.url)}`);
    await this.#events.open(this.#redis, () => this.#closed);
    if (this.#closed) return;
    await this.#heartbeat();
    if (this.#closed) return;
    const everyMs = (REGISTRY_TTL_SECONDS * 1000) / 3;
    this.#timers.push(setInterval(() => void this.#heartbeat(), everyMs));
    this.#timers.push(setInterval(() => void this.#check(), this.#options.checkIntervalMs ?? 5_000));
  }

  /** Tasks on the queue at once: `slots`, else the worker slots found by `whenReady`, else 1. */
  get concurrency(): number {
    return this.#options.slots ?? this.#discoveredSlots ?? 1;
  }

  get stats(): QueueRunnerStats {
    const { published, republished } = this.#jobs;
    const { stalled, staleEpochs } = this.#events;
    return { published, republished, stalled, staleEpochs };
  }

  /** Process ids of the local queue workers (`localWorkers`). */
  get localWorkerPids(): number[] {
    return this.#supervisor?.pids ?? [];
  }

  /**
   * Waits until at least one queue worker of this code version is registered, reporting workers
   * of other versions as refused, and fixes `concurrency` to the registered slots unless `slots`
   * was given. Returns the backends of the registered workers.
   */
  async whenReady(): Promise<BackendName[]> {
    await this.#started;
    const command = `foldwise worker --queue ${maskRedisUrl(this.#options.url)}`;
    const workers = await this.#registry.waitForWorkers({
      localWorkers: this.#options.localWorkers ?? 0,
      localWorkersFailed: () => this.#supervisor?.stopped === true,
      isClosed: () => this.#closed,
      waitingLine: `Waiting for queue workers: start \`${command}\` on the training machines…`,
    });
    if (workers === null) return [];
    this.#discoveredSlots = workers.reduce((sum, w) => sum + (w.slots ?? 1), 0);
    return workers.map((w) => w.backend ?? 'cpu');
  }

  async run(task: Task, onEpoch: EpochListener, signal?: AbortSignal): Promise<TaskOutcome> {
    // The model files of a refit belong in this machine's data dir: trained locally.
    if (task.kind === 'refit') return this.#localRunner().run(task, onEpoch, signal);
    if (signal?.aborted || this.#closed) return interrupted('stopped before it was published');
    let data: JobData;
    try {
      await this.#started;
      const scope = this.#jobs.scopeOf(task.spec.name);
      await this.#jobs.claim(scope);
      let remoteTask = task;
      const { dataset } = task.spec;
      if (dataset.kind === 'csv' || dataset.kind === 'movielens') {
        const sha256 = await this.#datasets.publish(dataset.kind, dataset.path);
        remoteTask = { ...task, spec: { ...task.spec, dataset: { ...dataset, path: csvAddress(sha256) } } };
      }
      data = { version: this.#version, owner: this.#instanceId, scope, task: remoteTask };
    } catch (error) {
      return { status: 'failed', reason: 'error', message: this.#redact((error as Error).message), workerName: null };
    }
    if (signal?.aborted || this.#closed) return interrupted('stopped before it was published');
    return this.#jobs.publish(data, onEpoch, signal);
  }

  describe(spec: ExperimentSpec): Promise<DatasetInfo> {
    return this.#localRunner().describe(spec);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    const withdrawals = this.#jobs.withdrawAll('the coordinator stopped');
    await this.#started.catch(() => undefined);
    // Redis may be unreachable: its commands wait for a reconnect, so none may hold up the exit.
    const bounded = (work: Promise<unknown>) => Promise.race([work.catch(() => undefined), sleep(2_000, undefined, { ref: false })]);
    await bounded(withdrawals);
    await Promise.all([
      this.#local?.close(),
      this.#supervisor?.stop(),
      this.#redis.status === 'ready' ? bounded(this.#registry.unregister()) : undefined,
    ]);
    await bounded(Promise.allSettled([this.#events.close(), this.#queue.close()]));
    this.#redis.disconnect();
    this.#events.disconnect();
    void this.#queue.disconnect().catch(() => undefined);
  }

  /** Refreshes this coordinator's registry entry, its scopes' ownership and its datasets' lifetime. */
  async #heartbeat(): Promise<void> {
    if (this.#beating || this.#closed) return;
    this.#beating = true;
    try {
      await this.#registry.refresh();
      await this.#jobs.refreshClaims();
      await this.#datasets.refresh();
    } catch {
      // Redis is away; the client reconnects and the next beat restores everything.
    } finally {
      this.#beating = false;
    }
  }

  /**
   * Looks up every published job: a finished one whose event was missed is settled from Redis;
   * a missing one (Redis restarted without persistence) is published again, after the registry,
   * ownership and datasets it needs.
   */
  async #check(): Promise<void> {
    if (this.#checking || this.#closed) return;
    this.#checking = true;
    try {
      const lost = await this.#events.catchUp();
      await this.#jobs.republish(lost, () => this.#heartbeat());
    } catch {
      // Redis is away: the next check retries.
    } finally {
      this.#checking = false;
    }
  }

  #localRunner(): TaskRunner {
    this.#local ??= this.#options.createLocalRunner?.() ?? new WorkerPool({ size: 1, env: this.#options.localEnv });
    return this.#local;
  }
}

function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
