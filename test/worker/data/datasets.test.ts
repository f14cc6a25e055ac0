import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, datasetKey, encodeRows, inferTask, loadDataset, readCsvRecords } from '../../../worker/data/datasets.js';
import { rocAuc } from '../../../worker/training/metrics.js';
import { validationSplits } from '../../../worker/data/splits.js';
import type { DatasetSpec, TaskKind } from '../../../worker/contract/spec.js';

const dir = mkdtempSync(join(tmpdir(), 'foldwise-datasets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fixtureCount = 0;
/** Writes a CSV fixture and returns its dataset reference. */
function csv(text: string, target = 'label'): Extract<DatasetSpec, { kind: 'csv' }> {
  const path = join(dir, `fixture-${++fixtureCount}.csv`);
  writeFileSync(path, text);
  return { kind: 'csv', path, target };
}

/** Asserts that loading fails with a DataError whose message matches every pattern. */
async function assertDataError(dataset: DatasetSpec, patterns: readonly RegExp[], task?: TaskKind): Promise<void> {
  await assert.rejects(loadDataset(dataset, 1, task), (error: unknown) => {
    assert.ok(error instanceof DataError, `expected a DataError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

const fraud = (overrides: Partial<Extract<DatasetSpec, { kind: 'fraud' }>> = {}): DatasetSpec => ({
  kind: 'fraud',
  rows: 20_000,
  features: 30,
  positiveRate: 0.03,
  ...overrides,
});

// ───────────────────────────── generators ─────────────────────────────

test('fraud: default shape, binary, positive rate within ±0.5 pp of 3%', async () => {
  const table = await loadDataset(fraud(), 42);
  assert.equal(table.nRows, 20_000);
  assert.equal(table.nFeatures, 30);
  assert.equal(table.x.length, 20_000 * 30);
  assert.equal(table.task, 'binary');
  assert.deepEqual(table.encoding.classes, ['0', '1']);
  assert.equal(table.encoding.featureNames.length, 30);
  const rate = table.y.reduce((sum, label) => sum + label, 0) / table.nRows;
  assert.ok(Math.abs(rate - 0.03) <= 0.005, `positive rate ${rate}`);
  assert.ok(table.x.every(Number.isFinite));
});

test('fraud: deterministic from the seed', async () => {
  const [a, b, c] = await Promise.all([
    loadDataset(fraud({ rows: 500 }), 3),
    loadDataset(fraud({ rows: 500 }), 3),
    loadDataset(fraud({ rows: 500 }), 4),
  ]);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.x, c.x);
  assert.notDeepEqual(a.y, c.y);
});

test('fraud: the boundary is not linear (a mean-difference linear score ranks poorly)', async () => {
  const table = await loadDataset(fraud(), 42);
  const d = table.nFeatures;
  const positiveMean = new Float64Array(d);
  const negativeMean = new Float64Array(d);
  for (let r = 0; r < table.nRows; r++) {
    const mean = table.y[r] === 1 ? positiveMean : negativeMean;
    for (let f = 0; f < d; f++) mean[f]! += table.x[r * d + f]!;
  }
  const positives = table.y.reduce((sum, label) => sum + label, 0);
  // Features are iid N(0, 1), so the class-mean difference is (close to) the best linear direction.
  const direction = Array.from(positiveMean, (sum, f) => sum / positives - negativeMean[f]! / (table.nRows - positives));
  const linearScore = Float64Array.from({ length: table.nRows }, (_, r) => direction.reduce((s, w, f) => s + w * table.x[r * d + f]!, 0));
  const auc = rocAuc(table.y, linearScore);
  assert.ok(auc > 0.55 && auc < 0.8, `linear AUC ${auc}`); // an MLP reaches ≈ 0.9 on this data
});

test('fraud: works with very few features and rows', async () => {
  const table = await loadDataset(fraud({ rows: 50, features: 2, positiveRate: 0.1 }), 1);
  assert.equal(table.nFeatures, 2);
  assert.equal(
    table.y.reduce((sum, label) => sum + label, 0),
    5,
  );
});

test('sine: one feature in [-3, 3], y ≈ sin(x) with the given noise, regression', async () => {
  const table = await loadDataset({ kind: 'sine', rows: 2000, noise: 0.1 }, 5);
  assert.equal(table.task, 'regression');
  assert.equal(table.nFeatures, 1);
  assert.deepEqual(table.encoding.featureNames, ['x']);
  assert.equal(table.encoding.classes, null);
  assert.ok(table.x.every((x) => x >= -3 && x <= 3));
  const residuals = Array.from(table.y, (y, i) => y - Math.sin(table.x[i]!));
  const sd = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / residuals.length);
  assert.ok(Math.abs(sd - 0.1) < 0.01, `noise sd ${sd}`);
  assert.deepEqual(await loadDataset({ kind: 'sine', rows: 2000, noise: 0.1 }, 5), table);
});

test('iris: 150 rows, 4 features, 3 sorted classes of 50', async () => {
  const table = await loadDataset({ kind: 'iris' }, 0);
  assert.equal(table.nRows, 150);
  assert.equal(table.nFeatures, 4);
  assert.equal(table.task, 'multiclass');
  assert.deepEqual(table.encoding.classes, ['setosa', 'versicolor', 'virginica']);
  assert.deepEqual(
    [0, 1, 2].map((k) => table.y.filter((label) => label === k).length),
    [50, 50, 50],
  );
  assert.deepEqual(Array.from(table.x.slice(0, 4)), [5.1, 3.5, 1.4, 0.2].map(Math.fround));
});

test('a built-in dataset refuses a task that is not its own', async () => {
  await assertDataError({ kind: 'iris' }, [/iris dataset is a multiclass task/, /"binary"/], 'binary');
  await assertDataError({ kind: 'sine', rows: 20, noise: 0 }, [/regression/], 'multiclass');
  assert.equal((await loadDataset({ kind: 'iris' }, 0, 'multiclass')).task, 'multiclass');
});

test('datasetKey: generators depend on seed and settings; a CSV file does not depend on the seed', () => {
  assert.equal(datasetKey(fraud(), 1), datasetKey(fraud(), 1));
  assert.notEqual(datasetKey(fraud(), 1), datasetKey(fraud(), 2));
  assert.notEqual(datasetKey(fraud(), 1), datasetKey(fraud({ rows: 100 }), 1));
  const file: DatasetSpec = { kind: 'csv', path: '/data/a.csv', target: 'y' };
  assert.equal(datasetKey(file, 1), datasetKey(file, 2));
  assert.notEqual(datasetKey(file, 1), datasetKey({ ...file, target: 'z' }, 1));
  assert.notEqual(datasetKey(file, 1, 'binary'), datasetKey(file, 1, 'multiclass'));
});

// ───────────────────────────── task inference ─────────────────────────────

test('inferTask: text, booleans, integers and reals', () => {
  assert.equal(inferTask(['yes', 'no', 'yes']), 'binary');
  assert.equal(inferTask(['true', 'false']), 'binary');
  assert.equal(inferTask(['a', 'b', 'c']), 'multiclass');
  assert.equal(inferTask(['0', '1', '1']), 'binary');
  assert.equal(inferTask(['1', '2', '3', '2']), 'multiclass');
  assert.equal(inferTask(Array.from({ length: 20 }, (_, i) => String(i))), 'multiclass');
  assert.equal(inferTask(Array.from({ length: 21 }, (_, i) => String(i))), 'regression');
  assert.equal(inferTask(['0.5', '1', '2']), 'regression');
  assert.equal(inferTask(['1.0', '2.0', '3.0']), 'multiclass'); // integral values written as reals
});

// ───────────────────────────── CSV ─────────────────────────────

const PETS = ['size,colour,weight,label', '1.5,red,10,cat', '2,blue,12,dog', '0.5,green,3,cat', '3,red,20,bird', ''].join('\n');

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

test('encodeRows matches the training encoding; unknown category → zeros', async () => {
  const table = await loadDataset(csv(PETS), 1);
  const { rows } = await readCsvRecords(join(dir, `fixture-${fixtureCount}.csv`));
  assert.deepEqual(encodeRows(table.encoding, rows), table.x);
  // Column order in the input does not matter, extra columns (the label) are ignored.
  const unseen = encodeRows(table.encoding, [{ weight: '7', colour: 'purple', size: '1', label: 'cat' }]);
  assert.deepEqual(Array.from(unseen), [1, 0, 0, 0, 7]);
});

test('encodeRows: missing column, empty cell and non-numeric cell → DataError naming row and column', async () => {
  const table = await loadDataset(csv(PETS), 1);
  const good = { size: '1', colour: 'red', weight: '2' };
  assert.throws(
    () => encodeRows(table.encoding, [good, { size: '1', colour: 'red' }], { source: 'new.csv' }),
    (error: unknown) => error instanceof DataError && /new\.csv, row 3: column "weight" is missing/.test(error.message),
  );
  assert.throws(() => encodeRows(table.encoding, [good, good, { ...good, size: 'big' }]), /row 4, column "size": non-numeric value "big"/);
  assert.throws(() => encodeRows(table.encoding, [{ ...good, weight: ' ' }]), /row 2, column "weight": missing value/);
  assert.throws(() => encodeRows(table.encoding, [{ ...good, colour: '' }]), /row 2, column "colour": missing value/);
});

test('csv errors: missing file, empty file, header without rows', async () => {
  const missing = join(dir, 'nope.csv');
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

test('csv: a text column with too many categories is refused as a likely identifier', async () => {
  const rows = Array.from({ length: 300 }, (_, i) => `id-${i},${i % 2}`);
  await assertDataError(csv(['id,label', ...rows].join('\n')), [/column "id": 300 distinct text values/]);
});
