import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  averagePrecision,
  binaryAccuracy,
  binaryFoldMetrics,
  brierScore,
  confusionAt,
  decisionMetrics,
  binaryLogLoss,
  categoricalLogLoss,
  evaluate,
  mae,
  mse,
  multiclassAccuracy,
  r2,
  rmse,
  rocAuc,
} from '../../../worker/training/metrics.js';
import { TASK_METRICS } from '../../../worker/contract/vocabulary.js';

function assertClose(actual: number, expected: number, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `expected ${expected}, got ${actual}`);
}

test('rocAuc: ties get the average rank (Mann–Whitney)', () => {
  // Ascending: 0.1(neg) rank 1, 0.2(neg) rank 2, 0.4 ×3 (pos, neg, pos) ranks 3,4,5 → 4 each, 0.8(pos) rank 6.
  // Positive rank sum = 4 + 4 + 6 = 14; U = 14 − 3·4/2 = 8; AUC = 8 / (3·3) = 8/9.
  // Pairwise check: pos 0.4 beats 0.1 and 0.2, ties 0.4 → 2.5; pos 0.8 → 3; pos 0.4 → 2.5; 8/9.
  assertClose(rocAuc([0, 1, 0, 1, 1, 0], [0.1, 0.4, 0.4, 0.8, 0.4, 0.2]), 8 / 9);
});

test('rocAuc: perfect, inverted and all-tied scores', () => {
  assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.9]), 1);
  assert.equal(rocAuc([0, 0, 1, 1], [0.9, 0.8, 0.3, 0.1]), 0);
  assert.equal(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]), 0.5); // every pair ties: ½
});

test('rocAuc: NaN with one class present or a non-finite score', () => {
  assert.ok(Number.isNaN(rocAuc([1, 1, 1], [0.1, 0.2, 0.3])));
  assert.ok(Number.isNaN(rocAuc([0, 0], [0.1, 0.2])));
  assert.ok(Number.isNaN(rocAuc([0, 1], [0.1, Number.NaN])));
});

test('averagePrecision: the scikit-learn documentation example', () => {
  // Descending: 0.8 pos → R=1/2, P=1/1 → +1/2·1; 0.4 neg → R unchanged → +0;
  // 0.35 pos → R=1, P=2/3 → +1/2·2/3 = 1/3; 0.1 neg → +0. AP = 1/2 + 1/3 = 5/6 (sklearn: 0.8333).
  assertClose(averagePrecision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 5 / 6);
});

test('averagePrecision: tied scores enter as one threshold', () => {
  // Thresholds 0.9 → tp 1 of 1 seen: R=1/3, P=1 → +1/3.
  // 0.5 (three rows, one positive) → tp 2 of 4 seen: R=2/3, P=1/2 → +1/3·1/2 = 1/6.
  // 0.1 → tp 3 of 5: R=1, P=3/5 → +1/3·3/5 = 1/5.  AP = 1/3 + 1/6 + 1/5 = 0.7.
  // (Treating the tie row by row would give a different, order-dependent value.)
  assertClose(averagePrecision([1, 0, 1, 0, 1], [0.9, 0.5, 0.5, 0.5, 0.1]), 0.7);
  assertClose(averagePrecision([1, 1, 0, 0, 1], [0.9, 0.5, 0.5, 0.5, 0.1]), 0.7); // order within the tie is irrelevant
});

test('averagePrecision: perfect ranking is 1, no positive is NaN', () => {
  assert.equal(averagePrecision([0, 1, 1], [0.1, 0.8, 0.9]), 1);
  assert.equal(averagePrecision([1, 1], [0.2, 0.3]), 1);
  assert.ok(Number.isNaN(averagePrecision([0, 0], [0.2, 0.3])));
});

test('rocAuc and averagePrecision equal their definitions on random scores with many ties', () => {
  let state = 12345;
  const random = () => (state = (state * 16807) % 2147483647) / 2147483647;
  for (let trial = 0; trial < 50; trial++) {
    const n = 2 + Math.floor(random() * 60);
    const y = Array.from({ length: n }, (_, i) => (i < 2 ? i : random() < 0.3 ? 1 : 0));
    const score = Array.from({ length: n }, () => Math.floor(random() * (trial % 2 ? 4 : 1000)) / 10);
    // AUC: over every (positive, negative) pair, 1 when the positive scores higher, ½ on a tie.
    let pairs = 0;
    let wins = 0;
    // AP: at each distinct threshold from high to low, the recall gained times the precision there.
    let ap = 0;
    let previousRecall = 0;
    const positives = y.filter((label) => label === 1).length;
    for (const threshold of [...new Set(score)].sort((a, b) => b - a)) {
      const above = y.filter((_, i) => score[i]! >= threshold);
      const truePositives = above.filter((label) => label === 1).length;
      ap += (truePositives / positives - previousRecall) * (truePositives / above.length);
      previousRecall = truePositives / positives;
    }
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (y[i] === 1 && y[j] === 0) {
          pairs++;
          wins += score[i]! > score[j]! ? 1 : score[i] === score[j] ? 0.5 : 0;
        }
    assertClose(rocAuc(y, score), wins / pairs, 1e-12);
    assertClose(averagePrecision(y, score), ap, 1e-12);
  }
});

test('binaryLogLoss: mean cross-entropy, probabilities clipped to [1e-7, 1 − 1e-7]', () => {
  // −(ln 0.8 + ln(1 − 0.4)) / 2 = (0.2231435513 + 0.5108256238) / 2 = 0.3669845876
  assertClose(binaryLogLoss([1, 0], [0.8, 0.4]), 0.36698458755, 1e-10);
  // A confident mistake is clipped: −ln(1e-7) = 16.118095651
  assertClose(binaryLogLoss([1], [0]), 16.11809565095832, 1e-9);
  assertClose(binaryLogLoss([0], [1]), 16.11809565095832, 1e-6); // 1 − (1 − 1e-7) loses a few digits in float64
  assertClose(binaryLogLoss([1], [1]), -Math.log(1 - 1e-7), 1e-15);
});

test('categoricalLogLoss: −mean log probability of the true class', () => {
  // rows [0.7, 0.2, 0.1] (true 0) and [0.1, 0.3, 0.6] (true 2): −(ln 0.7 + ln 0.6)/2 = (0.3566749439 + 0.5108256238)/2
  assertClose(categoricalLogLoss([0, 2], [0.7, 0.2, 0.1, 0.1, 0.3, 0.6], 3), 0.43375028385, 1e-10);
  assertClose(categoricalLogLoss([1], [1, 0], 2), -Math.log(1e-7), 1e-9);
});

test('binaryAccuracy: p > 0.5 is positive (0.5 itself is negative, as in Keras)', () => {
  // predictions [1, 0, 0, 0] vs truth [1, 0, 1, 0] → 3 of 4
  assert.equal(binaryAccuracy([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.2]), 0.75);
});

test('multiclassAccuracy: argmax, a tie goes to the first class', () => {
  // row 0 argmax 0 (right), row 1 tie 0/1 → 0 (truth 1, wrong), row 2 argmax 2 (right) → 2/3
  assertClose(multiclassAccuracy([0, 1, 2], [0.5, 0.3, 0.2, 0.4, 0.4, 0.2, 0.1, 0.2, 0.7], 3), 2 / 3);
});

test('regression metrics on a small example', () => {
  const yTrue = [1, 2, 3, 4];
  const yPred = [1.5, 2, 2, 5];
  // errors 0.5, 0, −1, 1 → squares 0.25, 0, 1, 1 (sum 2.25), absolute sum 2.5
  assertClose(mse(yTrue, yPred), 2.25 / 4);
  assertClose(rmse(yTrue, yPred), 0.75);
  assertClose(mae(yTrue, yPred), 2.5 / 4);
  // mean 2.5 → SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5; r2 = 1 − 2.25/5 = 0.55
  assertClose(r2(yTrue, yPred), 0.55);
});

test('r2 is NaN for a constant target', () => {
  assert.ok(Number.isNaN(r2([2, 2, 2], [1, 2, 3])));
});

test('evaluate returns exactly TASK_METRICS[task], in order', () => {
  const binary = evaluate('binary', Float32Array.of(0, 0, 1, 1), Float32Array.of(0.1, 0.4, 0.35, 0.8), 2);
  assert.deepEqual(Object.keys(binary), [...TASK_METRICS.binary]);
  assertClose(binary.auc!, 0.75); // pairs: 0.35 beats 0.1 only, 0.8 beats both → 3/4
  assertClose(binary.pr_auc!, 5 / 6);
  assertClose(binary.accuracy!, 0.75);

  const multiclass = evaluate('multiclass', Float32Array.of(0, 2), Float32Array.of(0.7, 0.2, 0.1, 0.1, 0.3, 0.6), 3);
  assert.deepEqual(Object.keys(multiclass), [...TASK_METRICS.multiclass]);
  assert.equal(multiclass.accuracy, 1);

  const regression = evaluate('regression', Float32Array.of(1, 2, 3, 4), Float32Array.of(1.5, 2, 2, 5), 0);
  assert.deepEqual(Object.keys(regression), [...TASK_METRICS.regression]);
  assertClose(regression.loss!, 0.5625);
  assertClose(regression.r2!, 0.55);
});

test('evaluate: a diverged model (NaN predictions) scores NaN, not something flattering', () => {
  const metrics = evaluate('binary', Float32Array.of(0, 1), Float32Array.of(Number.NaN, Number.NaN), 2);
  for (const name of TASK_METRICS.binary) assert.ok(Number.isNaN(metrics[name]), `${name} = ${metrics[name]}`);
});

test('metrics reject mismatched lengths and non-0/1 binary labels', () => {
  assert.throws(() => rocAuc([0, 1], [0.5]), RangeError);
  assert.throws(() => binaryLogLoss([0, 2], [0.5, 0.5]), /0 or 1/);
  assert.throws(() => categoricalLogLoss([3], [0.5, 0.5], 2), /class index 3/);
});

test("confusionAt and decisionMetrics at 0.5: scikit-learn's precision, recall, F1, balanced accuracy and MCC", () => {
  const y = [1, 1, 0, 1, 0, 0, 0, 0];
  const p = [0.9, 0.8, 0.7, 0.62, 0.44, 0.3, 0.2, 0.1];
  const confusion = confusionAt(y, p, 0.5); // p > 0.5: the first four rows
  assert.deepEqual(confusion, { tp: 3, fp: 1, tn: 4, fn: 0 });
  const m = decisionMetrics(confusion);
  assertClose(m.accuracy, 7 / 8);
  assertClose(m.precision, 3 / 4);
  assertClose(m.recall, 1);
  assertClose(m.f1, 6 / 7); // 2·0.75·1 / 1.75
  assertClose(m.balanced_accuracy, (1 + 4 / 5) / 2);
  assertClose(m.mcc, 12 / Math.sqrt(240)); // (3·4 − 1·0) / √(4·3·5·4) = 0.7746
  assert.deepEqual(confusionAt([1, 0], [0.5, 0.5], 0.5), { tp: 0, fp: 0, tn: 1, fn: 1 }, 'exactly at the threshold is negative');
});

test('decisionMetrics: zero_division=0 (no predicted/actual positive), MCC 0 on no margin, balanced accuracy by class present', () => {
  const none = decisionMetrics({ tp: 0, fp: 0, tn: 2, fn: 2 });
  assert.deepEqual([none.precision, none.recall, none.f1, none.mcc], [0, 0, 0, 0]);
  assert.equal(none.balanced_accuracy, 0.5);
  const onlyNegatives = decisionMetrics({ tp: 0, fp: 1, tn: 3, fn: 0 });
  assert.equal(onlyNegatives.recall, 0);
  assert.equal(onlyNegatives.balanced_accuracy, 3 / 4, 'the recall of the one class present');
});

test('brierScore and binaryFoldMetrics: the Brier score, log loss and the 0.5 metrics of one fold, NaN for a diverged model', () => {
  const y = [1, 1, 0, 1, 0, 0, 0, 0];
  const p = [0.9, 0.8, 0.7, 0.62, 0.44, 0.3, 0.2, 0.1];
  // (0.01 + 0.04 + 0.49 + 0.1444 + 0.1936 + 0.09 + 0.04 + 0.01) / 8
  assertClose(brierScore(y, p), 1.018 / 8);
  const fold = binaryFoldMetrics(y, p);
  assert.deepEqual(Object.keys(fold), ['precision', 'recall', 'f1', 'balanced_accuracy', 'mcc', 'brier', 'log_loss']);
  // −(ln .9 + ln .8 + ln .3 + ln .62 + ln .56 + ln .7 + ln .8 + ln .9) / 8 (sklearn log_loss)
  assertClose(fold.log_loss!, 0.4094387723005853, 1e-12);
  assertClose(fold.f1!, 6 / 7);
  assert.ok(Object.values(binaryFoldMetrics([1, 0], [Number.NaN, 0.2])).every(Number.isNaN));
});
