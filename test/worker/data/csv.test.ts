import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validationSplits } from '../../../worker/data/splits.js';
import { loadDataset } from '../../../worker/data/load.js';
import { DataError } from '../../../worker/data/table.js';
import { assertDataError, csv, missingFile, PETS } from './fixtures.js';

test('csv: a categorical feature is one-hot encoded (sorted categories), a text label becomes class indices', async () => {
  const table = await loadDataset(csv(PETS), 1);
  assert.equal(table.task, 'multiclass');
  assert.equal(table.nRows, 4);
  assert.deepEqual(table.encoding.classes, ['bird', 'cat', 'dog']);
  assert.deepEqual(Array.from(table.y), [1, 2, 1, 0]);
  assert.deepEqual(table.encoding.columns, [
    { name: 'size', kind: 'numeric' },
    { name: 'colour', kind: 'categorical', categories: ['blue', 'green', 'red'] },
    { name: 'weight', kind: 'numeric' },
  ]);
  assert.deepEqual(table.encoding.featureNames, ['size', 'colour=blue', 'colour=green', 'colour=red', 'weight']);
  assert.equal(table.nFeatures, 5);
  // prettier-ignore
  assert.deepEqual(Array.from(table.x), [1.5, 0, 0, 1, 10, 2, 1, 0, 0, 12, 0.5, 0, 1, 0, 3, 3, 0, 0, 1, 20]);
});

test('csv: numeric labels are classes sorted numerically; task inference and override', async () => {
  const file = csv(['a,label', '1,10', '2,9', '3,2', '4,10', '5,9'].join('\n'));
  const table = await loadDataset(file, 1);
  assert.equal(table.task, 'multiclass');
  assert.deepEqual(table.encoding.classes, ['2', '9', '10']);
  assert.deepEqual(Array.from(table.y), [2, 1, 0, 2, 1]);
  const asRegression = await loadDataset(file, 1, 'regression');
  assert.equal(asRegression.encoding.classes, null);
  assert.deepEqual(Array.from(asRegression.y), [10, 9, 2, 10, 9]);
});

test('csv: two text labels → binary, class order sorted; whitespace and a BOM are tolerated', async () => {
  const table = await loadDataset(csv('\uFEFFx, label\n1, yes\n2 ,no\n3,yes\n'), 1);
  assert.equal(table.task, 'binary');
  assert.deepEqual(table.encoding.classes, ['no', 'yes']);
  assert.deepEqual(Array.from(table.y), [1, 0, 1]);
  assert.deepEqual(Array.from(table.x), [1, 2, 3]);
});

test('csv: rows with every cell empty (blank lines, ",,") are not data', async () => {
  const table = await loadDataset(csv('a,b,label\n1,2,x\n,,\n   \n3,4,y\n,,\n'), 1);
  assert.equal(table.nRows, 2);
  await assertDataError(csv('a,b,label\n1,2,x\n,,\n3,q,y\n5,6,x\n7,8,y\n'), [/row 3 \(line 4\), column "b": non-numeric value "q"/]);
});

test('csv errors: missing file, empty file, header without rows', async () => {
  const missing = missingFile('nope.csv');
  await assertDataError({ kind: 'csv', path: missing, target: 'y' }, [/^file not found: /, /nope\.csv/]);
  await assertDataError(csv(''), [/is empty/]);
  await assertDataError(csv('\n  \n'), [/is empty/]);
  await assertDataError(csv('a,label\n'), [/header row but no data rows/]);
});

test('csv error: missing target column lists the columns', async () => {
  await assertDataError(csv('a,b,c\n1,2,3\n', 'label'), [/no target column "label"/, /"a", "b", "c"/]);
});

test('csv error: ragged row names the row (header = row 1)', async () => {
  await assertDataError(csv('a,b,label\n1,2,x\n3,4,y\n5,6\n'), [/row 4: 2 cells, but the header has 3 columns/]);
  await assertDataError(csv('a,b,label\n1,2,x,9\n3,4,y\n'), [/row 2: 4 cells/]);
});

test('csv error: a blank line in the middle → the row number and the line number', async () => {
  await assertDataError(csv('a,label\n1,x\n\n2,y\n3,?\n4,x\nz,y\n'), [/row 6 \(line 7\), column "a": non-numeric value "z"/]);
});

test('csv error: a non-numeric cell in a mostly numeric column names row and column', async () => {
  const rows = Array.from({ length: 20 }, (_, i) => `${i === 13 ? '12.5kg' : i * 1.5},${i % 2 ? 'a' : 'b'}`);
  await assertDataError(csv(['amount,label', ...rows].join('\n')), [
    /row 15, column "amount": non-numeric value "12.5kg" in a numeric column/,
  ]);
  // Reported, not silently turned into a categorical column; further bad cells are counted.
  const twoBad = rows.map((row, i) => (i === 16 ? row.replace(/^[^,]*/, '"1,5"') : row));
  await assertDataError(csv(['amount,label', ...twoBad].join('\n')), [
    /row 15, column "amount"/,
    /18 of 20 cells are numbers/,
    /\(and 1 more bad cell\)$/,
  ]);
});

test('csv error: a missing-value marker such as NA is named as a missing value', async () => {
  const rows = ['1,a', '2,b', 'NA,a', '4,b', 'NA,a'];
  await assertDataError(csv(['amount,label', ...rows].join('\n')), [
    /row 4, column "amount": missing value \("NA"\)/,
    /and 1 more bad cell/,
  ]);
});

test('csv error: an empty cell in any column names row and column', async () => {
  await assertDataError(csv('a,b,label\n1,x,p\n2,,q\n3,y,p\n'), [/row 3, column "b": missing value/]);
  await assertDataError(csv('a,b,label\n1,x,p\n2,y,q\n,y,p\n'), [/row 4, column "a": missing value/]);
  await assertDataError(csv('a,label\n1,p\n2,\n3,q\n'), [/row 3, column "label": missing value/]);
});

test('csv error: a single-class target', async () => {
  await assertDataError(csv('a,label\n1,spam\n2,spam\n'), [/target column "label" has a single class \("spam"\)/]);
  await assertDataError(csv('a,label\n1,1\n2,1\n'), [/single class \("1"\)/]);
});

test('csv error: a task that cannot apply to the target', async () => {
  await assertDataError(csv('a,label\n1,x\n2,y\n3,z\n'), [/has 3 classes/, /binary task needs exactly 2/], 'binary');
  await assertDataError(csv('a,label\n1,x\n2,y\n3,x\n'), [/holds text \("x" in row 2\)/, /regression task needs numbers/], 'regression');
  await assertDataError(csv('a,label\n1,0.5\n2,1.25\n3,2\n'), [/fractional numbers \("0.5" in row 2\)/], 'multiclass');
});

test('csv: fewer rows than folds is reported when the folds are cut', async () => {
  const table = await loadDataset(csv('a,label\n1,x\n2,y\n3,x\n'), 1);
  assert.throws(
    () => validationSplits(table.y, Int32Array.from(table.y.keys()), { kind: 'kfold', k: 5, stratified: true }, table.task, 1),
    (error: unknown) =>
      error instanceof DataError && /5-fold cross-validation needs at least 5 training rows, but there are only 3/.test(error.message),
  );
});

test('csv error: duplicate or unnamed header columns, malformed quoting', async () => {
  await assertDataError(csv('a,a,label\n1,2,x\n'), [/row 1 \(header\): the column name "a" appears twice/]);
  await assertDataError(csv('a,,label\n1,2,x\n'), [/row 1 \(header\), column 2: the column has no name/]);
  await assertDataError(csv('a,label\n1,"x\n'), [/malformed CSV/]);
});
