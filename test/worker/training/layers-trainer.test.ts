import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../../worker/backend.js';
import { createLayersTrainer } from '../../../worker/training/layers-trainer.js';
import { DivergedError } from '../../../worker/training/types.js';
import {
  checkAbortStopsAtNextBatch,
  checkSnapshotRestore,
  run,
  scratchDir,
  taskMaker,
  trainerSetup,
  withEngine,
  writeEasyCsv,
} from '../../helpers/run-task.js';

// The layers trainer is what mlp runs train on under FOLDWISE_MLP_ENGINE=layers (and what the
// recommendation families train on: test/worker/recsys/train.test.ts).

const makeTask = taskMaker(writeEasyCsv(scratchDir('foldwise-layers-trainer-')), 'layers-trainer-test');

test('layers trainer: learns an easy binary task, reports every metric, is seeded, leaks no tensors', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  const task = makeTask({ params: { dropout: 0.3 } });
  const { result, curve } = await withEngine('layers', () => run(tf, backend, task));
  assert.equal(tf.memory().numTensors, before);
  assert.equal(curve.length, 8);
  assert.deepEqual(Object.keys(curve[0]!), ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'val_auc', 'val_pr_auc']);
  assert.ok(curve.at(-1)!.loss! < curve[0]!.loss!, 'the training loss falls');
  assert.ok(result.bestMetrics.val_auc! > 0.9, `val_auc ${result.bestMetrics.val_auc}`);
  // 4 inputs → 16 → 1
  assert.equal(result.paramCount, 4 * 16 + 16 + 16 + 1);
  const again = await withEngine('layers', () => run(tf, backend, { ...task, taskId: 'other:0:2', runId: 99 }));
  assert.deepEqual(again.curve, curve);
});

test('layers trainer: snapshot and restore bring back exactly the snapshot’s held-out metrics, no leaks', async () => {
  const { tf } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  await checkSnapshotRestore(createLayersTrainer(await trainerSetup(tf, makeTask({ params: { dropout: 0.2 } }))));
  assert.equal(tf.memory().numTensors, before);
});

test('layers trainer: a huge learning rate → DivergedError naming the epoch, and no tensors left behind', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  const task = makeTask({
    spec: { dataset: { kind: 'sine', rows: 300 } },
    taskKind: 'regression',
    params: { optimizer: 'sgd', learningRate: 1e6, epochs: 5 },
  });
  await assert.rejects(
    withEngine('layers', () => run(tf, backend, task)),
    (error: unknown) => {
      assert.ok(error instanceof DivergedError);
      assert.equal(error.epoch, 0);
      assert.match(error.message, /loss became (NaN|Infinity) at epoch 0/);
      return true;
    },
  );
  assert.equal(tf.memory().numTensors, before);
});

test('layers trainer: an aborted signal stops at the next batch with an AbortError, and no tensors left behind', async () => {
  const { tf, backend } = await selectBackend('wasm');
  await checkAbortStopsAtNextBatch(tf, backend, makeTask, 'layers');
});
