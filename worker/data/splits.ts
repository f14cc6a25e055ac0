/**
 * Row splits: the test split cut once before the search, then the validation folds of the
 * remaining rows. Both are pure functions of (labels, settings, seed), so every worker derives
 * the same splits without receiving them. Index arrays are row indices into the table, sorted.
 */
import { repeatsOf, type OuterSpec, type ValidationSpec } from '../contract/spec.js';
import type { TaskKind } from '../contract/vocabulary.js';
import { DataError } from './table.js';
import { createRng, deriveSeed, shuffleInPlace, type Rng } from '../rng.js';

export type Split = { readonly train: Int32Array; readonly validation: Int32Array };

/**
 * Cuts the test split off all rows: `fraction` of them, stratified by class for classification
 * (each class contributes its share, rounded so the total is right; a class always keeps at
 * least one training row).
 * @throws {DataError} when there are too few rows for both parts.
 */
export function splitTest(
  y: Float32Array,
  task: TaskKind,
  fraction: number,
  seed: number,
): { readonly train: Int32Array; readonly test: Int32Array } {
  const rows = Int32Array.from({ length: y.length }, (_, i) => i);
  const { kept, held } = holdOut(y, rows, task, fraction, createRng(deriveSeed(seed, 'test-split')), 'the test split');
  return { train: kept, test: held };
}

/**
 * Validation splits of the training rows (the test rows are never passed in).
 * - kfold: k splits per repeat; within a repeat every training row is in exactly one validation
 *   fold; stratified (class counts per fold differ by at most one) when `validation.stratified`
 *   and classifying. Repeat r (of `validation.repeats`) deals from its own shuffle, seeded from
 *   `seed` and r, and its folds come at indices r·k … r·k + k − 1; repeat 0 is the plain k-fold.
 * - holdout: one split, `validation.fraction` of the rows, stratified when classifying.
 * @param classNames optional, only to name a class in error messages.
 * @throws {DataError} when there are fewer rows than folds, or a class has fewer rows than folds.
 */
export function validationSplits(
  y: Float32Array,
  trainRows: Int32Array,
  validation: ValidationSpec,
  task: TaskKind,
  seed: number,
  classNames?: readonly string[],
): Split[] {
  if (validation.kind === 'holdout') {
    const rng = createRng(deriveSeed(seed, 'validation'));
    const { kept, held } = holdOut(y, trainRows, task, validation.fraction, rng, 'the validation split');
    return [{ train: kept, validation: held }];
  }
  const stratify = validation.stratified && task !== 'regression';
  const splits: Split[] = [];
  for (let repeat = 0; repeat < repeatsOf(validation); repeat++) {
    // Repeat 0 keeps a plain k-fold's seed: adding repeats to a spec keeps its first k folds.
    const rng = createRng(deriveSeed(seed, repeat === 0 ? 'validation' : `validation/repeat/${repeat}`));
    splits.push(...kFold(y, trainRows, validation.k, stratify, rng, classNames));
  }
  return splits;
}

/**
 * Nested CV's outer folds of the non-test rows (spec `validation.outer`): a k-fold partition,
 * stratified when classifying, dealt from a stream of its own (not the validation folds'), so
 * outer fold o's training part is the same in every worker. The inner validation folds are then cut
 * from a training part by validationSplits, as from all non-test rows without nesting.
 * @throws {DataError} as validationSplits does for k-fold.
 */
export function outerSplits(
  y: Float32Array,
  nonTestRows: Int32Array,
  outer: OuterSpec,
  task: TaskKind,
  seed: number,
  classNames?: readonly string[],
): Split[] {
  const words = { what: 'outer cross-validation (validation.outer)', remedy: 'lower validation.outer.k' };
  return kFold(y, nonTestRows, outer.k, task !== 'regression', createRng(deriveSeed(seed, 'outer')), classNames, words);
}

/** How kFold's errors name plain k-fold. */
const KFOLD_WORDS = { what: 'cross-validation', remedy: 'lower k, or set stratified: false' };

/** One k-fold partition of `trainRows`, dealt from `rng`'s shuffle (see validationSplits). */
function kFold(
  y: Float32Array,
  trainRows: Int32Array,
  k: number,
  stratify: boolean,
  rng: Rng,
  classNames: readonly string[] | undefined,
  words: { readonly what: string; readonly remedy: string } = KFOLD_WORDS,
): Split[] {
  if (trainRows.length < k) {
    throw new DataError(`${k}-fold ${words.what} needs at least ${k} training rows, but there are only ${trainRows.length}`);
  }
  const groups = stratify ? groupByClass(y, trainRows) : [{ label: 0, rows: Array.from(trainRows) }];
  if (stratify) {
    for (const { label, rows } of groups) {
      if (rows.length < k) {
        throw new DataError(
          `stratified ${k}-fold ${words.what} needs at least ${k} training rows of each class, but class ` +
            `${className(label, classNames)} has only ${rows.length}; ${words.remedy}`,
        );
      }
    }
  }

  // Shuffle within each class, lay the classes end to end and deal the rows out round-robin:
  // each class then lands ⌊n/k⌋ or ⌈n/k⌉ times in every fold, and fold sizes differ by ≤ 1.
  const dealt = groups.flatMap(({ rows }) => {
    shuffleInPlace(rows, rng);
    return rows;
  });
  const folds = Array.from({ length: k }, (): number[] => []);
  dealt.forEach((row, position) => {
    folds[position % k]!.push(row);
  });
  return folds.map((validationRows, fold) => ({
    train: sortedRows(folds.filter((_, other) => other !== fold).flat()),
    validation: sortedRows(validationRows),
  }));
}

/** Holds out `fraction` of `rows` (stratified when classifying); the rest is kept. */
function holdOut(
  y: Float32Array,
  rows: Int32Array,
  task: TaskKind,
  fraction: number,
  rng: Rng,
  what: string,
): { kept: Int32Array; held: Int32Array } {
  if (rows.length < 2)
    throw new DataError(`${what} needs at least 2 rows to cut from, but there ${rows.length === 1 ? 'is 1' : `are ${rows.length}`}`);
  const total = Math.min(rows.length - 1, Math.max(1, Math.round(rows.length * fraction)));
  const groups = task === 'regression' ? [{ label: 0, rows: Array.from(rows) }] : groupByClass(y, rows);
  const quotas = apportion(
    groups.map((group) => group.rows.length),
    total,
  );

  if (quotas.every((quota) => quota === 0)) {
    throw new DataError(`${what} cannot be cut: no class has a second row to spare (${rows.length} rows)`);
  }
  const shuffled = groups.map(({ rows: members }) => {
    shuffleInPlace(members, rng);
    return members;
  });
  // (flatMap, not push(...spread): a spread of 10⁵ rows overflows the call stack.)
  const held = shuffled.flatMap((members, g) => members.slice(0, quotas[g]));
  const kept = shuffled.flatMap((members, g) => members.slice(quotas[g]));
  return { kept: sortedRows(kept), held: sortedRows(held) };
}

/**
 * Splits `total` held-out rows among groups in proportion to their sizes (largest remainder),
 * never taking a group's last row so that every class stays in the kept part.
 */
function apportion(sizes: readonly number[], total: number): number[] {
  const all = sizes.reduce((sum, size) => sum + size, 0);
  const capacity = sizes.map((size) => Math.max(0, size - 1));
  const exact = sizes.map((size) => (size * total) / all);
  const quotas = exact.map((share, g) => Math.min(capacity[g]!, Math.floor(share)));
  // Hand out the rows still missing by largest fractional part (ties: the earlier group),
  // one per group first, then to any group with room.
  const byRemainder = exact
    .map((share, g) => ({ g, remainder: share - Math.floor(share) }))
    .sort((a, b) => b.remainder - a.remainder || a.g - b.g);
  const hasRoom = (g: number): boolean => quotas[g]! < capacity[g]!;
  for (let missing = total - quotas.reduce((sum, quota) => sum + quota, 0); missing > 0; missing--) {
    const next = byRemainder.find(({ g }) => hasRoom(g) && quotas[g]! <= Math.floor(exact[g]!)) ?? byRemainder.find(({ g }) => hasRoom(g));
    if (next === undefined) break;
    quotas[next.g]!++;
  }
  return quotas;
}

/** Rows grouped by class, in ascending class order (iteration order must not depend on the data order). */
function groupByClass(y: Float32Array, rows: Int32Array): { label: number; rows: number[] }[] {
  const groups = new Map<number, number[]>();
  for (const row of rows) {
    const label = y[row]!;
    const members = groups.get(label);
    if (members) members.push(row);
    else groups.set(label, [row]);
  }
  return [...groups].sort(([a], [b]) => a - b).map(([label, members]) => ({ label, rows: members }));
}

function className(label: number, classNames: readonly string[] | undefined): string {
  const name = classNames?.[label];
  return name === undefined ? String(label) : `${JSON.stringify(name)} (index ${label})`;
}

function sortedRows(rows: readonly number[]): Int32Array {
  return Int32Array.from(rows).sort();
}
