import { createHash, randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { BackendName, DatasetInfo, ExperimentSpec, Task } from '../../worker/contract/protocol.js';
import {
  CODE_VERSION,
  KEYS,
  MOVIELENS_FILES,
  REGISTRY_TTL_SECONDS,
  csvAddress,
  describeVersion,
  jobIdFor,
  manifestBytes,
  parseEpochProgress,
  parseJobReturn,
  queueNameFor,
  sameVersion,
  type CodeVersion,
  type Control,
  type EpochProgress,
  type JobData,
  type JobReturn,
  type RegistryEntry,
} from '../../worker/contract/queue.js';
import {
  checkRedisUrl,
  createRedactor,
  maskRedisUrl,
  rateLimited,
  readRegistry,
  redisClientOptions,
} from '../../worker/contract/redis-connection.js';
import { AppError, ValidationError } from '../errors.js';
import { WorkerPool } from '../coordinator/worker-pool.js';
import type { EpochListener, TaskOutcome, TaskRunner } from '../coordinator/task-runner.js';
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
  /** Runs `describe` and refits; it must write into this machine's data dir. @default a one-process WorkerPool, started when first needed */
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
  published: number;
  /** Jobs added again because Redis had lost them. */
  republished: number;
  /** Stalled-job events: a worker stopped renewing its lock (it died) and BullMQ queued the job again. */
  stalled: number;
  /** Epoch messages ignored because a later delivery of the same job had started. */
  staleEpochs: number;
};

type InFlight = {
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

/** A dataset's content address and the blobs behind it (one file, or a manifest and its files). */
type PublishedData = { readonly sha256: string; readonly blobs: readonly Blob[] };
type Blob = { readonly sha256: string; readonly bytes: Buffer };

const OWNER_TTL_SECONDS = 3600;
const CONNECT_TIMEOUT_MS = 10_000;
const DATA_TTL_SECONDS = 3600;
const KEEP_FINISHED_JOBS = { age: 24 * 3600 };
/** Redis strings stop at 512 MiB; a file near that size belongs on a shared disk. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

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
  readonly stats: QueueRunnerStats = { published: 0, republished: 0, stalled: 0, staleEpochs: 0 };
  readonly queueName: string;
  readonly #options: QueueRunnerOptions;
  readonly #version: CodeVersion;
  readonly #instanceId = randomUUID();
  readonly #redact: (text: string) => string;
  readonly #log: (line: string) => void;
  readonly #redis: Redis;
  readonly #queue: Queue;
  readonly #connection: { readonly url: string } & ReturnType<typeof redisClientOptions>;
  readonly #reportError: (message: string) => void;
  #events: QueueEvents | null = null;
  readonly #started: Promise<void>;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #claims = new Map<string, Promise<void>>();
  readonly #dataByPath = new Map<string, Promise<PublishedData>>();
  readonly #blobs = new Map<string, Blob>();
  readonly #dataDir: string;
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
    this.#dataDir = canonicalPath(options.dataDir);

    this.#connection = { url: options.url, ...redisClientOptions() };
    this.#redis = new Redis(options.url, redisClientOptions('foldwise-coordinator'));
    this.#reportError = rateLimited((message: string) => this.#log(`queue ${maskRedisUrl(options.url)}: ${message}`));
    this.#redis.on('error', (error: Error) => this.#reportError(error.message));
    this.#queue = new Queue(this.queueName, { connection: this.#connection });
    this.#queue.on('error', (error: Error) => this.#reportError(error.message));

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
    // Events are read from the server's clock now rather than from '$' at the first XREAD, so
    // that nothing a worker reports in between is missed.
    const [seconds, micros] = await this.#redis.time();
    if (this.#closed) return;
    const lastEventId = `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)}-0`;
    const events = new QueueEvents(this.queueName, { connection: this.#connection, lastEventId });
    this.#events = events;
    events.on('error', (error: Error) => this.#reportError(error.message));
    events.on('progress', ({ jobId, data }) => this.#onProgress(jobId, data));
    events.on('completed', ({ jobId, returnvalue }) => this.#onCompleted(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => this.#onFailed(jobId, failedReason));
    events.on('stalled', ({ jobId }) => this.#onStalled(jobId));
    await events.waitUntilReady();
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
    const reported = new Set<string>();
    let waitingSaid = false;
    for (;;) {
      let workers: RegistryEntry[];
      let refused: RegistryEntry[];
      try {
        workers = await readRegistry(this.#redis, KEYS.workerPattern);
        refused = await readRegistry(this.#redis, KEYS.refusedPattern);
      } catch (error) {
        if (this.#closed) return [];
        throw error;
      }
      for (const entry of [...workers, ...refused].filter((w) => !sameVersion(w.version, this.#version))) {
        if (reported.has(entry.name)) continue;
        reported.add(entry.name);
        this.#log(
          `queue worker ${entry.name} refused: it runs ${describeVersion(entry.version)}, this coordinator ${describeVersion(this.#version)}`,
        );
      }
      const compatible = workers.filter((w) => sameVersion(w.version, this.#version));
      // This machine's own workers (`localWorkers`) are waited for; remote ones cannot be known in advance.
      if (compatible.length >= Math.max(1, this.#options.localWorkers ?? 0)) {
        this.#discoveredSlots = compatible.reduce((sum, w) => sum + (w.slots ?? 1), 0);
        return compatible.map((w) => w.backend ?? 'cpu');
      }
      if (this.#closed) return [];
      if (this.#supervisor?.stopped)
        throw new AppError('internal', 'the queue workers of this machine (--local-workers) could not start; see the messages above');
      if (!waitingSaid && compatible.length === 0 && this.#supervisor === null) {
        this.#log(
          `Waiting for queue workers: start \`foldwise worker --queue ${maskRedisUrl(this.#options.url)}\` on the training machines…`,
        );
        waitingSaid = true;
      }
      await sleep(500);
    }
  }

  async run(task: Task, onEpoch: EpochListener, signal?: AbortSignal): Promise<TaskOutcome> {
    // The model files of a refit belong in this machine's data dir: trained locally.
    if (task.kind === 'refit') return this.#localRunner().run(task, onEpoch, signal);
    if (signal?.aborted || this.#closed) return interrupted('stopped before it was published');
    let data: JobData;
    try {
      await this.#started;
      const scope = this.#scopeOf(task.spec.name);
      await this.#claim(scope);
      let remoteTask = task;
      const { dataset } = task.spec;
      if (dataset.kind === 'csv' || dataset.kind === 'movielens') {
        const published = await this.#publishData(dataset.kind, dataset.path);
        remoteTask = { ...task, spec: { ...task.spec, dataset: { ...dataset, path: csvAddress(published.sha256) } } };
      }
      data = { version: this.#version, owner: this.#instanceId, scope, task: remoteTask };
    } catch (error) {
      return { status: 'failed', reason: 'error', message: this.#redact((error as Error).message), workerName: null };
    }
    if (signal?.aborted || this.#closed) return interrupted('stopped before it was published');
    const jobId = jobIdFor(data.scope, task);
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
      this.#publish(entry).then(
        () => {
          entry.published = true;
          this.stats.published++;
        },
        (error: Error) =>
          this.#settle(entry, {
            status: 'failed',
            reason: 'error',
            message: `could not publish task ${task.taskId}: ${this.#redact(error.message)}`,
            workerName: null,
          }),
      );
    });
  }

  describe(spec: ExperimentSpec): Promise<DatasetInfo> {
    return this.#localRunner().describe(spec);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    const withdrawals = [...this.#inFlight.values()].map((entry) => this.#withdraw(entry, 'the coordinator stopped'));
    await this.#started.catch(() => undefined);
    // Redis may be unreachable: its commands wait for a reconnect, so none may hold up the exit.
    const bounded = (work: Promise<unknown>) => Promise.race([work.catch(() => undefined), sleep(2_000, { unref: true })]);
    await bounded(Promise.all(withdrawals));
    await Promise.all([
      this.#local?.close(),
      this.#supervisor?.stop(),
      this.#redis.status === 'ready' ? bounded(this.#redis.del(KEYS.coordinator(this.#instanceId))) : undefined,
    ]);
    await bounded(Promise.allSettled([this.#events?.close(), this.#queue.close()]));
    this.#redis.disconnect();
    if (this.#events) void this.#events.disconnect().catch(() => undefined);
    void this.#queue.disconnect().catch(() => undefined);
  }

  // ───────────────────────────── publishing ─────────────────────────────

  #publish(entry: InFlight): Promise<unknown> {
    return this.#queue.add('task', entry.data, {
      jobId: entry.jobId,
      attempts: 1,
      removeOnComplete: KEEP_FINISHED_JOBS,
      removeOnFail: KEEP_FINISHED_JOBS,
    });
  }

  /** Job ids and ownership are per (data dir, experiment): another coordinator of the same experiment is a restart. */
  #scopeOf(experimentName: string): string {
    return createHash('sha256').update(`${hostname()}\0${this.#dataDir}\0${experimentName}`).digest('hex').slice(0, 16);
  }

  /** Takes ownership of a scope once, and removes the jobs an earlier coordinator left in it. */
  #claim(scope: string): Promise<void> {
    let claim = this.#claims.get(scope);
    if (claim === undefined) {
      claim = (async () => {
        const previous = await this.#redis.set(KEYS.owner(scope), this.#instanceId, 'EX', OWNER_TTL_SECONDS, 'GET');
        if (previous !== null && previous !== this.#instanceId)
          this.#log('Taking over from an earlier coordinator of this experiment: its queued tasks are withdrawn.');
        const ids = await this.#queue.getRanges(['waiting', 'prioritized', 'delayed', 'completed', 'failed'], 0, -1);
        const stale = ids.filter((id) => id.startsWith(`${scope}.`) && !this.#inFlight.has(id));
        await Promise.all(stale.map((id) => this.#queue.remove(id).catch(() => 0)));
      })();
      this.#claims.set(scope, claim);
      claim.catch(() => this.#claims.delete(scope));
    }
    return claim;
  }

  /**
   * Stores a dataset once under its sha256: a CSV file's bytes, or a MovieLens folder as a
   * manifest of the files its loader reads (nothing else of the folder leaves this machine).
   * Workers fetch, verify and cache them.
   */
  #publishData(kind: 'csv' | 'movielens', path: string): Promise<PublishedData> {
    const key = `${kind}\0${path}`;
    let published = this.#dataByPath.get(key);
    if (published === undefined) {
      published = (async () => {
        if (kind === 'csv') {
          const blob = blobOf(await readLimited(path));
          await this.#storeBlobs([blob]);
          return { sha256: blob.sha256, blobs: [blob] };
        }
        const files: { name: (typeof MOVIELENS_FILES)[number]; blob: Blob }[] = [];
        for (const name of MOVIELENS_FILES) {
          const file = join(path, name);
          if (
            await stat(file).then(
              (s) => s.isFile(),
              () => false,
            )
          )
            files.push({ name, blob: blobOf(await readLimited(file)) });
        }
        if (files.length === 0)
          throw new Error(`movielens: ${path} holds none of ${MOVIELENS_FILES.join(', ')}; nothing to send to the queue workers`);
        const manifest = blobOf(manifestBytes({ files: files.map(({ name, blob }) => ({ name, sha256: blob.sha256 })) }));
        const blobs = [manifest, ...files.map((f) => f.blob)];
        await this.#storeBlobs(blobs);
        return { sha256: manifest.sha256, blobs };
      })();
      this.#dataByPath.set(key, published);
      published.catch(() => this.#dataByPath.delete(key));
    }
    return published;
  }

  async #storeBlobs(blobs: readonly Blob[]): Promise<void> {
    for (const blob of blobs) {
      await this.#redis.set(KEYS.data(blob.sha256), blob.bytes, 'EX', DATA_TTL_SECONDS);
      this.#blobs.set(blob.sha256, blob);
    }
  }

  // ───────────────────────────── events ─────────────────────────────

  #onProgress(jobId: string, raw: unknown): void {
    const entry = this.#inFlight.get(jobId);
    if (entry === undefined || entry.settled) return;
    let progress: EpochProgress;
    try {
      progress = parseEpochProgress(raw);
    } catch (error) {
      this.#log(`ignored a malformed epoch message for job ${jobId}: ${(error as Error).message}`);
      return;
    }
    if (progress.taskId !== entry.data.task.taskId) return;
    if (progress.delivery < entry.delivery) {
      this.stats.staleEpochs++;
      return;
    }
    entry.delivery = progress.delivery;
    if (entry.onEpoch(progress.epoch, progress.metrics) === 'stop' && !entry.stopSent) {
      entry.stopSent = true;
      void this.#sendControl(entry.jobId, 'stop');
    }
  }

  #onCompleted(jobId: string, raw: unknown): void {
    const entry = this.#inFlight.get(jobId);
    if (entry === undefined) return this.#forget(jobId);
    let value: JobReturn;
    try {
      value = parseJobReturn(raw);
    } catch (error) {
      return this.#settle(entry, {
        status: 'failed',
        reason: 'error',
        message: `malformed result for job ${jobId}: ${(error as Error).message}`,
        workerName: null,
      });
    }
    switch (value.status) {
      case 'done':
        return this.#settle(entry, { status: 'done', result: value.result, workerName: value.workerName, backend: value.backend });
      case 'failed':
        return this.#settle(entry, { status: 'failed', reason: value.reason, message: value.message, workerName: value.workerName });
      case 'stale':
        return this.#settle(entry, { ...interrupted('another coordinator took over this experiment'), workerName: value.workerName });
      case 'cancelled':
        return this.#settle(entry, { ...interrupted('withdrawn by the coordinator'), workerName: value.workerName });
    }
  }

  #onFailed(jobId: string, reason: string): void {
    const entry = this.#inFlight.get(jobId);
    if (entry === undefined) return this.#forget(jobId);
    // Processors return failures as values, so a failed job is BullMQ's verdict: the job stalled
    // again after its redelivery (maxStalledCount), or its worker lost it. The coordinator retries.
    this.#settle(entry, {
      status: 'failed',
      reason: 'crashed',
      message: `queue worker lost task ${entry.data.task.taskId}: ${reason}`,
      workerName: null,
    });
  }

  #onStalled(jobId: string): void {
    const entry = this.#inFlight.get(jobId);
    if (entry === undefined) return;
    this.stats.stalled++;
    this.#log(`Task ${entry.data.task.taskId} stalled (its worker stopped answering); it goes to another worker.`);
  }

  #settle(entry: InFlight, outcome: TaskOutcome): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.detach();
    this.#inFlight.delete(entry.jobId);
    entry.resolve(outcome);
    this.#forget(entry.jobId);
  }

  /** Removes a finished job of ours (and its control key): its outcome is in SQLite now. */
  #forget(jobId: string): void {
    if (![...this.#claims.keys()].some((scope) => jobId.startsWith(`${scope}.`))) return;
    void this.#queue.remove(jobId).catch(() => 0);
    void this.#redis.del(KEYS.control(jobId)).catch(() => 0);
  }

  /** Ends a task as interrupted now; a waiting job is removed, a running one is told to stop. */
  async #withdraw(entry: InFlight, message: string): Promise<void> {
    if (entry.settled) return;
    this.#settle(entry, interrupted(message));
    await this.#sendControl(entry.jobId, 'cancel');
  }

  async #sendControl(jobId: string, control: Control): Promise<void> {
    try {
      await this.#redis.set(KEYS.control(jobId), control, 'EX', OWNER_TTL_SECONDS);
      await this.#redis.publish(KEYS.controlChannel, `${jobId} ${control}`);
    } catch (error) {
      this.#log(`could not send '${control}' for job ${jobId}: ${(error as Error).message}`);
    }
  }

  // ───────────────────────────── upkeep ─────────────────────────────

  /** Refreshes this coordinator's registry entry, its scopes' ownership and its datasets' lifetime. */
  async #heartbeat(): Promise<void> {
    if (this.#beating || this.#closed) return;
    this.#beating = true;
    try {
      const entry: RegistryEntry = { role: 'coordinator', name: `${hostname()}:${process.pid}`, version: this.#version };
      await this.#redis.set(KEYS.coordinator(this.#instanceId), JSON.stringify(entry), 'EX', REGISTRY_TTL_SECONDS);
      for (const scope of this.#claims.keys()) {
        const claimed = await this.#redis.set(KEYS.owner(scope), this.#instanceId, 'EX', OWNER_TTL_SECONDS, 'NX');
        if (claimed === null && (await this.#redis.get(KEYS.owner(scope))) === this.#instanceId)
          await this.#redis.expire(KEYS.owner(scope), OWNER_TTL_SECONDS);
      }
      for (const blob of this.#blobs.values()) {
        if ((await this.#redis.expire(KEYS.data(blob.sha256), DATA_TTL_SECONDS)) === 0) {
          await this.#redis.set(KEYS.data(blob.sha256), blob.bytes, 'EX', DATA_TTL_SECONDS);
        }
      }
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
      const entries = [...this.#inFlight.values()].filter((entry) => entry.published && !entry.settled);
      const states = await Promise.all(entries.map((entry) => this.#queue.getJobState(entry.jobId)));
      const lost: InFlight[] = [];
      for (const [i, entry] of entries.entries()) {
        if (entry.settled) continue;
        const state = states[i];
        if (state === 'completed' || state === 'failed') {
          const job = await this.#queue.getJob(entry.jobId);
          if (job === undefined || entry.settled) continue;
          if (state === 'completed') this.#onCompleted(entry.jobId, job.returnvalue);
          else this.#onFailed(entry.jobId, job.failedReason);
        } else if (state === 'unknown') {
          lost.push(entry);
        }
      }
      for (const entry of lost.splice(0)) {
        const owner = await this.#redis.get(KEYS.owner(entry.data.scope));
        if (owner !== null && owner !== this.#instanceId) this.#settle(entry, interrupted('another coordinator took over this experiment'));
        else lost.push(entry);
      }
      if (lost.length > 0) {
        this.#log(
          `Redis lost ${lost.length} queued or running task${lost.length === 1 ? '' : 's'} (a restart?): publishing ${lost.length === 1 ? 'it' : 'them'} again.`,
        );
        await this.#heartbeat();
        for (const entry of lost) {
          if (entry.settled) continue;
          // The new job's deliveries count from 1 again.
          entry.delivery = 0;
          await this.#publish(entry);
          this.stats.republished++;
        }
      }
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

function blobOf(bytes: Buffer): Blob {
  return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
}

async function readLimited(path: string): Promise<Buffer> {
  const bytes = await readFile(path);
  if (bytes.length > MAX_FILE_BYTES)
    throw new Error(`${path} has ${bytes.length} bytes; the queue carries data files up to ${MAX_FILE_BYTES} bytes`);
  return bytes;
}

function interrupted(message: string): Extract<TaskOutcome, { status: 'failed' }> {
  return { status: 'failed', reason: 'interrupted', message, workerName: null };
}

function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Resolves once the client is connected; rejects after `timeoutMs` with the last connection error. */
function waitForConnection(redis: Redis, timeoutMs: number, what: () => string): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolveReady, reject) => {
    let lastError = 'no answer';
    const onError = (error: Error) => (lastError = error.message);
    const onReady = () => {
      clearTimeout(timer);
      redis.off('error', onError);
      resolveReady();
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      redis.off('error', onError);
      reject(new AppError('invalid_argument', `${what()} (${lastError})`));
    }, timeoutMs);
    redis.on('error', onError);
    redis.once('ready', onReady);
  });
}

function sleep(ms: number, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolveSleep) => {
    const timer = setTimeout(resolveSleep, ms);
    if (options.unref) timer.unref();
  });
}
