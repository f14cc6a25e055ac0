import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset } from '../../../worker/data/load.js';
import { rocAuc } from '../../../worker/training/metrics.js';
import { fraud } from './fixtures.js';

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
