/**
 * From text cells to numbers: which kind a column is, how feature columns become the encoded
 * row (one-hot for categories), how a target column becomes y for a task, and which task a
 * target implies. The CSV loader encodes a whole file with it; `foldwise predict` encodes new
 * rows with `encodeRows`, exactly as the training data was.
 */
import type { TaskKind } from '../contract/vocabulary.js';
import { compareText, parseAllNumbers, parseNumber, quote, summariseValues } from './cells.js';
import { type Column, DataError, type Encoding } from './table.js';

/** Numeric integer targets with more distinct values than this are inferred as regression. */
const MAX_INFERRED_CLASSES = 20;
/**
 * A column is numeric (with bad cells) when more than this share of its filled cells are
 * numbers. A majority, not "nearly all": exports often mark missing values with "NA" or "?",
 * and such a column must be reported, not silently one-hot encoded as hundreds of categories.
 */
const NUMERIC_COLUMN_SHARE = 0.5;

// ───────────────────────────── features ─────────────────────────────

export type ColumnProfile = {
  readonly kind: 'numeric' | 'categorical';
  readonly filled: number;
  readonly numbers: number;
  /** Each cell parsed once: the number, or NaN where the cell is not one. */
  readonly values: Float64Array;
};

/**
 * Numeric when most non-empty cells are numbers: a column of numbers with a few words ("n/a",
 * "?", "1,5") is a numeric column with bad cells, not a categorical one.
 */
export function profileColumn(cells: readonly string[]): ColumnProfile {
  let filled = 0;
  let numbers = 0;
  const values = Float64Array.from(cells, (cell) => {
    if (cell !== '') filled++;
    const value = parseNumber(cell);
    if (value === null) return Number.NaN;
    numbers++;
    return value;
  });
  return { kind: numbers > NUMERIC_COLUMN_SHARE * filled ? 'numeric' : 'categorical', filled, numbers, values };
}

/** Where each column's encoded features start in a row, and the index of each category. */
export type EncodingPlan = {
  readonly width: number;
  readonly offsets: readonly number[];
  readonly categoryIndex: readonly (ReadonlyMap<string, number> | null)[];
  readonly columns: readonly Column[];
};

export function planEncoding(columns: readonly Column[]): EncodingPlan {
  const offsets: number[] = [];
  let width = 0;
  for (const column of columns) {
    offsets.push(width);
    width += column.kind === 'numeric' ? 1 : column.categories.length;
  }
  const categoryIndex = columns.map((column) =>
    column.kind === 'categorical' ? new Map(column.categories.map((category, k) => [category, k])) : null,
  );
  return { width, offsets, categoryIndex, columns };
}

/** Writes one row; `cellValue` gives column c's number (numeric) or category (categorical). */
export function encodeRowInto(
  x: Float32Array,
  row: number,
  plan: EncodingPlan,
  cellValue: (column: Column, c: number) => number | string,
): void {
  const base = row * plan.width;
  plan.columns.forEach((column, c) => {
    const value = cellValue(column, c);
    const offset = base + plan.offsets[c]!;
    if (typeof value === 'number') {
      x[offset] = value;
    } else {
      const k = plan.categoryIndex[c]?.get(value);
      if (k !== undefined) x[offset + k] = 1; // unknown category: leave the block at zero
    }
  });
}

export function featureNamesOf(columns: readonly Column[]): string[] {
  return columns.flatMap((column) =>
    column.kind === 'numeric' ? [column.name] : column.categories.map((category) => `${column.name}=${category}`),
  );
}

/**
 * Encodes rows (for `foldwise predict` on a user's CSV) exactly as the training data was.
 * Extra columns are ignored; an unknown category becomes all zeros (no column is "on").
 * @param rows keyed by column name; `rows[0]` is reported as row 2 (the header is row 1).
 * @param options.source names the input in error messages (e.g. the file path).
 * @returns row-major rows.length × featureNames.length, not standardised.
 * @throws {DataError} on a missing column, an empty cell, or a non-numeric numeric cell.
 */
export function encodeRows(
  encoding: Encoding,
  rows: readonly Record<string, string>[],
  options: { readonly source?: string } = {},
): Float32Array {
  const source = options.source ?? 'input';
  const plan = planEncoding(encoding.columns);
  const x = new Float32Array(rows.length * plan.width);
  rows.forEach((row, i) => {
    encodeRowInto(x, i, plan, (column) => {
      // hasOwn: a column named "constructor" must not find Object.prototype's.
      const cell = Object.hasOwn(row, column.name) ? row[column.name] : undefined;
      if (cell === undefined) {
        throw new DataError(
          `${source}, row ${i + 2}: column ${quote(column.name)} is missing ` +
            `(the model needs ${encoding.columns.map((c) => quote(c.name)).join(', ')})`,
        );
      }
      return checkedCell(cell.trim(), column, `${source}, row ${i + 2}, column ${quote(column.name)}`);
    });
  });
  return x;
}

/** A cell's value as a number for a numeric column, or the category for a categorical one. */
function checkedCell(cell: string, column: Column, where: string): number | string {
  if (cell === '') throw new DataError(`${where}: missing value (empty cell)`);
  if (column.kind === 'categorical') return cell;
  const value = parseNumber(cell);
  if (value === null) throw new DataError(`${where}: non-numeric value ${quote(cell)} in a numeric column`);
  return value;
}

// ───────────────────────────── targets ─────────────────────────────

/**
 * The task a target column implies. Text labels (including `true`/`false`): binary when two
 * distinct values, else multiclass. Numbers: integers with at most 2 distinct values are
 * binary, integers with 3–20 distinct values multiclass, anything else regression.
 */
export function inferTask(labels: readonly string[]): TaskKind {
  const distinct = new Set(labels.map((label) => label.trim()));
  const numbers = parseAllNumbers([...distinct]);
  if (numbers === null) return distinct.size === 2 ? 'binary' : 'multiclass';
  if (!numbers.every(Number.isInteger)) return 'regression';
  const classCount = new Set(numbers).size; // "1" and "1.0" are one class
  if (classCount <= 2) return 'binary';
  return classCount <= MAX_INFERRED_CLASSES ? 'multiclass' : 'regression';
}

export type EncodedTarget = { readonly task: TaskKind; readonly y: Float32Array; readonly classes: readonly string[] | null };

/**
 * Turns raw target cells into y for the requested (or inferred) task.
 * @param what names the target in messages, e.g. `data.csv: the target column "label"`.
 * @param rowLabel names a data row (0-based) in messages, e.g. "row 7".
 */
export function encodeTarget(
  labels: readonly string[],
  requested: TaskKind | undefined,
  what: string,
  rowLabel: (row: number) => string,
): EncodedTarget {
  const task = requested ?? inferTask(labels);
  const numbers = parseAllNumbers(labels);
  if (task === 'regression') {
    if (numbers === null) {
      const row = labels.findIndex((label) => parseNumber(label) === null);
      throw new DataError(
        `${what} holds text (${quote(labels[row]!)} in ${rowLabel(row)}); ` +
          'a regression task needs numbers (is the task binary or multiclass?)',
      );
    }
    if (new Set(numbers).size < 2)
      throw new DataError(`${what} has the same value (${quote(labels[0] ?? '')}) in every row; there is nothing to learn`);
    return { task, y: Float32Array.from(numbers), classes: null };
  }
  if (numbers !== null) {
    const row = numbers.findIndex((value) => !Number.isInteger(value));
    if (row >= 0)
      throw new DataError(
        `${what} holds fractional numbers (${quote(labels[row]!)} in ${rowLabel(row)}); ` +
          `a ${task} task needs class labels (is the task regression?)`,
      );
  }

  // Classes as strings; numeric labels are normalised ("1.0" is "1") and sorted numerically.
  const keys = numbers === null ? [...labels] : numbers.map(String);
  const distinct = [...new Set(keys)];
  const classes = numbers === null ? distinct.sort(compareText) : distinct.sort((a, b) => Number(a) - Number(b));
  if (classes.length < 2) throw new DataError(`${what} has a single class (${quote(classes[0] ?? '')}); classification needs at least two`);
  if (task === 'binary' && classes.length !== 2) {
    throw new DataError(
      `${what} has ${classes.length} classes (${summariseValues(classes)}); ` +
        `a binary task needs exactly 2 (use multiclass${numbers === null ? '' : ' or regression'})`,
    );
  }
  const indexOf = new Map(classes.map((label, k) => [label, k]));
  return { task, y: Float32Array.from(keys, (key) => indexOf.get(key)!), classes };
}
