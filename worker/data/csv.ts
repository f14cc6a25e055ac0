/**
 * CSV files with a header row: read and checked (the file exists, has data rows, no ragged row,
 * no bad cell), then encoded into a `Table`. Each problem is reported as a `DataError` naming
 * the file, the row (the header is row 1, plus the file line when the two differ) and the column.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import type { TaskKind } from '../contract/vocabulary.js';
import { compareText, quote, summariseValues } from './cells.js';
import { type ColumnProfile, encodeRowInto, encodeTarget, featureNamesOf, planEncoding, profileColumn } from './encode.js';
import { type Column, DataError, type Table } from './table.js';

/** One-hot columns beyond this would swamp a small MLP; such a column is usually an identifier. */
const MAX_CATEGORIES = 200;

/**
 * Reads a CSV file with a header row into records keyed by column name (cells trimmed), with
 * the same checks as `loadDataset`: the file exists, has data rows and no ragged row. For
 * `foldwise predict`, whose rows then go through `encodeRows`.
 * @throws {DataError}
 */
export async function readCsvRecords(
  path: string,
): Promise<{ readonly header: readonly string[]; readonly rows: readonly Record<string, string>[] }> {
  const csv = await readCsvFile(path);
  const rows = csv.rows.map((cells) => Object.fromEntries(csv.header.map((name, c) => [name, cells[c]!])));
  return { header: csv.header, rows };
}

/**
 * The table of a CSV file: every column but the target is a feature, numeric or (one-hot)
 * categorical as its cells say; the target becomes y for the requested (or inferred) task.
 * @throws {DataError} on any unusable file, header, row or cell.
 */
export async function loadCsv(path: string, target: string, requested: TaskKind | undefined): Promise<Table> {
  const csv = await readCsvFile(path);
  const targetIndex = csv.header.indexOf(target);
  if (targetIndex < 0) {
    throw new DataError(`${path}: no target column ${quote(target)}; the columns are ${csv.header.map(quote).join(', ')}`);
  }
  if (csv.header.length < 2) throw new DataError(`${path}: the only column is the target ${quote(target)}; there are no features`);

  const cellsOf = (c: number): string[] => csv.rows.map((row) => row[c]!);
  const profiles = csv.header.map((_, c) => profileColumn(cellsOf(c)));
  reportFirstBadCell(csv, profiles);

  const featureIndices = csv.header.map((_, c) => c).filter((c) => c !== targetIndex);
  const columns: Column[] = featureIndices.map((c) => {
    const name = csv.header[c]!;
    if (profiles[c]!.kind === 'numeric') return { name, kind: 'numeric' };
    const categories = [...new Set(cellsOf(c))].sort(compareText);
    if (categories.length > MAX_CATEGORIES) {
      throw new DataError(
        `${path}, column ${quote(name)}: ${categories.length} distinct text values (e.g. ${summariseValues(categories.slice(0, 3))}); ` +
          `more than ${MAX_CATEGORIES} categories is more likely an identifier than a feature — remove the column`,
      );
    }
    return { name, kind: 'categorical', categories };
  });

  const labels = cellsOf(targetIndex);
  const { task, y, classes } = encodeTarget(labels, requested, `${path}: the target column ${quote(target)}`, csv.rowLabel);

  // Every cell was validated above: numeric columns hold numbers, categories are known.
  const plan = planEncoding(columns);
  const x = new Float32Array(csv.rows.length * plan.width);
  csv.rows.forEach((row, r) => {
    encodeRowInto(x, r, plan, (column, c) => {
      const source = featureIndices[c]!;
      return column.kind === 'numeric' ? profiles[source]!.values[r]! : row[source]!;
    });
  });

  return {
    nRows: csv.rows.length,
    nFeatures: plan.width,
    x,
    y,
    task,
    encoding: { columns, featureNames: featureNamesOf(columns), target, classes },
  };
}

// ───────────────────────────── reading ─────────────────────────────

type CsvFile = {
  readonly path: string;
  readonly header: readonly string[];
  /** Data rows only, each exactly header.length cells, trimmed. */
  readonly rows: readonly (readonly string[])[];
  /** "row 5" (header = row 1), plus the line when blank lines or multi-line cells make them differ. */
  readonly rowLabel: (dataRow: number) => string;
};

async function readCsvFile(path: string): Promise<CsvFile> {
  let text: string;
  try {
    if ((await stat(path)).isDirectory()) throw new DataError(`not a file but a directory: ${path}`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof DataError) throw error;
    if (isErrnoException(error) && error.code === 'ENOENT') throw new DataError(`file not found: ${path}`);
    throw new DataError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (text.trim() === '') throw new DataError(`${path}: the file is empty (a header row and data rows are needed)`);

  let records: string[][];
  try {
    records = parseCsv(text, CSV_OPTIONS);
  } catch (error) {
    throw new DataError(`${path}: malformed CSV: ${error instanceof Error ? error.message : String(error)}`);
  }
  const recordLabel = lazyRecordLabels(text);

  const [header, ...rows] = records;
  if (header === undefined) throw new DataError(`${path}: the file is empty (a header row and data rows are needed)`);
  checkHeader(path, header);
  if (rows.length === 0) throw new DataError(`${path}: there is a header row but no data rows`);
  rows.forEach((row, i) => {
    if (row.length !== header.length) {
      throw new DataError(
        `${path}, ${recordLabel(i + 1)}: ${row.length} cell${row.length === 1 ? '' : 's'}, but the header has ${header.length} columns`,
      );
    }
  });
  return { path, header, rows, rowLabel: (dataRow) => recordLabel(dataRow + 1) };
}

/**
 * Rows with every cell empty (blank lines, ",,," from spreadsheets) are not data: skip them.
 * Ragged rows are parsed so that they can be reported with their row number.
 */
const CSV_OPTIONS = {
  bom: true,
  trim: true,
  skip_empty_lines: true,
  skip_records_with_empty_values: true,
  relax_column_count: true,
} as const;

/**
 * Names record i (0 = header) as "row i+1", adding the file line when skipped blank lines or
 * multi-line cells make the two differ. Line numbers need csv-parse's `info`, which doubles
 * parse time, so the text is parsed again only when an error is being reported.
 */
function lazyRecordLabels(text: string): (record: number) => string {
  let startLines: number[] | null = null;
  return (record) => {
    startLines ??= (parseCsv(text, { ...CSV_OPTIONS, info: true }) as unknown as { record: string[]; info: { lines: number } }[])
      // csv-parse reports the line where a record ends; count back over newlines inside cells.
      .map(({ record: cells, info }) => info.lines - cells.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0));
    const row = record + 1;
    const line = startLines[record];
    return line === undefined || line === row ? `row ${row}` : `row ${row} (line ${line})`;
  };
}

function checkHeader(path: string, header: readonly string[]): void {
  const seen = new Set<string>();
  header.forEach((name, c) => {
    if (name === '') throw new DataError(`${path}, row 1 (header), column ${c + 1}: the column has no name`);
    if (seen.has(name)) throw new DataError(`${path}, row 1 (header): the column name ${quote(name)} appears twice`);
    seen.add(name);
  });
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}

// ───────────────────────────── bad cells ─────────────────────────────

/** Spellings of "no value" in common exports; named as such in messages. */
const MISSING_MARKERS = /^(?:na|n\/a|nan|null|none|missing|\?|-|\.)$/i;

function cellProblem(cell: string, value: number, profile: ColumnProfile): string | null {
  if (cell === '') return 'missing value (empty cell)';
  if (profile.kind === 'categorical' || !Number.isNaN(value)) return null;
  if (MISSING_MARKERS.test(cell)) return `missing value (${quote(cell)}); fill it in or drop the row`;
  return (
    `non-numeric value ${quote(cell)} in a numeric column (${profile.numbers} of ${profile.filled} cells are numbers; ` +
    'if the column is categorical, make its values non-numeric)'
  );
}

/** Reports the first empty cell, or non-number in a numeric column, in reading order. */
function reportFirstBadCell(csv: CsvFile, profiles: readonly ColumnProfile[]): void {
  let first: { row: number; column: number; problem: string } | null = null;
  let count = 0;
  csv.rows.forEach((row, r) => {
    row.forEach((cell, c) => {
      const profile = profiles[c]!;
      const problem = cellProblem(cell, profile.values[r]!, profile);
      if (problem === null) return;
      count++;
      first ??= { row: r, column: c, problem };
    });
  });
  if (first === null) return;
  const { row, column, problem } = first;
  const more = count > 1 ? ` (and ${count - 1} more bad cell${count > 2 ? 's' : ''})` : '';
  throw new DataError(`${csv.path}, ${csv.rowLabel(row)}, column ${quote(csv.header[column]!)}: ${problem}${more}`);
}
