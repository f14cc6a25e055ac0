import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldCutFolds } from '../../../server/search/fold-cutter.js';
import { AshaPruner } from '../../../server/search/asha.js';

const scores = (...values: (number | null)[]) => new Map(values.map((v, i) => [i, v]));
const rule = { minFolds: 2, margin: 0.01, direction: 'maximize' as const };

test('shouldCutFolds: worse than the leader on every finished fold by more than the margin → cut', () => {
  const leader = scores(0.9, 0.91, 0.89, 0.9, 0.92);
  assert.equal(shouldCutFolds(scores(0.8, 0.85), [leader], rule), true);
});

test('shouldCutFolds: one fold within the margin (or better) → keep', () => {
  const leader = scores(0.9, 0.91, 0.89);
  assert.equal(shouldCutFolds(scores(0.8, 0.905), [leader], rule), false);
  assert.equal(shouldCutFolds(scores(0.95, 0.7), [leader], rule), false);
});

test('shouldCutFolds: fewer folds than minFolds, or no leader with those folds → keep', () => {
  assert.equal(shouldCutFolds(scores(0.5), [scores(0.9, 0.9)], rule), false);
  assert.equal(shouldCutFolds(scores(0.5, 0.5), [scores(0.9)], rule), false);
  assert.equal(shouldCutFolds(scores(0.5, 0.5), [], rule), false);
});

test('shouldCutFolds: the leader is the best mean over the same folds; minimise direction', () => {
  const minimize = { ...rule, direction: 'minimize' as const };
  assert.equal(shouldCutFolds(scores(0.3, 0.32), [scores(0.2, 0.5), scores(0.25, 0.26)], minimize), true);
  assert.equal(shouldCutFolds(scores(0.255, 0.265), [scores(0.25, 0.26)], minimize), false);
});

test('shouldCutFolds: a non-finite fold score is never cut here', () => {
  assert.equal(shouldCutFolds(scores(null, 0.1), [scores(0.9, 0.9)], rule), false);
});

test('AshaPruner: rungs at minEpochs·η^k', () => {
  const asha = new AshaPruner({ minEpochs: 2, reductionFactor: 3, direction: 'maximize' });
  assert.deepEqual(
    [1, 2, 3, 6, 7, 18].map((e) => asha.isRung(e)),
    [false, true, false, true, false, true],
  );
});

test('AshaPruner: keeps the top 1/η at a rung, per fold index; early arrivals continue', () => {
  const asha = new AshaPruner({ minEpochs: 1, reductionFactor: 2, direction: 'maximize' });
  assert.equal(asha.report(0, 0, 0.7), 'continue', 'first arrival');
  assert.equal(asha.report(0, 0, 0.6), 'stop', 'second: top 1 of 2 is 0.7');
  assert.equal(asha.report(0, 0, 0.8), 'continue', 'best so far');
  assert.equal(asha.report(1, 0, 0.1), 'continue', 'other fold index has its own rung');
  assert.equal(asha.report(0, 2, 0.1), 'continue', 'epoch 3 is not a rung for η=2, min 1');
  assert.equal(asha.report(0, 1, null), 'continue', 'non-finite never prunes here');
});

test('AshaPruner: minimise direction', () => {
  const asha = new AshaPruner({ minEpochs: 1, reductionFactor: 2, direction: 'minimize' });
  asha.report(0, 0, 0.2);
  assert.equal(asha.report(0, 0, 0.5), 'stop');
  assert.equal(asha.report(0, 0, 0.1), 'continue');
});
