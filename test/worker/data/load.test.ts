import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatasetSpec } from '../../../worker/contract/spec.js';
import { datasetKey, loadDataset } from '../../../worker/data/load.js';
import { assertDataError, fraud } from './fixtures.js';

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
  // Roles, imputation and maxCategories change the table.
  assert.notEqual(datasetKey(file, 1), datasetKey({ ...file, columns: { drop: ['a'] } }, 1));
  assert.notEqual(datasetKey(file, 1), datasetKey({ ...file, impute: { numeric: 'median' } }, 1));
  assert.notEqual(datasetKey(file, 1), datasetKey({ ...file, maxCategories: 10 }, 1));
});
