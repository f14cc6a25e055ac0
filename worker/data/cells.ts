/**
 * Small rules about text cells shared by every reader of user data (CSV files, MovieLens
 * folders, `foldwise predict` input): what a number looks like, a stable text order, and how a
 * cell is quoted in an error message.
 */

/** Plain decimal notation only: Number() would also accept '0x1f', 'Infinity' and ' '. */
export const NUMBER_PATTERN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The cell's number, or null when it is not plain decimal notation or overflows to infinity. */
export function parseNumber(text: string): number | null {
  if (!NUMBER_PATTERN.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** Every text's number, or null as soon as one is not a number. */
export function parseAllNumbers(texts: readonly string[]): number[] | null {
  const numbers: number[] = [];
  for (const text of texts) {
    const value = parseNumber(text);
    if (value === null) return null;
    numbers.push(value);
  }
  return numbers;
}

/** Spellings of "no value" in common exports (`NA`, `n/a`, `null`, `?`, …); a missing number where imputation is on. */
const MISSING_MARKERS = /^(?:na|n\/a|nan|null|none|missing|\?|-|\.)$/i;

export function isMissingMarker(cell: string): boolean {
  return MISSING_MARKERS.test(cell);
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A cell as quoted in error messages: JSON string syntax, cut after 40 characters. */
export function quote(cell: string): string {
  return JSON.stringify(cell.length > 40 ? `${cell.slice(0, 40)}…` : cell);
}

/** The first 8 values, quoted, for an error message. */
export function summariseValues(values: readonly string[]): string {
  const shown = values.slice(0, 8).map(quote).join(', ');
  return values.length > 8 ? `${shown}, …` : shown;
}
