import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { selectBackend } from '../../../worker/backend.js';
import { decodeOutOfFold, type Task } from '../../../worker/contract/protocol.js';
import { heldOutPredictions, REGRESSION_ROWS_KEPT } from '../../../worker/training/decision.js';
import type { TaskData } from '../../../worker/training/task-data.js';
import { binaryLogLoss, categoricalLogLoss, mse } from '../../../worker/training/metrics.js';
import { run, scratchDir, taskMaker, writeEasyCsv } from '../../helpers/run-task.js';

/** What the run page draws: every task kind's search folds send their out-of-fold predictions, and every refit its test predictions. */
const scratch = scratchDir('foldwise-held-out-');
const makeTask = taskMaker(writeEasyCsv(scratch), 'held-out');
const IRIS = { spec: { dataset: { kind: 'iris' } }, taskKind: 'multiclass', params: { epochs: 6, learningRate: 0.05 } } as const;
const SINE = { spec: { dataset: { kind: 'sine', rows: 200 } }, taskKind: 'regression', params: { epochs: 6, activation: 'tanh' } } as const;

test('held-out predictions: a regression fold sends its out-of-fold predictions, width 1, targets the actual values', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const { result } = await run(tf, backend, makeTask(SINE));
  assert.equal(result.outOfFold?.width, 1);
  assert.equal(result.outOfFold?.classes, undefined, 'no class labels for regression');
  const { targets, predictions } = decodeOutOfFold(result.outOfFold!);
  assert.equal(targets.length, 40, 'the holdout quarter of the 160 non-test rows');
  assert.ok(Math.abs(mse(targets, predictions) - result.bestMetrics.val_loss!) < 1e-6, 'their MSE is the fold validation loss');
});

test('held-out predictions: a multiclass fold carries its class labels in prediction-column order', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const { result } = await run(tf, backend, makeTask(IRIS));
  assert.deepEqual(result.outOfFold?.classes, ['setosa', 'versicolor', 'virginica']);
  assert.equal(result.outOfFold?.width, 3);
  const { targets, predictions } = decodeOutOfFold(result.outOfFold!);
  assert.ok(Math.abs(categoricalLogLoss(targets, predictions, 3) - result.bestMetrics.val_loss!) < 1e-6);
});

for (const [kind, overrides] of [
  ['binary', {}],
  ['multiclass', IRIS],
  ['regression', SINE],
] as const) {
  test(`held-out predictions: a ${kind} refit returns the test split's predictions, the ones its test metrics score`, async () => {
    const { tf, backend } = await selectBackend('wasm');
    const modelDir = join(scratch, `refit-${kind}`);
    const task = makeTask({ ...overrides, kind: 'refit', refit: { epochs: 3, modelDir } });
    const { result } = await run(tf, backend, task);
    assert.equal(result.outOfFold, undefined, 'a refit has no out-of-fold predictions');
    const stored = result.testPredictions!;
    const { targets, predictions } = decodeOutOfFold(stored);
    const loss = result.testMetrics!.test_loss!;
    if (kind === 'binary') {
      assert.deepEqual(stored.classes, ['0', '1'], 'the other class, then the positive one');
      assert.equal(binaryLogLoss(targets, predictions), loss);
      assert.equal(targets.length, 80, 'the test fifth of 400 rows');
    } else if (kind === 'multiclass') {
      assert.equal(stored.width, 3);
      assert.equal(categoricalLogLoss(targets, predictions, 3), loss);
      assert.equal(targets.length, 30);
    } else {
      assert.equal(stored.width, 1);
      assert.equal(targets.length, 40, 'the test fifth of 200 rows');
      assert.ok(Math.abs(mse(targets, predictions) - loss) < 1e-6);
    }
  });
}

test('held-out predictions: a regression part of more than REGRESSION_ROWS_KEPT rows keeps an even stride of them, pairs intact', () => {
  const n = 12_345;
  const y = Float32Array.from({ length: n }, (_, i) => i);
  const predictions = Float32Array.from(y, (v) => v + 0.5);
  const task = { taskKind: 'regression' } as unknown as Task;
  const data = { held: { y }, nClasses: 0, classes: null } as unknown as TaskData;
  const kept = decodeOutOfFold(heldOutPredictions(task, data, predictions));
  assert.ok(kept.targets.length <= REGRESSION_ROWS_KEPT && kept.targets.length > REGRESSION_ROWS_KEPT / 2);
  assert.equal(kept.targets[0], 0);
  const stride = kept.targets[1]! - kept.targets[0]!;
  assert.equal(stride, Math.ceil(n / REGRESSION_ROWS_KEPT));
  kept.targets.forEach((target, i) => {
    assert.equal(target, i * stride, 'an even stride through the rows');
    assert.equal(kept.predictions[i], target + 0.5, 'each prediction stays with its target');
  });
});
