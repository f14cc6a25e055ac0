/**
 * Reading the MovieLens files: lines and CSV rows with their line numbers, cells checked with a
 * message naming the file, the line and the column. Shared by the layouts' loaders.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { NUMBER_PATTERN, quote } from '../data/cells.js';
import { DataError, type SideTable } from '../data/table.js';

export type Line = { readonly line: number; readonly text: string };

/** Non-blank lines with their 1-based line numbers. */
export async function readLines(path: string, encoding: BufferEncoding): Promise<Line[]> {
  const text = await readText(path, encoding);
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((content, k) => {
    if (content.trim() !== '') lines.push({ line: k + 1, text: content });
  });
  if (lines.length === 0) throw new DataError(`${path}: the file is empty`);
  return lines;
}

/** A CSV file's header and data rows, each with its line number (the header is line 1). */
export async function readCsv(path: string): Promise<{ header: string[]; rows: { line: number; cells: string[] }[] }> {
  const text = await readText(path, 'utf8');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      info: true,
    }) as unknown as typeof records;
  } catch (error) {
    throw new DataError(`${path}: malformed CSV: ${error instanceof Error ? error.message : String(error)}`);
  }
  const [header, ...data] = records;
  if (header === undefined) throw new DataError(`${path}: the file is empty (a header row and data rows are needed)`);
  if (data.length === 0) throw new DataError(`${path}: there is a header row but no data rows`);
  // csv-parse counts the line a record ends on; MovieLens rows are one line each.
  return { header: header.record, rows: data.map(({ record, info }) => ({ line: info.lines, cells: record })) };
}

async function readText(path: string, encoding: BufferEncoding): Promise<string> {
  try {
    return await readFile(path, encoding);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export function parseNumberCell(cell: string, where: string): number {
  if (cell === '') throw new DataError(`${where}: missing value (empty cell)`);
  if (!NUMBER_PATTERN.test(cell)) throw new DataError(`${where}: non-numeric value ${quote(cell)}`);
  return Number(cell);
}

export function parseRating(cell: string, where: string): number {
  return parseNumberCell(cell, where);
}

export function indexById(ids: readonly string[]): Map<string, number> {
  return new Map(ids.map((id, k) => [id, k]));
}

/** Records an id's line; a second occurrence is an error naming both lines. */
export function addId(seen: Map<string, number>, id: string, where: string, line: number): void {
  const first = seen.get(id);
  if (first !== undefined) throw new DataError(`${where}: id ${quote(id)} appears twice (first on line ${first})`);
  seen.set(id, line);
}

/** A movie's genres written `A|B|C` (ml-latest-small, ml-1m); `(no genres listed)` or nothing is none. */
export function parseGenreList(list: string): string[] {
  if (list === '' || list === '(no genres listed)') return [];
  return list
    .split('|')
    .map((genre) => genre.trim())
    .filter((genre) => genre !== '');
}

/** The year in a title's trailing "(1995)"; NaN (missing) when it has none. */
export function yearOfTitle(title: string): number {
  const match = /\((\d{4})\)\s*$/.exec(title);
  return match ? Number(match[1]) : Number.NaN;
}

/** The movies as every layout describes them: their genres and their year. */
export function movieTable(ids: readonly string[], genres: readonly (readonly string[])[], year: readonly number[]): SideTable {
  return {
    ids,
    columns: [
      { name: 'genres', kind: 'multi', values: genres },
      { name: 'year', kind: 'numeric', values: Float64Array.from(year) },
    ],
  };
}
