/**
 * A worker's prepared rows of recent splits (task-data.ts), most recently used last, within a
 * byte budget. The coordinator dispatches a grid fold by fold, so the tasks a worker trains one
 * after another mostly share a fold: its rows are encoded and standardised once, not once per
 * run (on the issue-6 benchmark grid that was about 4 % of a task). The budget bounds the
 * memory: a large table keeps only its latest split.
 *
 * The cached arrays are shared by every task that gets them: trainers only read their rows.
 */
import type { ModelRows } from './types.js';

/**
 * Rows kept beyond the newest entry, in bytes of their arrays: every fold of a 5-fold search of up
 * to ~100,000 rows × 30 features (a sampled search interleaves folds), little for a long-lived
 * worker (serve) to hold on to after its tables are gone.
 */
const BUDGET_BYTES = 64 * 1024 * 1024;

type Entry = { readonly value: unknown; readonly bytes: number };

const entries = new Map<string, Entry>();
let totalBytes = 0;
/** Identities of the split objects (task-data.ts keeps them per cached table). */
const ids = new WeakMap<object, number>();
let nextId = 0;

/**
 * The value prepared for `owner` (a split) under `variant` (what else it depends on: the
 * positive class, a ratings family), built with `build` the first time.
 * @param rowsOf the rows of the value, to count its bytes.
 */
export function preparedRows<T>(owner: object, variant: string, build: () => T, rowsOf: (value: T) => readonly ModelRows[]): T {
  let id = ids.get(owner);
  if (id === undefined) ids.set(owner, (id = nextId++));
  const key = `${id}\0${variant}`;
  const cached = entries.get(key);
  if (cached !== undefined) {
    entries.delete(key);
    entries.set(key, cached);
    return cached.value as T;
  }
  const value = build();
  const bytes = rowsOf(value).reduce((sum, rows) => sum + bytesOf(rows), 0);
  entries.set(key, { value, bytes });
  totalBytes += bytes;
  for (const [oldKey, old] of entries) {
    if (totalBytes <= BUDGET_BYTES || oldKey === key) break;
    entries.delete(oldKey);
    totalBytes -= old.bytes;
  }
  return value;
}

/** How many values are cached (tests). */
export function preparedRowsCount(): number {
  return entries.size;
}

function bytesOf(rows: ModelRows): number {
  return rows.inputs.reduce((sum, input) => sum + input.values.byteLength, rows.y.byteLength);
}
