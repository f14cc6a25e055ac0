import { createHash, randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { ValidationError } from '../errors.js';

/** Uploads larger than this are refused with 413 (README, Dashboard). */
export const MAX_UPLOAD_MB = 50;
export const MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 ** 2;
const MAX_NAME_LENGTH = 200;
/** The header is read from this much of the file: a header row longer than 1 MB is not a table foldwise trains on. */
const HEADER_BYTES = 1024 * 1024;
const STORED_NAME = /^([0-9a-f]{64})\.csv$/;

/** A CSV stored in the data directory's uploads folder, as the New experiment page lists it. */
export type Upload = {
  /** SHA-256 of the bytes, hex: the stored file is `<sha256>.csv`. */
  readonly sha256: string;
  /** The name it was first uploaded under (for people; the stored name is the hash). */
  readonly fileName: string;
  readonly bytes: number;
  readonly uploadedAt: number;
  /** The absolute path to write as the spec's `dataset.path`. */
  readonly path: string;
  /** The header row's column names, to pick the target from. */
  readonly columns: readonly string[];
};

/** What the uploads folder keeps beside each CSV (`<sha256>.json`). */
type Sidecar = { readonly fileName: string; readonly uploadedAt: number; readonly columns: readonly string[] };

function invalid(path: string, message: string): ValidationError {
  return new ValidationError(`${path}: ${message}`, [{ path, message }]);
}

/**
 * The name a file was uploaded under: kept for display only (the stored file is named by its
 * hash), so it need only be a plain, printable file name.
 * @throws {ValidationError} at `name`.
 */
export function checkUploadName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '') throw invalid('name', 'expected the file name, such as customers.csv');
  if (trimmed.length > MAX_NAME_LENGTH) throw invalid('name', `expected at most ${MAX_NAME_LENGTH} characters, got ${trimmed.length}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses.
  if (/[\u0000-\u001f\u007f/\\]/.test(trimmed)) throw invalid('name', 'expected a file name without folders or control characters');
  return trimmed;
}

/**
 * The header row of a CSV upload, checked as far as the page needs: UTF-8 text (not a
 * spreadsheet or an archive), a header with at least two columns (a target and a feature) and a
 * data row after it. Everything else (cell types, a missing target) is the worker's to report
 * when an experiment starts, with row and column.
 * @throws {ValidationError} at `body`.
 */
function csvHeader(body: Buffer): string[] {
  if (body.length === 0) throw invalid('body', 'the file is empty; send the CSV file itself as the request body');
  if (body.includes(0) || !isUtf8(body)) {
    throw invalid('body', 'expected a CSV file in UTF-8 text; this looks binary (a spreadsheet or an archive?): save it as CSV first');
  }
  let records: string[][];
  try {
    records = parseCsv(body.subarray(0, HEADER_BYTES), {
      bom: true,
      trim: true,
      to_line: 2,
      relax_column_count: true,
      skip_empty_lines: true,
    });
  } catch (error) {
    throw invalid('body', `the first rows are not CSV: ${(error as Error).message.split('\n')[0]}`);
  }
  const header = records[0] ?? [];
  if (header.length < 2) {
    throw invalid('body', `the header row has ${header.length} column${header.length === 1 ? '' : 's'}; expected comma-separated names`);
  }
  if (records.length < 2) throw invalid('body', 'the file has a header row but no data rows');
  return header;
}

/**
 * CSV files uploaded from the dashboard, stored in `<data directory>/uploads` under their
 * SHA-256 (`<hash>.csv`, with a `<hash>.json` beside it naming the original file): the same
 * bytes uploaded twice are stored once, and a spec that names the path always means the same
 * data. Files are written to a temporary name and renamed, so a half-written upload is never
 * listed or read. The folder lies inside the data directory, which the dashboard may read.
 */
export class Uploads {
  readonly dir: string;

  /** @param dir the uploads folder (DataPaths.uploadsDir). */
  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Stores `body` (a CSV file) unless the same bytes are stored already.
   * @throws {ValidationError} for an empty, binary or header-less file, or a bad `name`.
   */
  save(body: Buffer, name: string, now = Date.now()): { readonly upload: Upload; readonly reused: boolean } {
    const fileName = checkUploadName(name);
    const columns = csvHeader(body);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const existing = this.#read(sha256);
    if (existing !== null && existing.bytes === body.length) return { upload: existing, reused: true };
    mkdirSync(this.dir, { recursive: true });
    this.#writeAtomically(`${sha256}.csv`, body);
    this.#writeAtomically(`${sha256}.json`, JSON.stringify({ fileName, uploadedAt: now, columns } satisfies Sidecar));
    return { upload: this.#read(sha256)!, reused: false };
  }

  /** Every stored upload, newest first. */
  list(): Upload[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .map((name) => STORED_NAME.exec(name)?.[1])
      .filter((sha256) => sha256 !== undefined)
      .map((sha256) => this.#read(sha256))
      .filter((upload) => upload !== null)
      .sort((a, b) => b.uploadedAt - a.uploadedAt || a.fileName.localeCompare(b.fileName));
  }

  #writeAtomically(name: string, data: Buffer | string): void {
    const temporary = join(this.dir, `.${name}.${randomUUID()}.tmp`);
    try {
      writeFileSync(temporary, data, { flag: 'wx' });
      renameSync(temporary, join(this.dir, name));
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  /** A stored upload, or null when there is none (its sidecar may be missing: the file still counts). */
  #read(sha256: string): Upload | null {
    const path = join(this.dir, `${sha256}.csv`);
    let stat: ReturnType<typeof statSync>;
    try {
      stat = statSync(path);
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    let sidecar: Partial<Sidecar> = {};
    try {
      sidecar = JSON.parse(readFileSync(join(this.dir, `${sha256}.json`), 'utf8')) as Partial<Sidecar>;
    } catch {
      // Listed under its hash, dated by the file.
    }
    return {
      sha256,
      fileName: typeof sidecar.fileName === 'string' ? sidecar.fileName : `${sha256}.csv`,
      bytes: stat.size,
      uploadedAt: typeof sidecar.uploadedAt === 'number' ? sidecar.uploadedAt : stat.mtimeMs,
      path,
      columns: Array.isArray(sidecar.columns) ? sidecar.columns.filter((c) => typeof c === 'string') : [],
    };
  }
}
