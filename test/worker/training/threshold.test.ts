import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ThresholdSpec } from '../../../worker/contract/spec.js';
import { THRESHOLD_OBJECTIVES } from '../../../worker/contract/vocabulary.js';
import { confusionAt } from '../../../worker/training/metrics.js';
import { chooseThreshold, objectiveValue, thresholdCandidates } from '../../../worker/training/threshold.js';
import { createRng } from '../../../worker/rng.js';

/**
 * Eight rows, distinct scores. Taking the top k as positive (k = 0…8) gives
 *   k:   0    1    2    3    4    5    6    7    8
 *   tp:  0    1    2    2    3    3    3    3    3
 *   fp:  0    0    0    1    1    2    3    4    5
 *   F1:  0   .5   .8  .667 .857 .75 .667  .6  .545      (2tp / (2tp + fp + fn))
 *   BA: .5  .667 .833 .733  .9   .8   .7   .6   .5       ((TPR + TNR) / 2)
 * so F1, balanced accuracy, MCC and Youden's J all take k = 4: the threshold between 0.62 and 0.44.
 */
const y = [1, 1, 0, 1, 0, 0, 0, 0];
const p = Float32Array.from([0.9, 0.8, 0.7, 0.62, 0.44, 0.3, 0.2, 0.1]);
const between = (a: number, b: number) => Math.fround((Math.fround(a) + Math.fround(b)) / 2);

function choose(objective: ThresholdSpec, labels: ArrayLike<number> = y, scores: ArrayLike<number> = p) {
  const choice = chooseThreshold(labels, scores, objective);
  return { ...choice, confusion: confusionAt(labels, scores, choice.threshold) };
}

test('f1, balanced_accuracy, mcc, youden: the cut of the best value, its threshold midway between the two scores', () => {
  for (const objective of ['f1', 'balanced_accuracy', 'mcc', 'youden'] as const) {
    const choice = choose({ objective });
    assert.equal(choice.threshold, between(0.62, 0.44), objective);
    assert.deepEqual(choice.confusion, { tp: 3, fp: 1, tn: 4, fn: 0 }, objective);
  }
  assert.ok(Math.abs(choose({ objective: 'f1' }).value - 6 / 7) < 1e-12);
  assert.ok(Math.abs(choose({ objective: 'balanced_accuracy' }).value - 0.9) < 1e-12);
  assert.ok(Math.abs(choose({ objective: 'mcc' }).value - 12 / Math.sqrt(240)) < 1e-12); // (3·4 − 1·0)/√(4·3·5·4)
  assert.ok(Math.abs(choose({ objective: 'youden' }).value - 0.8) < 1e-12);
});

test('recall_at_precision and precision_at_recall: the best of the constrained metric among the thresholds that meet the other', () => {
  // Precision ≥ 0.9 holds for k = 1, 2 (precision 1): the higher recall is k = 2 (2/3).
  const atPrecision = choose({ objective: 'recall_at_precision', value: 0.9 });
  assert.equal(atPrecision.threshold, between(0.8, 0.7));
  assert.ok(Math.abs(atPrecision.value - 2 / 3) < 1e-12);
  assert.equal(atPrecision.note, null);
  // Recall ≥ 0.9 needs k ≥ 4; precision is highest at k = 4 (3/4).
  const atRecall = choose({ objective: 'precision_at_recall', value: 0.9 });
  assert.equal(atRecall.threshold, between(0.62, 0.44));
  assert.equal(atRecall.value, 0.75);
  // Recall ≥ 0.5 is met from k = 2 on, where precision is 1 (k = 1 has recall 1/3).
  assert.equal(choose({ objective: 'precision_at_recall', value: 0.5 }).threshold, between(0.8, 0.7));
});

test('cost: the least falsePositive·FP + falseNegative·FN, reported per row', () => {
  // A miss costs 20: every positive must be caught, with the fewest false alarms (k = 4, cost 1).
  const missesCostly = choose({ objective: 'cost', falsePositive: 1, falseNegative: 20 });
  assert.deepEqual(missesCostly.confusion, { tp: 3, fp: 1, tn: 4, fn: 0 });
  assert.equal(missesCostly.value, 1 / 8);
  // A false alarm costs 10: k = 2 (one miss, cost 1) beats k = 0 (three misses) and k = 4 (a false alarm).
  const alarmsCostly = choose({ objective: 'cost', falsePositive: 10, falseNegative: 1 });
  assert.deepEqual(alarmsCostly.confusion, { tp: 2, fp: 0, tn: 5, fn: 1 });
  assert.equal(alarmsCostly.value, 1 / 8);
});

test('tied scores enter the positives together; equal objective values go to the threshold nearest 0.5', () => {
  const labels = [1, 0, 1, 0];
  const scores = [0.7, 0.7, 0.3, 0.3];
  const cuts = thresholdCandidates(labels, scores).map((c) => c.confusion);
  assert.deepEqual(cuts, [
    { tp: 0, fp: 0, tn: 2, fn: 2 },
    { tp: 1, fp: 1, tn: 1, fn: 1 },
    { tp: 2, fp: 2, tn: 0, fn: 0 },
  ]);
  // F1: none 0, the 0.7 pair 0.5, everything 2/3 → everything positive, threshold 0 (below the lowest score).
  assert.equal(choose({ objective: 'f1' }, labels, scores).threshold, 0);
  // F1 2/3 at k = 1 (threshold 0.85) and at k = 4 (threshold 0): 0.85 is nearer 0.5.
  const tie = choose({ objective: 'f1' }, [1, 0, 0, 1], [0.9, 0.8, 0.2, 0.1]);
  assert.equal(tie.threshold, Math.fround(0.85));
  assert.deepEqual(tie.confusion, { tp: 1, fp: 0, tn: 2, fn: 1 });
});

test('a single positive: the cut just below it; a precision no threshold reaches falls back to the highest, with a note', () => {
  const labels = [0, 0, 1, 0, 0];
  const scores = [0.1, 0.2, 0.3, 0.4, 0.5];
  const f1 = choose({ objective: 'f1' }, labels, scores);
  assert.equal(f1.threshold, between(0.3, 0.2));
  assert.deepEqual(f1.confusion, { tp: 1, fp: 2, tn: 2, fn: 0 });
  const unreachable = choose({ objective: 'recall_at_precision', value: 0.9 }, labels, scores);
  assert.deepEqual(unreachable.confusion, { tp: 1, fp: 2, tn: 2, fn: 0 }); // the highest precision, 1/3
  assert.match(unreachable.note ?? '', /no threshold reaches precision 0\.9/);
  assert.ok(Math.abs(unreachable.value - 1) < 1e-12, 'the value reported is the recall');
});

test('all-equal scores: only "none" and "all" exist; a tie keeps the threshold at the score (nothing positive is > it)', () => {
  const labels = [1, 0, 0, 1, 0];
  const scores = [0.5, 0.5, 0.5, 0.5, 0.5];
  assert.equal(thresholdCandidates(labels, scores).length, 2);
  // F1: all positive (4/7) beats none (0): threshold 0.
  assert.equal(choose({ objective: 'f1' }, labels, scores).threshold, 0);
  // Balanced accuracy is 0.5 either way: the tie goes to 0.5 itself, which predicts none positive.
  const balanced = choose({ objective: 'balanced_accuracy' }, labels, scores);
  assert.equal(balanced.threshold, 0.5);
  assert.deepEqual(balanced.confusion, { tp: 0, fp: 0, tn: 3, fn: 2 });
});

test('every candidate threshold is a float32 that reproduces its cut under p > t (as the ONNX graph compares)', () => {
  const rng = createRng(9);
  const scores = Float32Array.from({ length: 400 }, () => Math.round(rng.next() * 60) / 60); // many ties
  const labels = Float32Array.from(scores, (s) => (rng.next() < s ? 1 : 0));
  scores[7] = Math.fround(0.3);
  scores[8] = Math.fround(0.3) + 2 ** -25; // adjacent float32 values: their midpoint rounds onto one of them
  for (const candidate of thresholdCandidates(labels, scores)) {
    assert.equal(Math.fround(candidate.threshold), candidate.threshold);
    assert.deepEqual(confusionAt(labels, scores, candidate.threshold), candidate.confusion);
  }
  for (const objective of THRESHOLD_OBJECTIVES) {
    const spec = (
      objective === 'cost'
        ? { objective, falsePositive: 1, falseNegative: 5 }
        : objective === 'recall_at_precision' || objective === 'precision_at_recall'
          ? { objective, value: 0.7 }
          : { objective }
    ) as ThresholdSpec;
    const choice = chooseThreshold(labels, scores, spec);
    assert.ok(Math.abs(objectiveValue(spec, confusionAt(labels, scores, choice.threshold)) - choice.value) < 1e-12, objective);
  }
});

test('bad input: one class only, non-finite scores, mismatched lengths', () => {
  assert.throws(() => chooseThreshold([1, 1], [0.2, 0.4], { objective: 'f1' }), /both classes/);
  assert.throws(() => chooseThreshold([1, 0], [0.2, Number.NaN], { objective: 'f1' }), /not finite/);
  assert.throws(() => chooseThreshold([1, 0], [0.2], { objective: 'f1' }), RangeError);
});
