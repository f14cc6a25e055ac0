/**
 * Queue worker process: pulls (run, fold) tasks from the BullMQ queue of its code version,
 * trains them with the same `runTask` as the local pool, and reports epochs (job progress) and
 * the result (job return value) back through Redis. Started by `foldwise worker --queue URL`
 * (one process per slot) or by `foldwise run --queue URL --local-workers N`.
 *
 * Configured by the environment, so the queue password never shows in a process list:
 * FOLDWISE_QUEUE_URL (required), FOLDWISE_QUEUE_CACHE_DIR, FOLDWISE_QUEUE_LOCK_MS,
 * FOLDWISE_QUEUE_STALLED_MS, FOLDWISE_WORKER_NAME.
 *
 * Exit codes: 0 stopped, 2 refused (another code version, or bad configuration), 1 crashed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Worker, WaitingError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { selectBackend } from './backend.js';
import { defaultWorkerName, executeTask } from './execute.js';
import { errorMessage } from './failures.js';
import type { Task } from './contract/protocol.js';
import {
  CODE_VERSION,
  KEYS,
  REGISTRY_TTL_SECONDS,
  describeVersion,
  parseControl,
  parseCsvAddress,
  parseManifest,
  parseJobData,
  queueNameFor,
  sameVersion,
  type Control,
  type EpochProgress,
  type JobData,
  type JobReturn,
  type RegistryEntry,
} from './contract/queue.js';
import { checkRedisUrl, createRedactor, maskRedisUrl, rateLimited, readRegistry, redisClientOptions } from './contract/redis-connection.js';
import type { TrainingContext } from './training/types.js';

type Config = {
  readonly url: string;
  readonly cacheDir: string;
  readonly lockMs: number;
  readonly stalledMs: number;
  readonly workerName: string;
};

/** The task in progress and what the coordinator said about it. */
type Current = {
  readonly jobId: string;
  readonly data: JobData;
  readonly abort: AbortController;
  control: Control | null;
  stale: boolean;
  /** A read of the control keys is under way. */
  refreshing: boolean;
};

const EXIT_REFUSED = 2;
const VERSION_CHECK_EVERY_MS = 5_000;

const config = readConfig(process.env);
const redact = createRedactor(config.url);
const log = (line: string) => process.stdout.write(`foldwise worker ${config.workerName}: ${redact(line)}\n`);
const logError = rateLimited((line: string) => process.stderr.write(`foldwise worker ${config.workerName}: ${redact(line)}\n`));

const redis = new Redis(config.url, redisClientOptions(`foldwise-worker:${config.workerName}`));
redis.on('error', (error: Error) => {
  logError(`Redis: ${error.message}`);
  // A wrong password does not fix itself by retrying.
  if (/WRONGPASS|NOAUTH|invalid password/i.test(error.message)) void shutDown(EXIT_REFUSED);
});
const subscriber = redis.duplicate();
subscriber.on('error', () => undefined); // reported once by `redis`

let current: Current | null = null;
let shuttingDown = false;
let worker: Worker | null = null;
let heartbeat: NodeJS.Timeout | null = null;
let versionCheck: NodeJS.Timeout | null = null;
let stopping: Promise<never> | null = null;
const datasets = new Map<string, Promise<string>>();

process.once('SIGTERM', () => void shutDown(0));
process.once('SIGINT', () => void shutDown(0));
// Forked by a supervisor: when it goes away, hand the task back and go too.
if (process.send !== undefined) process.once('disconnect', () => void shutDown(0));

await refuseIfIncompatible();
let ctx: TrainingContext;
try {
  ctx = await selectBackend();
} catch (error) {
  logError(errorMessage(error));
  process.exit(1);
}
const queueName = queueNameFor(CODE_VERSION);
await register();
heartbeat = setInterval(() => void register(), (REGISTRY_TTL_SECONDS * 1000) / 3);
versionCheck = setInterval(() => void refuseIfIncompatible(), VERSION_CHECK_EVERY_MS);

await subscriber.subscribe(KEYS.controlChannel);
subscriber.on('message', (_channel: string, message: string) => {
  const [jobId, value] = message.split(' ');
  const control = parseControl(value ?? null);
  if (current !== null && jobId === current.jobId && control !== null) applyControl(current, control);
});

worker = new Worker(queueName, processJob, {
  connection: { url: config.url, ...redisClientOptions() },
  name: config.workerName,
  concurrency: 1,
  lockDuration: config.lockMs,
  stalledInterval: config.stalledMs,
  maxStalledCount: 1,
  autorun: true,
});
worker.on('error', (error: Error) => logError(`queue: ${error.message}`));
log(`ready on ${maskRedisUrl(config.url)}, queue ${queueName}, backend ${ctx.backend} (${describeVersion(CODE_VERSION)})`);

// ───────────────────────────── one job ─────────────────────────────

async function processJob(job: Job, token?: string, bullSignal?: AbortSignal): Promise<JobReturn> {
  const jobId = job.id ?? '(no id)';
  let data: JobData;
  try {
    data = parseJobData(job.data);
  } catch (error) {
    return {
      status: 'failed',
      taskId: jobId,
      kind: 'error',
      message: `malformed job ${jobId}: ${errorMessage(error)}`,
      workerName: config.workerName,
    };
  }
  const { task } = data;
  const failed = (message: string): JobReturn => ({
    status: 'failed',
    taskId: task.taskId,
    kind: 'error',
    message,
    workerName: config.workerName,
  });
  if (!sameVersion(data.version, CODE_VERSION)) {
    return failed(`job ${jobId} comes from ${describeVersion(data.version)}, but this worker runs ${describeVersion(CODE_VERSION)}`);
  }
  if (task.kind === 'refit' || task.refit !== undefined) {
    return failed(
      `refused refit task ${task.taskId}: refits are trained on the coordinator's machine, whose data dir keeps the model files`,
    );
  }
  const [owner, controlText] = await redis.mget(KEYS.owner(data.scope), KEYS.control(jobId));
  if (owner != null && owner !== data.owner) return { status: 'stale', taskId: task.taskId, workerName: config.workerName };
  const control = parseControl(controlText ?? null);
  if (control === 'cancel') return { status: 'cancelled', taskId: task.taskId, workerName: config.workerName };

  let localTask: Task;
  try {
    localTask = await withLocalDataset(task);
  } catch (error) {
    log(`task ${task.taskId} refused: ${errorMessage(error)}`);
    return failed(errorMessage(error));
  }

  const delivery = job.attemptsStarted;
  const state: Current = { jobId, data, abort: new AbortController(), control, stale: false, refreshing: false };
  current = state;
  bullSignal?.addEventListener('abort', () => state.abort.abort(), { once: true });
  if (shuttingDown) state.abort.abort();
  log(
    `task ${task.taskId} started (run ${task.runId}, fold ${task.foldIndex}, attempt ${task.attempt}, ` +
      `delivery ${delivery}, pid ${process.pid})`,
  );
  const startedAt = performance.now();

  // Progress messages leave in order and all before the return value: the coordinator ignores
  // epochs that arrive after a fold is finished.
  let reports: Promise<void> = Promise.resolve();
  const onEpoch = (epoch: number, metrics: EpochProgress['metrics']): 'stop' | 'continue' => {
    const progress: EpochProgress = { type: 'epoch', taskId: task.taskId, delivery, epoch, metrics };
    reports = reports
      .then(() => job.updateProgress(progress))
      .catch((error: unknown) => logError(`could not report epoch ${epoch} of task ${task.taskId}: ${errorMessage(error)}`));
    // Pub/sub brings 'stop' and 'cancel' at once; this read catches a message missed during a
    // reconnect, and a change of owner. Off the critical path: the result never waits for it.
    void refreshControl(state);
    return state.control === 'stop' ? 'stop' : 'continue';
  };
  try {
    const execution = await executeTask(localTask, ctx, onEpoch, state.abort.signal);
    await reports;
    const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
    if (execution.status === 'aborted') {
      if (shuttingDown && token !== undefined) {
        // Hand the job back at once rather than waiting for its lock to expire.
        await job.moveToWait(token);
        log(`task ${task.taskId} handed back to the queue`);
        throw new WaitingError();
      }
      log(`task ${task.taskId} ${state.stale ? 'dropped: its coordinator was replaced' : 'cancelled by the coordinator'}`);
      return { status: state.stale ? 'stale' : 'cancelled', taskId: task.taskId, workerName: config.workerName };
    }
    if (execution.status === 'failed') {
      log(`task ${task.taskId} failed after ${seconds} s (${execution.kind}): ${execution.message}`);
      return { status: 'failed', taskId: task.taskId, kind: execution.kind, message: execution.message, workerName: config.workerName };
    }
    log(`task ${task.taskId} done in ${seconds} s`);
    return { status: 'done', taskId: task.taskId, result: execution.result, workerName: config.workerName, backend: ctx.backend };
  } finally {
    current = null;
  }
}

async function refreshControl(state: Current): Promise<void> {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    const [owner, control] = await redis.mget(KEYS.owner(state.data.scope), KEYS.control(state.jobId));
    if (owner != null && owner !== state.data.owner) {
      state.stale = true;
      state.abort.abort();
    }
    const value = parseControl(control ?? null);
    if (value !== null) applyControl(state, value);
  } catch (error) {
    logError(`could not read the coordinator's instructions: ${errorMessage(error)}`);
  } finally {
    state.refreshing = false;
  }
}

function applyControl(state: Current, control: Control): void {
  if (control === 'cancel') state.abort.abort();
  else state.control = 'stop';
}

// ───────────────────────────── data ─────────────────────────────

/**
 * The task as this worker trains it: a dataset's content address replaced by the verified copy in
 * the private cache (a CSV file, or a MovieLens folder rebuilt from its manifest). Any other
 * path is refused: a task cannot make a worker read its files.
 */
async function withLocalDataset(task: Task): Promise<Task> {
  const { dataset } = task.spec;
  if (!('path' in dataset)) return task;
  const sha256 = parseCsvAddress(dataset.path);
  if (sha256 === null) {
    throw new Error(
      `refused task ${task.taskId}: its dataset.path ${JSON.stringify(dataset.path)} is not a content address (sha256:<hex>); ` +
        'a queue worker reads only data it was sent',
    );
  }
  let local: Promise<string>;
  if (dataset.kind === 'csv') local = cached(`file:${sha256}`, () => cacheFile(sha256));
  else if (dataset.kind === 'movielens') local = cached(`folder:${sha256}`, () => cacheFolder(sha256));
  else throw new Error(`refused task ${task.taskId}: a ${(dataset as { kind: string }).kind} dataset cannot travel through the queue`);
  return { ...task, spec: { ...task.spec, dataset: { ...dataset, path: await local } } };
}

/** One fetch per dataset and process; a failed one is tried again by the next task. */
function cached(key: string, fetch: () => Promise<string>): Promise<string> {
  let local = datasets.get(key);
  if (local === undefined) {
    local = fetch();
    datasets.set(key, local);
    local.catch(() => datasets.delete(key));
  }
  return local;
}

/** A published file's bytes, checked against their address. */
async function fetchBlob(sha256: string, what: string): Promise<Buffer> {
  const bytes = await redis.getBuffer(KEYS.data(sha256));
  if (bytes === null)
    throw new Error(`${what} sha256:${sha256.slice(0, 12)}… is not in Redis (the coordinator publishes it while its search runs)`);
  const actual = hashOf(bytes);
  if (actual !== sha256)
    throw new Error(
      `refused ${what} sha256:${sha256.slice(0, 12)}…: the bytes in Redis hash to ${actual.slice(0, 12)}… (tampered or corrupted)`,
    );
  return bytes;
}

/** Copies a published CSV into the cache after checking its hash; reuses a cached copy whose hash still matches. */
async function cacheFile(sha256: string): Promise<string> {
  const path = join(config.cacheDir, `${sha256}.csv`);
  if (await matches(path, sha256)) return path;
  const bytes = await fetchBlob(sha256, 'dataset');
  await mkdir(config.cacheDir, { recursive: true, mode: 0o700 });
  await writeAtomically(path, bytes);
  log(`dataset sha256:${sha256.slice(0, 12)}… verified and cached (${bytes.length} bytes)`);
  return path;
}

/** Rebuilds a published folder in the cache from its manifest, every file checked against its hash. */
async function cacheFolder(manifestSha: string): Promise<string> {
  const folder = join(config.cacheDir, manifestSha);
  const manifest = parseManifest(await fetchBlob(manifestSha, 'dataset folder'));
  await mkdir(folder, { recursive: true, mode: 0o700 });
  let bytesTotal = 0;
  for (const file of manifest.files) {
    const path = join(folder, file.name);
    if (await matches(path, file.sha256)) continue;
    const bytes = await fetchBlob(file.sha256, `dataset file ${file.name}`);
    await writeAtomically(path, bytes);
    bytesTotal += bytes.length;
  }
  log(
    `dataset folder sha256:${manifestSha.slice(0, 12)}… (${manifest.files.map((f) => f.name).join(', ')}) ` +
      `verified and cached (${bytesTotal} bytes fetched)`,
  );
  return folder;
}

async function matches(path: string, sha256: string): Promise<boolean> {
  const bytes = await readFile(path).catch(() => null);
  return bytes !== null && hashOf(bytes) === sha256;
}

async function writeAtomically(path: string, bytes: Buffer): Promise<void> {
  const partial = `${path}.${process.pid}.partial`;
  try {
    await writeFile(partial, bytes, { mode: 0o600 });
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
}

function hashOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ───────────────────────────── registry and versions ─────────────────────────────

async function register(): Promise<void> {
  const entry: RegistryEntry = { role: 'worker', name: config.workerName, version: CODE_VERSION, slots: 1, backend: ctx.backend };
  await redis.set(KEYS.worker(config.workerName), JSON.stringify(entry), 'EX', REGISTRY_TTL_SECONDS).catch(() => undefined);
}

/** Exits with a clear message when coordinators are registered and none runs this code version. */
async function refuseIfIncompatible(): Promise<void> {
  if (current !== null || shuttingDown) return;
  let coordinators: RegistryEntry[];
  try {
    coordinators = await readRegistry(redis, KEYS.coordinatorPattern);
  } catch (error) {
    logError(`could not read the coordinator registry: ${errorMessage(error)}`);
    return;
  }
  if (coordinators.length === 0 || coordinators.some((entry) => sameVersion(entry.version, CODE_VERSION))) return;
  const theirs = [...new Set(coordinators.map((entry) => describeVersion(entry.version)))].join(', ');
  const refusal: RegistryEntry = { role: 'worker', name: config.workerName, version: CODE_VERSION };
  await redis.set(KEYS.refused(config.workerName), JSON.stringify(refusal), 'EX', 60).catch(() => undefined);
  process.stderr.write(
    `foldwise worker ${config.workerName}: refused: the coordinator on ${maskRedisUrl(config.url)} runs ${theirs}, ` +
      `but this worker runs ${describeVersion(CODE_VERSION)}. Install the same foldwise version on every machine.\n`,
  );
  await shutDown(EXIT_REFUSED);
}

// ───────────────────────────── lifecycle ─────────────────────────────

/** Hands the task in progress back to the queue, unregisters and exits; a second signal waits for the first. */
function shutDown(code: number): Promise<never> {
  stopping ??= (async () => {
    shuttingDown = true;
    if (heartbeat) clearInterval(heartbeat);
    if (versionCheck) clearInterval(versionCheck);
    current?.abort.abort();
    const closing = (async () => {
      await worker?.close();
      await redis.del(KEYS.worker(config.workerName));
      subscriber.disconnect();
      await redis.quit();
    })().catch(() => undefined);
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    if (code === 0) log('stopped');
    process.exit(code);
  })();
  return stopping;
}

function readConfig(env: NodeJS.ProcessEnv): Config {
  const url = env.FOLDWISE_QUEUE_URL ?? '';
  const fail = (message: string): never => {
    process.stderr.write(`foldwise worker: ${message}\n`);
    process.exit(EXIT_REFUSED);
  };
  if (url === '') fail('FOLDWISE_QUEUE_URL is not set (start workers with `foldwise worker --queue redis://HOST:PORT`)');
  try {
    checkRedisUrl(url);
  } catch (error) {
    fail(errorMessage(error));
  }
  const positive = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) fail(`${name}: expected a whole number of milliseconds from 1 up, got "${raw}"`);
    return value;
  };
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return {
    url,
    cacheDir: env.FOLDWISE_QUEUE_CACHE_DIR || join(cacheHome, 'foldwise', 'datasets'),
    lockMs: positive('FOLDWISE_QUEUE_LOCK_MS', 30_000),
    stalledMs: positive('FOLDWISE_QUEUE_STALLED_MS', 15_000),
    workerName: env.FOLDWISE_WORKER_NAME || defaultWorkerName(),
  };
}
