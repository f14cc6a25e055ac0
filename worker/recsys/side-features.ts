/**
 * Side features of users and items, and their encoders.
 *
 * A ratings dataset keeps each user's and each item's features raw (numbers, categories, sets
 * of labels such as genres), once per user or item. Before a task trains, an encoder is fitted
 * on the TRAINING rows only (DESIGN.md): the mean and standard deviation of each numeric column
 * over the training rows, and the categories (labels) that occur in them. Held-out rows are then
 * encoded with it: a category or label the training part never saw encodes as all zeros, a
 * missing number as the training mean (0 after standardising).
 *
 * Encoded features: a numeric column is standardised; a categorical column is one-hot and a
 * label-set column multi-hot, both left at 0/1.
 */
import { z } from 'zod';
import { compareText, NUMBER_PATTERN } from '../data/cells.js';
import { DataError, type SideColumn, type SideTable } from '../data/table.js';

/** A column's encoder, fitted on training rows. */
export type FittedSideColumn =
  | { readonly name: string; readonly kind: 'numeric'; readonly mean: number; readonly std: number }
  | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] }
  | { readonly name: string; readonly kind: 'multi'; readonly categories: readonly string[] };

/** The encoder of one side (users or items); JSON, saved with a model. */
export type SideEncoder = {
  /** `user` or `item`: prefixes the feature names (`user.age`, `item.genres=Drama`). */
  readonly prefix: string;
  readonly columns: readonly FittedSideColumn[];
  readonly featureNames: readonly string[];
};

/** Separator of the labels of a `multi` cell in CSV input (MovieLens's genre notation). */
export const LABEL_SEPARATOR = '|';

/**
 * Fits an encoder on the entities that occur in the training rows.
 * @param weights training rows per entity (index): statistics are over training ROWS, so an
 *   entity with many ratings weighs more, as it does in the loss.
 */
export function fitSideEncoder(side: SideTable, weights: Float64Array, prefix: string): SideEncoder {
  // biome-ignore lint/suspicious/useIterableCallbackReturn: the switch is exhaustive over the column kinds.
  const columns = side.columns.map((column): FittedSideColumn => {
    switch (column.kind) {
      case 'numeric': {
        let total = 0;
        let sum = 0;
        column.values.forEach((value, e) => {
          if (Number.isNaN(value) || weights[e] === 0) return;
          total += weights[e]!;
          sum += weights[e]! * value;
        });
        const mean = total > 0 ? sum / total : 0;
        let squares = 0;
        column.values.forEach((value, e) => {
          if (!Number.isNaN(value) && weights[e]! > 0) squares += weights[e]! * (value - mean) ** 2;
        });
        const std = total > 0 ? Math.sqrt(squares / total) : 0;
        return { name: column.name, kind: 'numeric', mean, std: std > 0 ? std : 1 };
      }
      case 'categorical':
      case 'multi': {
        const seen = new Set<string>();
        column.values.forEach((value: string | readonly string[], e) => {
          if (weights[e] === 0) return;
          for (const label of typeof value === 'string' ? [value] : value) if (label !== '') seen.add(label);
        });
        return { name: column.name, kind: column.kind, categories: [...seen].sort(compareText) };
      }
    }
  });
  return { prefix, columns, featureNames: columns.flatMap((column) => featureNamesOf(prefix, column)) };
}

/** Encoded width of one side. */
export function encodedWidth(encoder: SideEncoder): number {
  return encoder.featureNames.length;
}

/** Every entity of `side`, encoded: row-major nEntities × width. */
export function encodeSide(encoder: SideEncoder, side: SideTable): Float32Array {
  const width = encodedWidth(encoder);
  const out = new Float32Array(side.ids.length * width);
  const byName = new Map(side.columns.map((column) => [column.name, column]));
  let offset = 0;
  for (const fitted of encoder.columns) {
    const column = byName.get(fitted.name);
    if (column === undefined || column.kind !== fitted.kind)
      throw new Error(`side features lack the ${fitted.kind} column "${fitted.name}" the encoder was fitted on`);
    for (let e = 0; e < side.ids.length; e++) writeValue(out, e * width + offset, fitted, column.values[e]!);
    offset += columnWidth(fitted);
  }
  return out;
}

/**
 * One entity's features from raw text cells (a CSV row, for `foldwise predict`): a numeric cell
 * is parsed (empty: missing), a categorical one taken as is, a `multi` one split on `|`.
 * @param cellOf the raw cell of a column, or undefined when the input has no such column.
 * @param where names the row in error messages.
 * @throws {DataError} on a non-numeric cell in a numeric column.
 */
export function encodeSideCells(encoder: SideEncoder, cellOf: (column: string) => string | undefined, where: string): Float32Array {
  const out = new Float32Array(encodedWidth(encoder));
  let offset = 0;
  for (const fitted of encoder.columns) {
    const cell = cellOf(fitted.name)?.trim() ?? '';
    let value: number | string | readonly string[];
    if (fitted.kind === 'numeric') {
      value = cell === '' ? Number.NaN : Number(cell);
      if (cell !== '' && !NUMBER_PATTERN.test(cell))
        throw new DataError(
          `${where}, column ${JSON.stringify(fitted.name)}: non-numeric value ${JSON.stringify(cell)} in a numeric column`,
        );
    } else if (fitted.kind === 'multi') {
      value = cell === '' ? [] : cell.split(LABEL_SEPARATOR).map((label) => label.trim());
    } else {
      value = cell;
    }
    writeValue(out, offset, fitted, value);
    offset += columnWidth(fitted);
  }
  return out;
}

function columnWidth(column: FittedSideColumn): number {
  return column.kind === 'numeric' ? 1 : column.categories.length;
}

function featureNamesOf(prefix: string, column: FittedSideColumn): string[] {
  const name = `${prefix}.${column.name}`;
  return column.kind === 'numeric' ? [name] : column.categories.map((category) => `${name}=${category}`);
}

/** Writes one value; unknown categories and missing values leave zeros. */
function writeValue(out: Float32Array, offset: number, fitted: FittedSideColumn, value: number | string | readonly string[]): void {
  if (fitted.kind === 'numeric') {
    const number = value as number;
    out[offset] = Number.isNaN(number) ? 0 : (number - fitted.mean) / fitted.std;
    return;
  }
  const labels = typeof value === 'string' ? [value] : (value as readonly string[]);
  for (const label of labels) {
    const k = indexOfCategory(fitted, label);
    if (k >= 0) out[offset + k] = 1;
  }
}

const categoryIndexCache = new WeakMap<FittedSideColumn, Map<string, number>>();

function indexOfCategory(fitted: Extract<FittedSideColumn, { categories: readonly string[] }>, label: string): number {
  let index = categoryIndexCache.get(fitted);
  if (index === undefined) {
    index = new Map(fitted.categories.map((category, k) => [category, k]));
    categoryIndexCache.set(fitted, index);
  }
  return index.get(label) ?? -1;
}

/** Sorts ids numerically when they all are integers (MovieLens ids), else as text. */
export function sortIds(ids: Iterable<string>): string[] {
  const list = [...new Set(ids)];
  return list.every((id) => /^\d+$/.test(id)) ? list.sort((a, b) => Number(a) - Number(b) || compareText(a, b)) : list.sort(compareText);
}

// ───────────────────────────── JSON (model files) ─────────────────────────────

/** A side table as saved with a model: numbers in JSON, `null` for a missing one. */
export type SavedSideTable = {
  readonly ids: readonly string[];
  readonly columns: readonly (
    | { readonly name: string; readonly kind: 'numeric'; readonly values: readonly (number | null)[] }
    | { readonly name: string; readonly kind: 'categorical'; readonly values: readonly string[] }
    | { readonly name: string; readonly kind: 'multi'; readonly values: readonly (readonly string[])[] }
  )[];
};

export function sideTableToJson(side: SideTable): SavedSideTable {
  return {
    ids: [...side.ids],
    columns: side.columns.map((column) =>
      column.kind === 'numeric'
        ? { name: column.name, kind: 'numeric', values: Array.from(column.values, (v) => (Number.isNaN(v) ? null : v)) }
        : ({ name: column.name, kind: column.kind, values: [...column.values] } as SavedSideTable['columns'][number]),
    ),
  };
}

export function sideTableFromJson(saved: SavedSideTable): SideTable {
  return {
    ids: saved.ids,
    columns: saved.columns.map(
      (column): SideColumn =>
        column.kind === 'numeric'
          ? { name: column.name, kind: 'numeric', values: Float64Array.from(column.values, (v) => v ?? Number.NaN) }
          : column,
    ),
  };
}

export const sideEncoderSchema = z.strictObject({
  prefix: z.string(),
  columns: z.array(
    z.discriminatedUnion('kind', [
      z.strictObject({ name: z.string(), kind: z.literal('numeric'), mean: z.number(), std: z.number().positive() }),
      z.strictObject({ name: z.string(), kind: z.literal('categorical'), categories: z.array(z.string()) }),
      z.strictObject({ name: z.string(), kind: z.literal('multi'), categories: z.array(z.string()) }),
    ]),
  ),
  featureNames: z.array(z.string()),
});

export const savedSideTableSchema = z
  .strictObject({
    ids: z.array(z.string()),
    columns: z.array(
      z.discriminatedUnion('kind', [
        z.strictObject({ name: z.string(), kind: z.literal('numeric'), values: z.array(z.number().nullable()) }),
        z.strictObject({ name: z.string(), kind: z.literal('categorical'), values: z.array(z.string()) }),
        z.strictObject({ name: z.string(), kind: z.literal('multi'), values: z.array(z.array(z.string())) }),
      ]),
    ),
  })
  .superRefine((table, ctx) => {
    table.columns.forEach((column, c) => {
      if (column.values.length !== table.ids.length)
        ctx.addIssue({
          code: 'custom',
          path: ['columns', c, 'values'],
          message: `expected ${table.ids.length} values (one per id), got ${column.values.length}`,
        });
    });
  });
