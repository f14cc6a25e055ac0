/**
 * Datasets on the queue: a CSV file's bytes, or a MovieLens folder as a manifest of the files
 * its loader reads, stored in Redis once under their sha256 (`KEYS.data`) and kept there while
 * the coordinator runs. Queue workers fetch, verify and cache them; nothing else of a folder
 * leaves this machine.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { KEYS, MOVIELENS_FILES, manifestBytes } from '../../worker/contract/queue.js';

type Blob = { readonly sha256: string; readonly bytes: Buffer };

const DATA_TTL_SECONDS = 3600;
/** Redis strings stop at 512 MiB; a file near that size belongs on a shared disk. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

export class DatasetPublisher {
  readonly #redis: Redis;
  readonly #addressByPath = new Map<string, Promise<string>>();
  readonly #blobs = new Map<string, Blob>();

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  /** Stores a dataset once per (kind, path) and resolves with its content address (the sha256 of the file or manifest). */
  publish(kind: 'csv' | 'movielens', path: string): Promise<string> {
    const key = `${kind}\0${path}`;
    let address = this.#addressByPath.get(key);
    if (address === undefined) {
      address = kind === 'csv' ? this.#publishFile(path) : this.#publishFolder(path);
      this.#addressByPath.set(key, address);
      address.catch(() => this.#addressByPath.delete(key));
    }
    return address;
  }

  /** Extends the lifetime of every stored blob, and stores again one that Redis lost (a restart). */
  async refresh(): Promise<void> {
    for (const blob of this.#blobs.values()) {
      if ((await this.#redis.expire(KEYS.data(blob.sha256), DATA_TTL_SECONDS)) === 0) {
        await this.#redis.set(KEYS.data(blob.sha256), blob.bytes, 'EX', DATA_TTL_SECONDS);
      }
    }
  }

  async #publishFile(path: string): Promise<string> {
    const blob = blobOf(await readLimited(path));
    await this.#store([blob]);
    return blob.sha256;
  }

  async #publishFolder(path: string): Promise<string> {
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
    await this.#store([manifest, ...files.map((f) => f.blob)]);
    return manifest.sha256;
  }

  async #store(blobs: readonly Blob[]): Promise<void> {
    for (const blob of blobs) {
      await this.#redis.set(KEYS.data(blob.sha256), blob.bytes, 'EX', DATA_TTL_SECONDS);
      this.#blobs.set(blob.sha256, blob);
    }
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
