import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryTargets, modelClasses, positiveClassOf } from '../../../worker/data/positive-class.js';
import { encodeTarget } from '../../../worker/data/encode.js';
import { DataError, type Table } from '../../../worker/data/table.js';
import { classWeightsOf } from '../../../worker/training/class-weights.js';

/** A binary table of `labels` (encoded as the CSV loader encodes a target: classes sorted). */
function tableOf(labels: readonly string[]): Table {
  const { y, classes } = encodeTarget(labels, 'binary', 'the target column "y"', (row) => `row ${row + 2}`);
  return {
    nRows: labels.length,
    nFeatures: 0,
    x: new Float32Array(0),
    y,
    task: 'binary',
    encoding: { columns: [], featureNames: [], target: 'y', classes },
  };
}

const spec = (positiveClass?: string | number | boolean) => ({
  ...(positiveClass === undefined ? {} : { positiveClass }),
  testSplit: { fraction: 0.2 },
  seed: 1,
});
/** `n` rows of `a` then `m` of `b`. */
const labels = (a: string, n: number, b: string, m: number) => [...Array(n).fill(a), ...Array(m).fill(b)];

test('default: 1, true or yes (any case) whatever the counts', () => {
  assert.equal(positiveClassOf(tableOf(labels('yes', 90, 'no', 10)), spec()).label, 'yes');
  assert.equal(positiveClassOf(tableOf(labels('1', 80, '0', 20)), spec()).label, '1');
  assert.equal(positiveClassOf(tableOf(labels('1.0', 80, '0', 20)), spec()).label, '1'); // numeric labels are normalised
  const truth = positiveClassOf(tableOf(labels('False', 30, 'True', 70)), spec());
  assert.deepEqual(truth, { index: 1, label: 'True', reason: 'a usual positive label: 1, true or yes' });
});

test('default otherwise: the minority class of the non-test rows, even when it sorts first; a tie keeps the second label', () => {
  const churn = positiveClassOf(tableOf(labels('stayed', 78, 'churned', 22)), spec());
  assert.equal(churn.label, 'churned');
  assert.equal(churn.index, 0);
  assert.match(churn.reason, /^the minority class of the non-test rows, 22\.\d %$/);
  assert.equal(positiveClassOf(tableOf(labels('b', 70, 'a', 30)), spec()).label, 'a');
  assert.equal(positiveClassOf(tableOf(labels('a', 50, 'b', 50)), spec()).label, 'b');
});

test('named: a label as written (text, or the same number); any other value is a DataError naming positiveClass and the labels', () => {
  const table = tableOf(labels('stayed', 78, 'churned', 22));
  assert.deepEqual(positiveClassOf(table, spec('stayed')), { index: 1, label: 'stayed', reason: 'named by positiveClass' });
  assert.equal(positiveClassOf(tableOf(labels('1', 10, '0', 90)), spec(0)).label, '0');
  assert.equal(positiveClassOf(tableOf(labels('1', 10, '0', 90)), spec('0.0')).label, '0');
  assert.throws(
    () => positiveClassOf(table, spec('Churned')),
    (error: unknown) =>
      error instanceof DataError &&
      error.message === 'positiveClass: "Churned" is not a label of the target column "y" (its labels: "churned", "stayed")',
  );
});

test('binaryTargets and modelClasses: the positive class is 1 and the second class, the table keeps its order', () => {
  const table = tableOf(['stayed', 'churned', 'stayed', 'stayed']);
  const positive = positiveClassOf(table, spec('churned'));
  assert.deepEqual([...table.y], [1, 0, 1, 1]);
  assert.deepEqual([...binaryTargets(table.y, positive)], [0, 1, 0, 0]);
  assert.deepEqual(modelClasses(table.encoding.classes!, positive), ['stayed', 'churned']);
  const second = positiveClassOf(table, spec('stayed'));
  assert.deepEqual([...binaryTargets(table.y, second)], [1, 0, 1, 1]);
  assert.deepEqual(modelClasses(table.encoding.classes!, second), ['churned', 'stayed']);
});

test('classWeightsOf: none is null, balanced is n / (classes · n_c) as scikit-learn, a map weighs its labels and refuses others', () => {
  const y = Float32Array.from([0, 0, 0, 1]);
  assert.equal(classWeightsOf('none', ['no', 'yes'], y), null);
  assert.deepEqual([...classWeightsOf('balanced', ['no', 'yes'], y)!], [Math.fround(4 / 6), 2]);
  assert.deepEqual(
    [...classWeightsOf('balanced', ['a', 'b', 'c'], Float32Array.from([0, 0, 1, 1]))!],
    [Math.fround(4 / 6), Math.fround(4 / 6), 1],
  );
  assert.deepEqual([...classWeightsOf({ yes: 20 }, ['no', 'yes'], y)!], [1, 20]);
  assert.deepEqual([...classWeightsOf({ '1.0': 5 }, ['0', '1'], y)!], [1, 5]);
  assert.throws(
    () => classWeightsOf({ fraud: 20 }, ['no', 'yes'], y),
    /^DataError: classWeight: "fraud" is not a class label of the data \(its labels: "no", "yes"\)$/,
  );
});
