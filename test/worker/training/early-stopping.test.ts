import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '@tensorflow/tfjs';
import { selectBackend } from '../../../worker/backend.js';
import { BestEpochTracker, createBestEpochTracker, type EpochVerdict } from '../../../worker/training/early-stopping.js';
import { buildModel, createOptimizer, WeightSnapshot } from '../../../worker/models/layers.js';
import { DEFAULT_PARAMS } from '../../../worker/contract/spec.js';

function verdicts(tracker: BestEpochTracker, curve: readonly (number | null)[]): EpochVerdict[] {
  return curve.map((value, epoch) => tracker.update(epoch, value));
}

test('BestEpochTracker: minimize, patience 2 → stops on the 2nd epoch in a row without improvement', () => {
  const tracker = new BestEpochTracker({ monitor: 'val_loss', patience: 2, minDelta: 0, direction: 'minimize' });
  assert.deepEqual(verdicts(tracker, [1.0, 0.8, 0.9, 0.7, 0.75, 0.71]), [
    'improved',
    'improved',
    'continue',
    'improved',
    'continue',
    'stop',
  ]);
  assert.equal(tracker.bestEpoch, 3);
  assert.equal(tracker.bestValue, 0.7);
});

test('BestEpochTracker: maximize → larger is better, an equal value is no improvement', () => {
  const tracker = new BestEpochTracker({ monitor: 'val_auc', patience: 3, minDelta: 0, direction: 'maximize' });
  assert.deepEqual(verdicts(tracker, [0.5, 0.7, 0.7, 0.69, 0.71]), ['improved', 'improved', 'continue', 'continue', 'improved']);
  assert.equal(tracker.bestEpoch, 4);
});

test('BestEpochTracker: minDelta → changes of at most minDelta do not count', () => {
  const min = new BestEpochTracker({ monitor: 'val_loss', patience: 5, minDelta: 0.1, direction: 'minimize' });
  assert.deepEqual(verdicts(min, [1.0, 0.95, 0.9, 0.85]), ['improved', 'continue', 'continue', 'improved']);
  assert.equal(min.bestValue, 0.85);
  const max = new BestEpochTracker({ monitor: 'val_accuracy', patience: 5, minDelta: 0.05, direction: 'maximize' });
  assert.deepEqual(verdicts(max, [0.5, 0.54, 0.56]), ['improved', 'continue', 'improved']);
});

test('BestEpochTracker: NaN and null never improve, and count towards patience', () => {
  const tracker = new BestEpochTracker({ monitor: 'val_loss', patience: 2, minDelta: 0, direction: 'minimize' });
  assert.deepEqual(verdicts(tracker, [Number.NaN, null, 0.5, Number.NaN, null]), ['continue', 'stop', 'improved', 'continue', 'stop']);
  assert.equal(tracker.bestEpoch, 2);
  assert.equal(tracker.bestValue, 0.5);
  const never = new BestEpochTracker({ monitor: 'val_auc', patience: 9, minDelta: 0, direction: 'maximize' });
  verdicts(never, [Number.NaN, Number.POSITIVE_INFINITY, null]);
  assert.equal(never.bestEpoch, null);
});

test('BestEpochTracker: patience 0 → stops at the first epoch without improvement', () => {
  const tracker = new BestEpochTracker({ monitor: 'val_loss', patience: 0, minDelta: 0, direction: 'minimize' });
  assert.deepEqual(verdicts(tracker, [1, 0.9, 0.95]), ['improved', 'improved', 'stop']);
});

test('BestEpochTracker: rejects a negative patience or minDelta', () => {
  assert.throws(() => new BestEpochTracker({ monitor: 'val_loss', patience: -1, minDelta: 0, direction: 'minimize' }), /patience/);
  assert.throws(() => new BestEpochTracker({ monitor: 'val_loss', patience: 1, minDelta: -0.1, direction: 'minimize' }), /minDelta/);
});

test('createBestEpochTracker: the direction follows the monitored metric', () => {
  const auc = createBestEpochTracker({ monitor: 'val_auc', patience: 1, minDelta: 0 });
  assert.deepEqual(verdicts(auc, [0.6, 0.7]), ['improved', 'improved']);
  const rmse = createBestEpochTracker({ monitor: 'val_rmse', patience: 1, minDelta: 0 });
  assert.deepEqual(verdicts(rmse, [0.6, 0.7]), ['improved', 'stop']);
});

test('WeightSnapshot: known weights snapshotted at the improved epoch come back after optimizer steps perturb them', async () => {
  const { tf } = await selectBackend();
  const before = tf.memory().numTensors;
  const model = buildModel(tf, { ...DEFAULT_PARAMS, depth: 1, width: 3 }, 2, 'regression', 1, 7);
  const optimizer = createOptimizer(tf, { optimizer: 'adam', learningRate: 0.1 });
  const snapshot = new WeightSnapshot(tf);
  const tracker = new BestEpochTracker({ monitor: 'val_loss', patience: 2, minDelta: 0, direction: 'minimize' });
  const x = tf.tensor2d([
    [1, 2],
    [3, 4],
    [-1, 0],
  ]);
  const y = tf.tensor2d([[1], [0], [2]]);
  const value = (epoch: number) => epoch + 0.5;
  for (const [epoch, valLoss] of [0.9, 0.5, 0.7, 0.8].entries()) {
    const known = model.getWeights().map((w) => tf.fill(w.shape, value(epoch)));
    model.setWeights(known);
    tf.dispose(known);
    if (tracker.update(epoch, valLoss) === 'improved') snapshot.take(model);
    // Real optimizer updates after the snapshot: the restored weights must not see them.
    for (let step = 0; step < 3; step++)
      tf.dispose(optimizer.minimize(() => tf.losses.meanSquaredError(y, model.apply(x) as Tensor), true) ?? []);
  }
  assert.equal(tracker.bestEpoch, 1);
  assert.notDeepEqual(Array.from(model.getWeights()[0]!.dataSync()), [1.5, 1.5, 1.5, 1.5, 1.5, 1.5]);
  assert.ok(snapshot.restoreInto(model));
  for (const weight of model.getWeights())
    assert.ok(
      Array.from(weight.dataSync()).every((v) => v === value(1)),
      `${weight.shape} restored`,
    );
  snapshot.dispose();
  assert.equal(snapshot.restoreInto(model), false);
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
});
