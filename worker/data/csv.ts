/**
 * CSV files with a header row: read and checked (the file exists, is UTF-8 text, has data rows, no ragged row,
 * no bad cell), the spec's column roles and imputation applied, then made a `Table`. Each problem is reported as a `DataError` naming
 * the file, the row (the header is row 1, plus the file line when the two differ) and the column.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { DEFAULT_MAX_CATEGORIES, type DatasetSpec, imputeMismatch } from '../contract/spec.js';
import type { TaskKind } from '../contract/vocabulary.js';
import { compareText, isMissingMarker, quote } from './cells.js';
import { type ColumnProfile, encodeTarget, profileColumn } from './encode.js';
import { encodeRawRows, featureNamesOf, fitColumns } from './pipeline.js';
import { DataError, type RawColumn, type RawFeatures, type Table } from './table.js';
import { decodeUtf8 } from './text-encoding.js';

type CsvDataset = Extract<DatasetSpec, { kind: 'csv' }>;

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
 * The table of a CSV file. Every column but the target, the id column and the dropped ones is a
 * feature: numeric or (one-hot) categorical as `columns` says, else as its cells say; its missing
 * cells are allowed only where `impute` fills them. The target becomes y for the requested (or
 * inferred) task. The table keeps the raw columns (`raw`) for the per-split pipeline.
 * @throws {DataError} on any unusable file, header, row or cell, and on roles or strategies that
 *   do not fit the file (naming the spec field).
 */
export async function loadCsv(dataset: CsvDataset, requested: TaskKind | undefined): Promise<Table> {
  const { path, target } = dataset;
  const csv = await readCsvFile(path);
  const targetIndex = csv.header.indexOf(target);
  if (targetIndex < 0) {
    throw new DataError(`${path}: no target column ${quote(target)}; the columns are ${csv.header.map(quote).join(', ')}`);
  }
  const roles = columnRoles(dataset, csv);
  const featureIndices = csv.header.map((_, c) => c).filter((c) => c !== targetIndex && !roles.set.has(csv.header[c]!));
  if (featureIndices.length === 0) {
    const aside = roles.set.size > 0 ? ', id and dropped columns' : '';
    throw new DataError(`${path}: there are no feature columns besides the target${aside} (${csv.header.map(quote).join(', ')})`);
  }

  const cellsOf = (c: number): string[] => csv.rows.map((row) => row[c]!);
  const checked = [targetIndex, ...featureIndices].sort((a, b) => a - b);
  const plans = new Map(checked.map((c) => [c, planColumn(dataset, roles, csv.header[c]!, profileColumn(cellsOf(c)), c === targetIndex)]));
  reportFirstBadCell(csv, plans);

  const raw: RawFeatures = {
    columns: featureIndices.map((c) => rawColumn(csv.header[c]!, plans.get(c)!, cellsOf(c))),
    indicator: dataset.impute?.indicator ?? false,
    maxCategories: dataset.maxCategories ?? DEFAULT_MAX_CATEGORIES,
  };
  const labels = cellsOf(targetIndex);
  const { task, y, classes } = encodeTarget(labels, requested, `${path}: the target column ${quote(target)}`, csv.rowLabel);

  // The plain view: the pipeline fitted on all rows (training fits it per split from `raw`).
  const all = Int32Array.from({ length: csv.rows.length }, (_, r) => r);
  const columns = fitColumns(raw, all);
  const featureNames = featureNamesOf(columns);
  return {
    nRows: csv.rows.length,
    nFeatures: featureNames.length,
    x: encodeRawRows(raw, columns, all),
    y,
    task,
    encoding: { columns, featureNames, target, classes, ...(dataset.columns?.id === undefined ? {} : { id: dataset.columns.id }) },
    raw,
  };
}

// ───────────────────────────── roles ─────────────────────────────

type Roles = {
  /** Columns that are not features: the id and the dropped ones. */
  readonly set: ReadonlySet<string>;
  readonly categorical: ReadonlySet<string>;
  readonly numeric: ReadonlySet<string>;
};

/**
 * The roles of `dataset.columns`, every name checked against the header. (Duplicates, two roles
 * for one column and a role for the target are spec errors, reported before the file is read.)
 */
function columnRoles(dataset: CsvDataset, csv: CsvFile): Roles {
  const { drop = [], id, categorical = [], numeric = [] } = dataset.columns ?? {};
  const known = new Set(csv.header);
  const check = (field: string, names: readonly string[]): void => {
    names.forEach((name, i) => {
      if (!known.has(name)) {
        const at = field.endsWith('.id') ? field : `${field}[${i}]`;
        throw new DataError(`${at}: no column ${quote(name)} in ${csv.path}; the columns are ${csv.header.map(quote).join(', ')}`);
      }
    });
  };
  check('dataset.columns.drop', drop);
  check('dataset.columns.id', id === undefined ? [] : [id]);
  check('dataset.columns.categorical', categorical);
  check('dataset.columns.numeric', numeric);
  const imputed = Object.keys(dataset.impute?.columns ?? {});
  imputed.forEach((name) => {
    if (!known.has(name))
      throw new DataError(
        `dataset.impute.columns.${name}: no column ${quote(name)} in ${csv.path}; the columns are ${csv.header.map(quote).join(', ')}`,
      );
  });
  return { set: new Set([...drop, ...(id === undefined ? [] : [id])]), categorical: new Set(categorical), numeric: new Set(numeric) };
}

/** A checked column's kind (its role, else what its cells say) and how its missing cells are filled. */
type ColumnPlan = {
  readonly kind: 'numeric' | 'categorical';
  readonly profile: ColumnProfile;
  /** Where the kind comes from: `dataset.columns`, the cells of a feature, or the cells of the target. */
  readonly source: 'role' | 'cells' | 'target';
  readonly impute: RawColumn['impute'];
};

/**
 * @throws {DataError} when a per-column strategy of `dataset.impute.columns` does not fit the
 *   column's inferred kind.
 */
function planColumn(dataset: CsvDataset, roles: Roles, name: string, profile: ColumnProfile, isTarget: boolean): ColumnPlan {
  const role = roles.categorical.has(name) ? 'categorical' : roles.numeric.has(name) ? 'numeric' : null;
  const kind = role ?? profile.kind;
  if (isTarget) return { kind: profile.kind, profile, source: 'target', impute: null };
  const impute = dataset.impute;
  const own = impute?.columns?.[name];
  if (own !== undefined) {
    const mismatch = imputeMismatch(own, kind);
    if (mismatch !== null) throw new DataError(`dataset.impute.columns.${name}: ${mismatch}; ${quote(name)} is ${kind} in ${dataset.path}`);
  }
  const strategy = own ?? impute?.[kind];
  const fill = kind === 'numeric' ? (impute?.fill?.numeric ?? 0) : (impute?.fill?.categorical ?? 'missing');
  return {
    kind,
    profile,
    source: role === null ? 'cells' : 'role',
    impute: strategy === undefined ? null : ({ strategy, fill } as RawColumn['impute']),
  };
}

/** A feature column as the pipeline takes it (every cell already checked). */
function rawColumn(name: string, plan: ColumnPlan, cells: readonly string[]): RawColumn {
  if (plan.kind === 'numeric') {
    const impute = plan.impute as Extract<RawColumn, { kind: 'numeric' }>['impute'];
    return { name, kind: 'numeric', values: Float32Array.from(plan.profile.values), impute };
  }
  const levels = [...new Set(cells.filter((cell) => cell !== ''))].sort(compareText);
  const codeOf = new Map(levels.map((level, k) => [level, k]));
  const impute = plan.impute as Extract<RawColumn, { kind: 'categorical' }>['impute'];
  return { name, kind: 'categorical', codes: Int32Array.from(cells, (cell) => codeOf.get(cell) ?? -1), levels, impute };
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
  let bytes: Buffer;
  try {
    if ((await stat(path)).isDirectory()) throw new DataError(`not a file but a directory: ${path}`);
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof DataError) throw error;
    if (isErrnoException(error) && error.code === 'ENOENT') throw new DataError(`file not found: ${path}`);
    throw new DataError(`cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const text = decodeUtf8(path, bytes);
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

const IMPUTE_HINT = 'fill it in, drop the row, or set dataset.impute';

function cellProblem(cell: string, value: number, plan: ColumnPlan): string | null {
  const imputed = plan.impute !== null;
  if (cell === '') return imputed ? null : `missing value (empty cell); ${IMPUTE_HINT}`;
  if (plan.kind === 'categorical' || !Number.isNaN(value)) return null;
  if (isMissingMarker(cell)) return imputed ? null : `missing value (${quote(cell)}); ${IMPUTE_HINT}`;
  const { numbers, filled } = plan.profile;
  if (plan.source === 'role') return `non-numeric value ${quote(cell)} in a column that dataset.columns.numeric makes numeric`;
  const hint = plan.source === 'target' ? 'make its values non-numeric' : 'list it in dataset.columns.categorical';
  return (
    `non-numeric value ${quote(cell)} in a numeric column (${numbers} of ${filled} cells are numbers; ` +
    `if the column is categorical, ${hint})`
  );
}

/** Reports the first bad cell of the target and feature columns (empty, or a non-number in a numeric column), in reading order. */
function reportFirstBadCell(csv: CsvFile, plans: ReadonlyMap<number, ColumnPlan>): void {
  let first: { row: number; column: number; problem: string } | null = null;
  let count = 0;
  csv.rows.forEach((row, r) => {
    // Map order is column order: the first problem found is the first in reading order.
    for (const [c, plan] of plans) {
      const problem = cellProblem(row[c]!, plan.profile.values[r]!, plan);
      if (problem === null) continue;
      count++;
      first ??= { row: r, column: c, problem };
    }
  });
  if (first === null) return;
  const { row, column, problem } = first;
  const more = count > 1 ? ` (and ${count - 1} more bad cell${count > 2 ? 's' : ''})` : '';
  throw new DataError(`${csv.path}, ${csv.rowLabel(row)}, column ${quote(csv.header[column]!)}: ${problem}${more}`);
}
