import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitStandardizer, gather, gatherStandardized } from '../../../worker/data/preprocess.js';

// 3 rows × 2 features; row 2 is an outlier that would move both means if it leaked into the fit.
const x = Float32Array.of(
  1,
  10, //
  3,
  10,
  100,
  50,
);

test('fitStandardizer uses the given rows only; a constant feature gets std 1', () => {
  const s = fitStandardizer(x, 2, Int32Array.of(0, 1));
  // rows 0,1: feature 0 = {1, 3} → mean 2, population std 1; feature 1 = {10, 10} → mean 10, std 0 → 1.
  // (With row 2 the means would be 34.67 and 23.33.)
  assert.deepEqual(s, { mean: [2, 10], std: [1, 1] });
});

test('gatherStandardized applies a fitted standardizer to other rows, contiguously', () => {
  const s = fitStandardizer(x, 2, Int32Array.of(0, 1));
  // row 2: (100 − 2)/1 = 98, (50 − 10)/1 = 40; row 0: (1 − 2)/1 = −1, 0
  assert.deepEqual(Array.from(gatherStandardized(x, 2, Int32Array.of(2, 0), s)), [98, 40, -1, 0]);
});

test('standardised training rows have mean 0 and std 1', () => {
  const rows = Int32Array.of(0, 1, 2);
  const z = gatherStandardized(x, 2, rows, fitStandardizer(x, 2, rows));
  for (let f = 0; f < 2; f++) {
    const column = [z[f]!, z[2 + f]!, z[4 + f]!];
    const mean = column.reduce((a, b) => a + b) / 3;
    const variance = column.reduce((a, b) => a + (b - mean) ** 2, 0) / 3;
    assert.ok(Math.abs(mean) < 1e-6 && Math.abs(variance - 1) < 1e-5, `feature ${f}: mean ${mean}, variance ${variance}`);
  }
});

test('gather picks values in the given order', () => {
  assert.deepEqual(Array.from(gather(Float32Array.of(5, 6, 7), Int32Array.of(2, 0))), [7, 5]);
});

test('fitStandardizer refuses zero rows; gatherStandardized a mismatched width', () => {
  assert.throws(() => fitStandardizer(x, 2, new Int32Array(0)), RangeError);
  assert.throws(() => gatherStandardized(x, 2, Int32Array.of(0), { mean: [0], std: [1] }), RangeError);
});
