/**
 * CONTRACT: the sha256 that names a dataset's bytes, as a task carries it (`Task.dataSha256`).
 * The coordinator takes it once when a search or refit starts; a worker takes it again after it
 * loads the table, and refuses the task when the two differ (a file edited mid-search). It is the
 * address a queue worker fetches the data under (queue.ts): a CSV file's sha256, or the sha256 of
 * a MovieLens folder's manifest over the files its loader reads.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MOVIELENS_FILES, manifestBytes, type FolderManifest } from './queue.js';
import type { DatasetSpec } from './spec.js';

/** sha256 of bytes, hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The digest of a CSV file's or MovieLens folder's bytes; null for generated datasets, and when
 * the file cannot be read (the loader then reports why, in the user's words).
 */
export async function datasetDigest(dataset: DatasetSpec): Promise<string | null> {
  try {
    if (dataset.kind === 'csv') return sha256Hex(await readFile(dataset.path));
    if (dataset.kind !== 'movielens') return null;
    const files: { name: FolderManifest['files'][number]['name']; sha256: string }[] = [];
    for (const name of MOVIELENS_FILES) {
      const path = join(dataset.path, name);
      const isFile = await stat(path).then(
        (s) => s.isFile(),
        () => false,
      );
      if (isFile) files.push({ name, sha256: sha256Hex(await readFile(path)) });
    }
    return files.length === 0 ? null : sha256Hex(manifestBytes({ files }));
  } catch {
    return null;
  }
}

/** The sha256 shown in messages: `sha256:1a2b3c4d5e6f…`. */
export function shortDigest(sha256: string): string {
  return `sha256:${sha256.slice(0, 12)}…`;
}
