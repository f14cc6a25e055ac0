import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError } from '../../../worker/data/table.js';
import { outerSplits, splitTest, validationSplits, type Split } from '../../../worker/data/splits.js';
import type { ValidationSpec } from '../../../worker/contract/spec.js';

/** 150 rows, imbalanced 100 / 37 / 13 and interleaved, like a real label column. */
const classSizes = [100, 37, 13];
const labels = Float32Array.from({ length: 150 }, (_, i) => (i % 10 === 0 && i < 130 ? 2 : i % 4 === 1 && i < 148 ? 1 : 0));
const kfold: ValidationSpec = { kind: 'kfold', k: 5, stratified: true };

function countClasses(rows: Int32Array, y: Float32Array = labels): number[] {
  const counts = [0, 0, 0];
  for (const row of rows) counts[y[row]!]!++;
  return counts;
}

function assertSortedUnique(rows: Int32Array): void {
  for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1]! < rows[i]!, 'sorted, without duplicates');
}

function assertWithinOneRow(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1, `${what}: ${actual} rows, expected ${expected.toFixed(2)} ± 1`);
}

test('fixture: the label column has the intended class sizes', () => {
  assert.deepEqual(countClasses(Int32Array.from(labels.keys())), classSizes);
});

test('splitTest: stratified, disjoint, covers every row, right size', () => {
  const { train, test: testRows } = splitTest(labels, 'multiclass', 0.2, 42);
  assertSortedUnique(train);
  assertSortedUnique(testRows);
  assert.equal(testRows.length, 30);
  assert.deepEqual(
    [...train, ...testRows].sort((a, b) => a - b),
    Array.from(labels.keys()),
  );
  countClasses(testRows).forEach((count, c) => {
    assertWithinOneRow(count, classSizes[c]! * 0.2, `class ${c} in test`);
  });
});

test('splitTest: regression splits by row count', () => {
  const y = Float32Array.from({ length: 101 }, (_, i) => Math.sin(i));
  const { train, test: testRows } = splitTest(y, 'regression', 0.25, 1);
  assert.equal(testRows.length, 25);
  assert.equal(train.length + testRows.length, 101);
  assert.equal(new Set([...train, ...testRows]).size, 101);
});

test('splitTest: same seed → same split, different seed → different split', () => {
  assert.deepEqual(splitTest(labels, 'multiclass', 0.2, 42), splitTest(labels, 'multiclass', 0.2, 42));
  assert.notDeepEqual(splitTest(labels, 'multiclass', 0.2, 42).test, splitTest(labels, 'multiclass', 0.2, 43).test);
});

function checkFolds(folds: Split[], trainRows: Int32Array, testRows: Int32Array): void {
  const testSet = new Set(testRows);
  const seenInValidation = new Map<number, number>();
  for (const [f, { train, validation }] of folds.entries()) {
    assertSortedUnique(train);
    assertSortedUnique(validation);
    const validationSet = new Set(validation);
    assert.ok(
      train.every((row) => !validationSet.has(row)),
      `fold ${f}: a row is in both train and validation`,
    );
    assert.deepEqual(
      [...train, ...validation].sort((a, b) => a - b),
      Array.from(trainRows),
      `fold ${f}: train ∪ validation = the training rows`,
    );
    assert.ok(
      [...train, ...validation].every((row) => !testSet.has(row)),
      `fold ${f}: a test row leaked in`,
    );
    for (const row of validation) seenInValidation.set(row, (seenInValidation.get(row) ?? 0) + 1);
  }
  assert.ok(
    folds.length === 1 || (seenInValidation.size === trainRows.length && [...seenInValidation.values()].every((n) => n === 1)),
    'every training row is in exactly one validation fold',
  );
}

test('stratified k-fold: folds partition the training rows, class proportions within ±1 row, no test row', () => {
  const { train, test: testRows } = splitTest(labels, 'multiclass', 0.2, 42);
  const folds = validationSplits(labels, train, kfold, 'multiclass', 42);
  assert.equal(folds.length, 5);
  checkFolds(folds, train, testRows);
  const trainCounts = countClasses(train);
  for (const [f, { validation }] of folds.entries()) {
    countClasses(validation).forEach((count, c) => {
      assertWithinOneRow(count, trainCounts[c]! / 5, `fold ${f}, class ${c}`);
    });
    assertWithinOneRow(validation.length, train.length / 5, `fold ${f} size`);
  }
});

test('plain k-fold (stratified: false, or regression) still partitions the rows', () => {
  const { train, test: testRows } = splitTest(labels, 'multiclass', 0.2, 42);
  checkFolds(validationSplits(labels, train, { kind: 'kfold', k: 4, stratified: false }, 'multiclass', 42), train, testRows);
  const y = Float32Array.from({ length: 53 }, (_, i) => i / 7);
  const split = splitTest(y, 'regression', 0.2, 5);
  const folds = validationSplits(y, split.train, { kind: 'kfold', k: 3, stratified: true }, 'regression', 5);
  checkFolds(folds, split.train, split.test);
  folds.forEach(({ validation }) => {
    assertWithinOneRow(validation.length, split.train.length / 3, 'fold size');
  });
});

test('holdout: one stratified split of the training rows', () => {
  const { train, test: testRows } = splitTest(labels, 'multiclass', 0.2, 42);
  const folds = validationSplits(labels, train, { kind: 'holdout', fraction: 0.25 }, 'multiclass', 42);
  assert.equal(folds.length, 1);
  checkFolds(folds, train, testRows);
  const trainCounts = countClasses(train);
  assert.equal(folds[0]!.validation.length, 30);
  countClasses(folds[0]!.validation).forEach((count, c) => {
    assertWithinOneRow(count, trainCounts[c]! * 0.25, `class ${c}`);
  });
});

test('validationSplits: same seed → same folds, different seed → different folds', () => {
  const { train } = splitTest(labels, 'multiclass', 0.2, 42);
  assert.deepEqual(validationSplits(labels, train, kfold, 'multiclass', 42), validationSplits(labels, train, kfold, 'multiclass', 42));
  assert.notDeepEqual(validationSplits(labels, train, kfold, 'multiclass', 42), validationSplits(labels, train, kfold, 'multiclass', 7));
});

test('the folds use a different random stream from the test split', () => {
  // Same seed for both: if they shared a stream, the first validation fold would mirror the test cut.
  const all = Int32Array.from(labels.keys());
  const holdout = validationSplits(labels, all, { kind: 'holdout', fraction: 0.2 }, 'multiclass', 42)[0]!;
  assert.notDeepEqual(holdout.validation, splitTest(labels, 'multiclass', 0.2, 42).test);
});

test('k-fold with fewer rows than folds → DataError', () => {
  const y = Float32Array.of(0, 1, 0);
  assert.throws(
    () => validationSplits(y, Int32Array.of(0, 1, 2), kfold, 'binary', 1),
    (error: unknown) => error instanceof DataError && /at least 5 training rows.*only 3/.test(error.message),
  );
});

test('stratified k-fold with a class smaller than k → DataError naming the class and its count', () => {
  const y = Float32Array.from({ length: 30 }, (_, i) => (i < 3 ? 1 : 0));
  const rows = Int32Array.from(y.keys());
  assert.throws(
    () => validationSplits(y, rows, kfold, 'binary', 1),
    (error: unknown) => error instanceof DataError && /class 1 has only 3/.test(error.message),
  );
  assert.throws(() => validationSplits(y, rows, kfold, 'binary', 1, ['legit', 'fraud']), /class "fraud" \(index 1\) has only 3/);
  // Unstratified, the same data is fine.
  assert.equal(validationSplits(y, rows, { kind: 'kfold', k: 5, stratified: false }, 'binary', 1).length, 5);
});

test('a class with a single row stays in the training part', () => {
  const y = Float32Array.from({ length: 20 }, (_, i) => (i === 7 ? 1 : 0));
  const { train } = splitTest(y, 'binary', 0.5, 3);
  assert.ok(train.includes(7));
});

test('repeated k-fold: k·n folds; each repeat partitions the rows, stratified, shuffled its own way; repeat 0 is plain k-fold', () => {
  const { train, test: testRows } = splitTest(labels, 'multiclass', 0.2, 42);
  const repeated = validationSplits(labels, train, { ...kfold, repeats: 3 }, 'multiclass', 42);
  assert.equal(repeated.length, 15);
  const trainCounts = countClasses(train);
  const repeats = [0, 1, 2].map((r) => repeated.slice(r * 5, r * 5 + 5));
  for (const [r, folds] of repeats.entries()) {
    checkFolds(folds, train, testRows);
    for (const [f, { validation }] of folds.entries()) {
      countClasses(validation).forEach((count, c) => {
        assertWithinOneRow(count, trainCounts[c]! / 5, `repeat ${r}, fold ${f}, class ${c}`);
      });
    }
  }
  assert.deepEqual(repeats[0], validationSplits(labels, train, kfold, 'multiclass', 42), 'fold r·k + f is fold f of repeat r');
  // Another shuffle: the partitions differ (a fold of one repeat is no fold of another).
  const asKey = (split: Split) => split.validation.join(',');
  for (let r = 1; r < 3; r++) {
    for (let s = 0; s < r; s++) {
      const earlier = new Set(repeats[s]!.map(asKey));
      assert.ok(
        repeats[r]!.every((split) => !earlier.has(asKey(split))),
        `repeat ${r} shares a fold with repeat ${s}`,
      );
    }
  }
  assert.deepEqual(validationSplits(labels, train, { ...kfold, repeats: 3 }, 'multiclass', 42), repeated, 'same seed, same folds');
  // Adding a repeat keeps the earlier ones.
  assert.deepEqual(validationSplits(labels, train, { ...kfold, repeats: 4 }, 'multiclass', 42).slice(0, 15), repeated);
});

test('outer folds (nested CV): a stratified partition of the non-test rows, own stream; inner folds cut from a training part', () => {
  const { train, test: testRows } = splitTest(labels, 'multiclass', 0.2, 42);
  const outer = outerSplits(labels, train, { k: 4 }, 'multiclass', 42);
  assert.equal(outer.length, 4);
  checkFolds(outer, train, testRows);
  const trainCounts = countClasses(train);
  for (const [o, { validation }] of outer.entries()) {
    countClasses(validation).forEach((count, c) => {
      assertWithinOneRow(count, trainCounts[c]! / 4, `outer fold ${o}, class ${c}`);
    });
  }
  assert.notDeepEqual(
    outer.map((split) => split.validation),
    validationSplits(labels, train, { kind: 'kfold', k: 4, stratified: true }, 'multiclass', 42).map((split) => split.validation),
    'not the inner folds of the same rows',
  );
  assert.deepEqual(outerSplits(labels, train, { k: 4 }, 'multiclass', 42), outer, 'same seed, same outer folds');
  const inner = validationSplits(labels, outer[1]!.train, kfold, 'multiclass', 42);
  checkFolds(inner, outer[1]!.train, Int32Array.from([...testRows, ...outer[1]!.validation]));
  assert.throws(
    () => outerSplits(Float32Array.of(0, 1, 0, 1, 0, 0, 0), Int32Array.of(0, 1, 2, 3, 4, 5, 6), { k: 3 }, 'binary', 1),
    /stratified 3-fold outer cross-validation \(validation\.outer\) needs .* class 1 has only 2; lower validation\.outer\.k/,
  );
});
