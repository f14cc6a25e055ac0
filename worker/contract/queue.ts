/**
 * CONTRACT: what crosses Redis between a coordinator (`foldwise run --queue`) and queue workers
 * (`foldwise worker --queue`), on top of BullMQ.
 *
 * - A job is one delivery of a `Task` (protocol.ts). Its id is
 *   `${scope}.${runId}.${foldIndex}.${attempt}`: the scope names one experiment of one data
 *   directory, the attempt is the coordinator's, so a retried or resumed fold is a new job.
 * - Epoch metrics travel as BullMQ job progress (`job.updateProgress`), the result as the job's
 *   return value; the coordinator reads both, in order, from the queue's event stream.
 * - Control from the coordinator (pruning `stop`, `cancel`) is a key per job plus a pub/sub
 *   message, so it reaches a worker mid-epoch and survives a missed message.
 * - Data is never read from a path the task names: the coordinator stores a CSV's bytes under
 *   `foldwise:data:<sha256>` and the task says `dataset.path: "sha256:<hex>"`; a MovieLens folder
 *   becomes a manifest (file name → sha256 of each file the loader reads) stored the same way.
 *   The worker checks every hash, caches the copies privately and trains on them only.
 * - The queue name carries the code version, so a worker of another version never pulls a job;
 *   both sides also register in Redis so that a mismatch is reported in words, not by silence.
 *
 * Everything read from Redis is validated here, at the boundary.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BACKENDS, FAILURE_KINDS, metricsSchema, resultSchema, taskSchema, type Task } from './protocol.js';

/** Bumped whenever the shapes below, the key layout or the job id format change. */
export const QUEUE_PROTOCOL_VERSION = 1;

/** The code version both sides must share: the package version and the queue protocol. */
const versionSchema = z.strictObject({ packageVersion: z.string().min(1), protocol: z.number().int().min(1) }).readonly();
export type CodeVersion = z.infer<typeof versionSchema>;

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** This build's version. */
export const CODE_VERSION: CodeVersion = Object.freeze({ packageVersion: packageJson.version, protocol: QUEUE_PROTOCOL_VERSION });

export function sameVersion(a: CodeVersion, b: CodeVersion): boolean {
  return a.packageVersion === b.packageVersion && a.protocol === b.protocol;
}

export function describeVersion(version: CodeVersion): string {
  return `foldwise ${version.packageVersion} (queue protocol ${version.protocol})`;
}

/** BullMQ queue of one code version: `foldwise-v0.1.0-p1`. */
export function queueNameFor(version: CodeVersion): string {
  return `foldwise-v${version.packageVersion}-p${version.protocol}`.replace(/[^A-Za-z0-9.-]/g, '_');
}

/** Redis keys outside BullMQ's own (`bull:<queue>:…`). */
export const KEYS = {
  /** One per live coordinator, JSON `RegistryEntry`, expires unless refreshed. */
  coordinator: (instanceId: string) => `foldwise:coordinator:${instanceId}`,
  coordinatorPattern: 'foldwise:coordinator:*',
  /** One per live worker process, JSON `RegistryEntry`, expires unless refreshed. */
  worker: (workerName: string) => `foldwise:worker:${workerName}`,
  workerPattern: 'foldwise:worker:*',
  /** Left for a minute by a worker that refused to serve (another code version), so the coordinator can say so too. */
  refused: (workerName: string) => `foldwise:refused:${workerName}`,
  refusedPattern: 'foldwise:refused:*',
  /** Which coordinator instance owns an experiment scope; a job of another owner is stale. */
  owner: (scope: string) => `foldwise:owner:${scope}`,
  /** 'stop' (end after this epoch, report done) or 'cancel' (drop the task) for one job. */
  control: (jobId: string) => `foldwise:control:${jobId}`,
  /** Pub/sub channel announcing a new control value: message = job id. */
  controlChannel: 'foldwise:control',
  /** Bytes of a published file or folder manifest, addressed by their sha256 (hex). */
  data: (sha256: string) => `foldwise:data:${sha256}`,
} as const;

/** How long registry entries live without a refresh; they are refreshed three times as often. */
export const REGISTRY_TTL_SECONDS = 15;

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** `dataset.path` of a task on the queue: a content address, never a file name. */
export const CSV_ADDRESS_PREFIX = 'sha256:';

export function csvAddress(sha256: string): string {
  return `${CSV_ADDRESS_PREFIX}${sha256}`;
}

/** The sha256 a task's dataset address names, or null when `path` is not a content address. */
export function parseCsvAddress(path: string): string | null {
  if (!path.startsWith(CSV_ADDRESS_PREFIX)) return null;
  const hex = path.slice(CSV_ADDRESS_PREFIX.length);
  return SHA256_HEX.test(hex) ? hex : null;
}

/**
 * The only files of a MovieLens folder that travel: those worker/recsys/movielens.ts reads
 * (ml-100k: u.data, u.user, u.item, u.genre; ml-1m: ratings.dat, users.dat, movies.dat;
 * ml-latest-small: ratings.csv, movies.csv).
 */
export const MOVIELENS_FILES = [
  'u.data',
  'u.user',
  'u.item',
  'u.genre',
  'ratings.dat',
  'users.dat',
  'movies.dat',
  'ratings.csv',
  'movies.csv',
] as const;

/** A published folder: its files by name, each addressed by its sha256. Stored as canonical JSON. */
const manifestSchema = z
  .strictObject({
    files: z
      .array(z.strictObject({ name: z.enum(MOVIELENS_FILES), sha256: z.string().regex(SHA256_HEX) }).readonly())
      .min(1)
      .max(MOVIELENS_FILES.length)
      .refine((files) => new Set(files.map((f) => f.name)).size === files.length, 'each file once')
      .readonly(),
  })
  .readonly();
export type FolderManifest = z.infer<typeof manifestSchema>;

/** The bytes that represent a manifest (names sorted), so that equal folders have one address. */
export function manifestBytes(manifest: FolderManifest): Buffer {
  const files = [...manifest.files].sort((a, b) => (a.name < b.name ? -1 : 1)).map(({ name, sha256 }) => ({ name, sha256 }));
  return Buffer.from(JSON.stringify({ files }));
}

/** @throws {Error} when the bytes are not a manifest of allowed file names. */
export function parseManifest(bytes: Buffer): FolderManifest {
  return manifestSchema.parse(JSON.parse(bytes.toString('utf8')));
}

export function jobIdFor(scope: string, task: Pick<Task, 'runId' | 'foldIndex' | 'attempt'>): string {
  return `${scope}.${task.runId}.${task.foldIndex}.${task.attempt}`;
}

// ───────────────────────────── messages ─────────────────────────────

/** The data of one BullMQ job. */
const jobDataSchema = z
  .strictObject({
    version: versionSchema,
    /** The coordinator instance that published the job (see KEYS.owner). */
    owner: z.string().min(1).max(200),
    scope: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    /** The task, with a CSV's or a folder's `dataset.path` replaced by its content address. */
    task: taskSchema,
  })
  .readonly();
export type JobData = z.infer<typeof jobDataSchema>;

/** Validates a job's data (the task with the IPC contract). @throws {Error} naming the bad field. */
export function parseJobData(raw: unknown): JobData {
  return jobDataSchema.parse(raw);
}

/** Job progress: one finished epoch. */
const progressSchema = z
  .strictObject({
    type: z.literal('epoch'),
    taskId: z.string(),
    /** BullMQ pick-ups of the job so far (a stalled job is picked up again). */
    delivery: z.number().int().min(0),
    epoch: z.number().int().min(0),
    metrics: metricsSchema,
  })
  .readonly();
export type EpochProgress = z.infer<typeof progressSchema>;

/** @throws {Error} naming the bad field. */
export function parseEpochProgress(raw: unknown): EpochProgress {
  return progressSchema.parse(raw);
}

/** A job's return value. `stale`: the job's coordinator was replaced; `cancelled`: the coordinator withdrew it. */
const returnSchema = z.discriminatedUnion('status', [
  z
    .strictObject({
      status: z.literal('done'),
      taskId: z.string(),
      result: resultSchema,
      workerName: z.string(),
      backend: z.enum(BACKENDS),
    })
    .readonly(),
  z
    .strictObject({
      status: z.literal('failed'),
      taskId: z.string(),
      kind: z.enum(FAILURE_KINDS),
      message: z.string(),
      workerName: z.string(),
    })
    .readonly(),
  z.strictObject({ status: z.enum(['stale', 'cancelled']), taskId: z.string(), workerName: z.string() }).readonly(),
]);
export type JobReturn = z.infer<typeof returnSchema>;

/** @throws {Error} naming the bad field. */
export function parseJobReturn(raw: unknown): JobReturn {
  return returnSchema.parse(raw);
}

export type Control = 'stop' | 'cancel';

export function parseControl(raw: string | null): Control | null {
  return raw === 'stop' || raw === 'cancel' ? raw : null;
}

/** A registered coordinator or worker. */
const registrySchema = z
  .strictObject({
    role: z.enum(['coordinator', 'worker']),
    name: z.string(),
    version: versionSchema,
    /** Worker only: tasks it trains at once. */
    slots: z.number().int().min(1).optional(),
    /** Worker only: its backend. */
    backend: z.enum(BACKENDS).optional(),
  })
  .readonly();
export type RegistryEntry = z.infer<typeof registrySchema>;

/** A registry entry, or null when the stored text is not one (another program's key, a newer layout). */
export function parseRegistryEntry(text: string | null): RegistryEntry | null {
  if (text === null) return null;
  try {
    const parsed = registrySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
