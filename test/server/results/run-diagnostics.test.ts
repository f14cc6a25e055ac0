import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  calibrationBins,
  multiclassConfusion,
  operatingPoint,
  pooled,
  precisionOnGrid,
  prCurves,
  rocCurves,
  rocOnGrid,
  scatterSample,
  thresholdFor,
  thresholdStops,
  type Labelled,
} from '../../../server/results/run-diagnostics.js';
import { confusionAt } from '../../../worker/training/metrics.js';

const rows = (targets: number[], predictions: number[]): Labelled => ({
  targets: Float32Array.from(targets),
  predictions: Float32Array.from(predictions),
});

function assertClose(actual: readonly (number | null)[], expected: readonly number[], message?: string): void {
  assert.equal(actual.length, expected.length, message);
  actual.forEach((value, i) => {
    assert.ok(value !== null && Math.abs(value - expected[i]!) < 1e-6, `${message ?? ''} [${i}]: ${value}`);
  });
}

// Scores from high to low: + + − + − −. The ROC passes (0,0) (0,⅓) (0,⅔) (⅓,⅔) (⅓,1) (⅔,1) (1,1); AUC 8/9.
const SIX = rows([1, 1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.55, 0.4]);

test('ROC on a grid, 6 points by hand: linear between cuts, the top of a vertical rise at its FPR; AUC exact', () => {
  assertClose(rocOnGrid(SIX, [0, 1 / 6, 1 / 3, 0.5, 1])!, [2 / 3, 2 / 3, 1, 1, 1]);
  const set = rocCurves([SIX], null, [0, 1 / 6, 1 / 3, 0.5, 1]);
  assert.ok(Math.abs(set.areas[0]! - 8 / 9) < 1e-12);
  assert.equal(set.test, null);
});

test('PR on a grid, 6 points by hand: the precision of the first cut reaching each recall; its area is the average precision', () => {
  // Cuts: recall ⅓ precision 1, ⅔ 1, ⅔ ⅔, 1 ¾, 1 ⅗, 1 ½.
  assertClose(precisionOnGrid(SIX, [0, 0.5, 2 / 3, 0.7, 1])!, [1, 1, 1, 0.75, 0.75]);
  const set = prCurves([SIX], SIX, [0, 0.5, 1]);
  assert.ok(Math.abs(set.areas[0]! - 11 / 12) < 1e-12, 'AP = ⅓·1 + ⅓·1 + ⅓·¾');
  assert.deepEqual(set.test, set.folds[0], 'the test split drawn the same way');
  assert.equal(set.testArea, set.areas[0]);
});

test('operating point: p > t is positive, as the frozen threshold and predict decide', () => {
  const point = operatingPoint(SIX, 0.65);
  assert.deepEqual(point.confusion, { tp: 2, fp: 1, tn: 2, fn: 1 });
  assertClose([point.fpr, point.tpr, point.precision, point.recall], [1 / 3, 2 / 3, 2 / 3, 2 / 3]);
  // Scores are float32: the one stored as 0.6 is a little above 0.6 itself.
  assert.deepEqual(operatingPoint(SIX, Math.fround(0.6)).confusion, { tp: 2, fp: 1, tn: 2, fn: 1 }, 'a score equal to t stays negative');
});

test('tied scores: one cut takes them together, the ROC crosses diagonally, precision is flat', () => {
  const tied = rows([1, 0, 1, 0], [0.7, 0.7, 0.3, 0.3]);
  assertClose(rocOnGrid(tied, [0, 0.25, 0.5, 1])!, [0, 0.25, 0.5, 1]);
  assertClose(precisionOnGrid(tied, [0, 0.5, 1])!, [0.5, 0.5, 0.5]);
  assert.equal(rocCurves([tied], null).areas[0], 0.5);
});

test('a fold with a single positive: its curves step once; a fold without one has no curve and stays out of the band', () => {
  const single = rows([0, 0, 1, 0], [0.1, 0.4, 0.35, 0.8]);
  assertClose(rocOnGrid(single, [0, 0.5, 2 / 3, 1])!, [0, 0, 1, 1]);
  assertClose(precisionOnGrid(single, [0, 0.5, 1])!, [0, 1 / 3, 1 / 3], 'no positive above the top negative: precision 0 at recall 0');
  const none = rows([0, 0, 0], [0.2, 0.5, 0.9]);
  const set = rocCurves([single, none, SIX], null, [0, 0.5, 1]);
  assert.equal(set.folds[1], null);
  assert.equal(set.areas[1], null);
  assert.ok(Math.abs(set.areas[0]! - 1 / 3) < 1e-12);
  // The band over the two folds that have a curve: single [0, 0, 1], six [⅔, 1, 1].
  assertClose(set.mean, [1 / 3, 0.5, 1]);
  assertClose(set.min, [0, 0, 1]);
  assertClose(set.max, [2 / 3, 1, 1]);
  assert.deepEqual(rocCurves([none], null, [0, 1]).mean, [null, null], 'no fold with a curve: no band');
});

test('all-equal scores: the diagonal, precision the positive share, one bin, and the slider has the two cuts', () => {
  const flat = rows([1, 0, 0, 1, 0], [0.5, 0.5, 0.5, 0.5, 0.5]);
  assertClose(rocOnGrid(flat, [0, 0.5, 1])!, [0, 0.5, 1]);
  assertClose(precisionOnGrid(flat, [0, 0.5, 1])!, [0.4, 0.4, 0.4]);
  const bins = calibrationBins(flat);
  assert.deepEqual(
    bins.map((bin) => bin.count),
    [0, 0, 0, 0, 0, 5, 0, 0, 0, 0],
  );
  assert.equal(bins[5]!.meanPredicted, 0.5);
  assert.ok(Math.abs(bins[5]!.observedRate! - 0.4) < 1e-12);
  assert.equal(bins[0]!.meanPredicted, null);
  const stops = thresholdStops(flat, 0.5)!;
  assert.deepEqual(
    stops.rows.map((row) => [row.threshold, row.tp, row.fp, row.tn, row.fn]),
    [
      [0, 2, 3, 0, 0],
      [0.5, 0, 0, 3, 2],
    ],
  );
  assert.equal(stops.start, 1, 'the slider starts at 0.5: nothing above it');
  assert.deepEqual([stops.rows[0]!.precision, stops.rows[0]!.recall], [0.4, 1]);
  assert.ok(Math.abs(stops.rows[0]!.f1 - 4 / 7) < 1e-12, 'F1 = 2·2 / (2·2 + 3 + 0)');
});

test('calibration: equal-width bins, a probability of 1 in the last, 0 in the first, each bin its observed positive rate', () => {
  const bins = calibrationBins(rows([1, 0, 1, 1, 0], [1, 0, 0.95, 0.12, 0.18]), 10);
  assert.deepEqual(
    bins.map((bin) => bin.count),
    [1, 2, 0, 0, 0, 0, 0, 0, 0, 2],
  );
  assert.equal(bins[9]!.observedRate, 1);
  assert.ok(Math.abs(bins[9]!.meanPredicted! - 0.975) < 1e-6);
  assert.equal(bins[1]!.observedRate, 0.5);
  assert.deepEqual([bins[1]!.lower, bins[1]!.upper], [0.1, 0.2]);
});

test('slider: a few hundred cuts evenly spaced in rank, lowest threshold first, the operating threshold added, counts exact', () => {
  const n = 1000;
  const targets = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const scores = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0.3 : 0) + (i * 0.7) / n);
  const data = rows(targets, scores);
  // Not a float32 value, so not one of the cuts' thresholds (float32 midpoints, threshold.ts).
  const operating = 0.4321;
  const stops = thresholdStops(data, operating, 300)!;
  assert.equal(stops.rows.length, 301, '300 cuts of the 1001 and the operating threshold');
  assert.equal(stops.rows[stops.start]!.threshold, operating);
  for (let i = 1; i < stops.rows.length; i++) assert.ok(stops.rows[i]!.threshold > stops.rows[i - 1]!.threshold);
  assert.equal(stops.rows[0]!.fn, 0, 'from every row positive');
  assert.equal(stops.rows.at(-1)!.tp + stops.rows.at(-1)!.fp, 0, 'to none');
  for (const row of stops.rows) {
    const { tp, fp, tn, fn } = confusionAt(data.targets, data.predictions, row.threshold);
    assert.deepEqual([row.tp, row.fp, row.tn, row.fn], [tp, fp, tn, fn]);
  }
  // A threshold chosen on these rows is one of their cuts: no stop added for it.
  const chosen = thresholdFor(data, { objective: 'f1' })!;
  const atChosen = thresholdStops(data, chosen, 2000)!;
  assert.equal(atChosen.rows.length, 1001);
  assert.equal(atChosen.rows[atChosen.start]!.threshold, chosen);
  assert.equal(thresholdStops(rows([0, 0], [0.1, 0.2]), 0.5), null, 'one class: no cut');
  assert.equal(thresholdFor(rows([1, 1], [0.1, 0.2]), { objective: 'f1' }), null);
});

test('multiclass confusion: actual by row, the most probable class by column (ties: the first)', () => {
  const data = rows(
    [0, 1, 2, 2, 1],
    [
      ...[0.8, 0.1, 0.1], // 0 → 0
      ...[0.2, 0.7, 0.1], // 1 → 1
      ...[0.1, 0.6, 0.3], // 2 → 1
      ...[0.4, 0.2, 0.4], // 2 → 0 (a tie: the first class)
      ...[0.1, 0.2, 0.7], // 1 → 2
    ],
  );
  assert.deepEqual(multiclassConfusion(data, 3), [
    [1, 0, 0],
    [0, 1, 1],
    [1, 1, 0],
  ]);
});

test('scatter: every row under the limit, else evenly spaced rows; the pooled folds in fold order', () => {
  const few = scatterSample(rows([1, 2, 3], [1.5, 2, 2.5]));
  assert.deepEqual(few, { actual: [1, 2, 3], predicted: [1.5, 2, 2.5], total: 3 });
  const many = Array.from({ length: 5000 }, (_, i) => i);
  const sample = scatterSample(rows(many, many), 2000);
  assert.equal(sample.actual.length, 2000);
  assert.equal(sample.total, 5000);
  assert.deepEqual(sample.actual.slice(0, 3), [0, 2, 5]);
  const joined = pooled([rows([1, 0], [0.9, 0.1]), rows([1], [0.6])]);
  assert.deepEqual([...joined.targets], [1, 0, 1]);
  assertClose([...joined.predictions], [0.9, 0.1, 0.6]);
});
