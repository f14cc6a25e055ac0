import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCsvRecords } from '../../../worker/data/csv.js';
import { encodeRows, inferTask } from '../../../worker/data/encode.js';
import { loadDataset } from '../../../worker/data/load.js';
import { DataError } from '../../../worker/data/table.js';
import { csv, PETS } from './fixtures.js';

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

// ───────────────────────────── encoding rows ─────────────────────────────

test('encodeRows matches the training encoding; unknown category → zeros', async () => {
  const file = csv(PETS);
  const table = await loadDataset(file, 1);
  const { rows } = await readCsvRecords(file.path);
  assert.deepEqual(encodeRows(table.encoding, rows), { x: table.x, unseen: [] });
  // Column order in the input does not matter, extra columns (the label) are ignored.
  const { x, unseen } = encodeRows(table.encoding, [
    { weight: '7', colour: 'purple', size: '1', label: 'cat' },
    { weight: '7', colour: 'pink', size: '1' },
    { weight: '7', colour: 'purple', size: '1' },
  ]);
  assert.deepEqual(Array.from(x.subarray(0, 5)), [1, 0, 0, 0, 7]);
  assert.deepEqual(unseen, [{ column: 'colour', count: 3, examples: ['purple', 'pink'] }]);
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
