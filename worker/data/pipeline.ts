/**
 * The feature pipeline of a CSV table: from raw columns (numbers with NaN for missing, category
 * codes) to the model's float features. Fitted on a split's training rows only (DESIGN.md): the
 * imputed value of each column (median, mean, most frequent or a constant), the category levels
 * (the `maxCategories − 1` most frequent and an "other" level when there are more) and which
 * columns get a missing indicator. The fitted `Column`s are saved with a model; `predict`
 * (encode.ts `encodeRows`) and the ONNX export apply them through the same `writeCell`.
 */
import { compareText } from './cells.js';
import { fitStandardizer, gatherStandardized, standardizeInPlace, type Standardizer } from './preprocess.js';
import type { Column, Encoding, RawColumn, RawFeatures, Table } from './table.js';

/** Feature-name suffix of the grouped level: `zip=(other)`. */
export const OTHER_LEVEL = '(other)';
/** Feature-name suffix of a missing indicator: `age=(missing)`. */
export const MISSING_INDICATOR = '(missing)';

/**
 * Fits every column on `rows` of the raw features.
 * @param rows the training rows of a split (any order; statistics do not depend on it).
 */
export function fitColumns(raw: RawFeatures, rows: Int32Array): Column[] {
  return raw.columns.map((column) => (column.kind === 'numeric' ? fitNumeric(column, rows, raw) : fitCategorical(column, rows, raw)));
}

function fitNumeric(column: Extract<RawColumn, { kind: 'numeric' }>, rows: Int32Array, raw: RawFeatures): Column {
  const observed: number[] = [];
  for (const row of rows) {
    const value = column.values[row]!;
    if (!Number.isNaN(value)) observed.push(value);
  }
  if (column.impute === null) return { name: column.name, kind: 'numeric' };
  const { strategy, fill } = column.impute;
  const value = strategy === 'constant' || observed.length === 0 ? fill : strategy === 'mean' ? mean(observed) : median(observed);
  return {
    name: column.name,
    kind: 'numeric',
    impute: { strategy, value },
    ...(raw.indicator && observed.length < rows.length ? { indicator: true } : {}),
  };
}

function fitCategorical(column: Extract<RawColumn, { kind: 'categorical' }>, rows: Int32Array, raw: RawFeatures): Column {
  const counts = new Float64Array(column.levels.length);
  let missing = 0;
  for (const row of rows) {
    const code = column.codes[row]!;
    if (code < 0) missing++;
    else counts[code]!++;
  }
  const tally = new Map<string, number>();
  counts.forEach((count, code) => {
    if (count > 0) tally.set(column.levels[code]!, count);
  });
  let impute: Extract<Column, { kind: 'categorical' }>['impute'];
  if (column.impute !== null) {
    const { strategy, fill } = column.impute;
    // Levels are in text order, so the first maximum is the tie-break.
    const mostFrequent = counts.reduce((best, count, code) => (count > (best < 0 ? 0 : counts[best]!) ? code : best), -1);
    const value = strategy === 'constant' || mostFrequent < 0 ? fill : column.levels[mostFrequent]!;
    impute = { strategy, value };
    if (missing > 0) tally.set(value, (tally.get(value) ?? 0) + missing);
  }
  const byFrequency = [...tally].sort(([a, na], [b, nb]) => nb - na || compareText(a, b)).map(([category]) => category);
  const grouped = byFrequency.length > raw.maxCategories ? byFrequency.length - (raw.maxCategories - 1) : 0;
  const categories = byFrequency.slice(0, byFrequency.length - grouped).sort(compareText);
  return {
    name: column.name,
    kind: 'categorical',
    categories,
    ...(grouped > 0 ? { other: { grouped } } : {}),
    ...(impute === undefined ? {} : { impute }),
    ...(raw.indicator && impute !== undefined && missing > 0 ? { indicator: true } : {}),
  };
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}

function median(values: readonly number[]): number {
  const sorted = Float64Array.from(values).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// ───────────────────────────── encoding ─────────────────────────────

/** Features of one column: its value or one-hot block (with "other"), then its indicator. */
export function columnWidth(column: Column): number {
  const block = column.kind === 'numeric' ? 1 : column.categories.length + (column.other === undefined ? 0 : 1);
  return block + (column.indicator === true ? 1 : 0);
}

export function featureNamesOf(columns: readonly Column[]): string[] {
  return columns.flatMap((column) => [
    ...(column.kind === 'numeric'
      ? [column.name]
      : [...column.categories, ...(column.other === undefined ? [] : [OTHER_LEVEL])].map((level) => `${column.name}=${level}`)),
    ...(column.indicator === true ? [`${column.name}=${MISSING_INDICATOR}`] : []),
  ]);
}

/**
 * What became of a cell: written; `unseen` (a category the training part never saw, in a column
 * without "other": its block stays zero); `missing` (a missing value in a column without
 * imputation: nothing written, the caller reports it).
 */
export type CellOutcome = 'written' | 'unseen' | 'missing';

/** Fitted columns with their category indices, built once per encoding. */
export type ColumnEncoders = readonly { readonly column: Column; readonly offset: number; readonly index: Map<string, number> | null }[];

export function columnEncoders(columns: readonly Column[]): ColumnEncoders {
  let offset = 0;
  return columns.map((column) => {
    const encoder = {
      column,
      offset,
      index: column.kind === 'categorical' ? new Map(column.categories.map((category, k) => [category, k])) : null,
    };
    offset += columnWidth(column);
    return encoder;
  });
}

/**
 * Writes one cell into a zeroed row: `cell` is a number (NaN: missing) for a numeric column, the
 * category ('' : missing) for a categorical one. Missing values take the imputed value (and set
 * the indicator); unknown categories go to "other" when the column has it.
 */
export function writeCell(row: Float32Array, base: number, encoder: ColumnEncoders[number], cell: number | string): CellOutcome {
  const { column, offset } = encoder;
  const at = base + offset;
  const missing = typeof cell === 'number' ? Number.isNaN(cell) : cell === '';
  if (missing && column.impute === undefined) return 'missing';
  if (missing && column.indicator === true) row[at + columnWidth(column) - 1] = 1;
  if (column.kind === 'numeric') {
    row[at] = missing ? column.impute!.value : (cell as number);
    return 'written';
  }
  const category = missing ? column.impute!.value : (cell as string);
  const k = encoder.index!.get(category) ?? (column.other === undefined ? -1 : column.categories.length);
  if (k < 0) return 'unseen';
  row[at + k] = 1;
  return 'written';
}

/** `rows` of a raw table, encoded: row-major rows.length × width, NOT standardised. */
export function encodeRawRows(raw: RawFeatures, columns: readonly Column[], rows: Int32Array): Float32Array {
  const encoders = columnEncoders(columns);
  const width = columns.reduce((sum, column) => sum + columnWidth(column), 0);
  const x = new Float32Array(rows.length * width);
  raw.columns.forEach((source, c) => {
    const encoder = encoders[c]!;
    if (encoder.column.name !== source.name)
      throw new Error(`fitted column ${encoder.column.name} does not match raw column ${source.name}`);
    rows.forEach((row, i) => {
      const cell = source.kind === 'numeric' ? source.values[row]! : (source.levels[source.codes[row]!] ?? '');
      // Training data has no unfilled missing value (the loader refuses them); unseen categories stay zero.
      writeCell(x, i * width, encoder, cell);
    });
  });
  return x;
}

// ───────────────────────────── per split ─────────────────────────────

/** Everything fitted on a split's training rows: the encoding (saved with a model) and the standardiser. */
export type FittedFeatures = { readonly encoding: Encoding; readonly standardizer: Standardizer };

/**
 * Fits the features on a split's training rows: on a CSV table the pipeline (imputation,
 * categories, indicators) and then the standardiser on its output; on a table without raw
 * columns (generated data) the standardiser on `x`.
 */
export function fitFeatures(table: Table, trainRows: Int32Array): FittedFeatures {
  if (table.raw === undefined) return { encoding: table.encoding, standardizer: fitStandardizer(table.x, table.nFeatures, trainRows) };
  const columns = fitColumns(table.raw, trainRows);
  const featureNames = featureNamesOf(columns);
  const encoded = encodeRawRows(table.raw, columns, trainRows);
  const standardizer = fitStandardizer(
    encoded,
    featureNames.length,
    Int32Array.from(trainRows, (_, i) => i),
  );
  return { encoding: { ...table.encoding, columns, featureNames }, standardizer };
}

/** `rows` of the table as the model takes them: encoded with `fitted` and standardised, row-major. */
export function featureRows(table: Table, fitted: FittedFeatures, rows: Int32Array): Float32Array {
  const width = fitted.encoding.featureNames.length;
  if (table.raw === undefined) return gatherStandardized(table.x, width, rows, fitted.standardizer);
  return standardizeInPlace(encodeRawRows(table.raw, fitted.encoding.columns, rows), width, fitted.standardizer);
}
