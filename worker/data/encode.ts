/**
 * From text cells to numbers: which kind a column is, how a target column becomes y for a task,
 * which task a target implies, and how `foldwise predict`'s rows are encoded (`encodeRows`),
 * exactly as the training data was by its fitted pipeline (pipeline.ts).
 */
import type { TaskKind } from '../contract/vocabulary.js';
import { compareText, isMissingMarker, parseAllNumbers, parseNumber, quote, summariseValues } from './cells.js';
import { columnEncoders, writeCell } from './pipeline.js';
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

/** Categories a model never saw in one column of the rows it predicted (a column without "other"). */
export type UnseenCategories = {
  readonly column: string;
  /** Rows whose category was unseen: their one-hot block is all zero. */
  readonly count: number;
  /** The first few distinct unseen categories, in order of appearance. */
  readonly examples: readonly string[];
};

/** How many unseen categories `encodeRows` quotes per column. */
const UNSEEN_EXAMPLES = 5;

/**
 * Encodes rows (for `foldwise predict` on a user's CSV) exactly as the training data was: the
 * fitted imputation, category levels and indicators of each column (pipeline.ts). Extra columns
 * are ignored; an unknown category goes to "other" when the column has it, else leaves its block
 * at zero and is reported in `unseen`.
 * @param rows keyed by column name; `rows[0]` is reported as row 2 (the header is row 1).
 * @param options.source names the input in error messages (e.g. the file path).
 * @returns `x` row-major rows.length × featureNames.length, not standardised.
 * @throws {DataError} on a missing column, a missing value in a column without imputation, or a
 *   non-numeric numeric cell.
 */
export function encodeRows(
  encoding: Encoding,
  rows: readonly Record<string, string>[],
  options: { readonly source?: string } = {},
): { readonly x: Float32Array; readonly unseen: readonly UnseenCategories[] } {
  const source = options.source ?? 'input';
  const encoders = columnEncoders(encoding.columns);
  const width = encoding.featureNames.length;
  const x = new Float32Array(rows.length * width);
  const unseen = new Map<string, { count: number; examples: string[] }>();
  rows.forEach((row, i) => {
    for (const encoder of encoders) {
      const { column } = encoder;
      // hasOwn: a column named "constructor" must not find Object.prototype's.
      const text = Object.hasOwn(row, column.name) ? row[column.name] : undefined;
      if (text === undefined) {
        throw new DataError(
          `${source}, row ${i + 2}: column ${quote(column.name)} is missing ` +
            `(the model needs ${encoding.columns.map((c) => quote(c.name)).join(', ')})`,
        );
      }
      const where = `${source}, row ${i + 2}, column ${quote(column.name)}`;
      const cell = text.trim();
      const outcome = writeCell(x, i * width, encoder, cellValue(cell, column, where));
      if (outcome === 'missing') throw new DataError(`${where}: missing value (empty cell); the model was trained without imputation`);
      if (outcome === 'unseen') {
        const entry = unseen.get(column.name) ?? { count: 0, examples: [] };
        entry.count++;
        if (entry.examples.length < UNSEEN_EXAMPLES && !entry.examples.includes(cell)) entry.examples.push(cell);
        unseen.set(column.name, entry);
      }
    }
  });
  return { x, unseen: [...unseen].map(([column, { count, examples }]) => ({ column, count, examples })) };
}

/** A cell as `writeCell` takes it: a number (NaN: missing) for a numeric column, the text ('' : missing) for a categorical one. */
function cellValue(cell: string, column: Column, where: string): number | string {
  if (column.kind === 'categorical') return cell;
  if (cell === '' || (column.impute !== undefined && isMissingMarker(cell))) return Number.NaN;
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
