import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../../worker/backend.js';
import { createLayersTrainer } from '../../../worker/training/layers-trainer.js';
import { DivergedError } from '../../../worker/training/types.js';
import { createRng } from '../../../worker/rng.js';
import { checkSnapshotRestore, run, taskMaker, trainerSetup, withEngine } from '../../helpers/run-task.js';

// The layers trainer is what mlp runs train on under FOLDWISE_MLP_ENGINE=layers (and what the
// recommendation families train on: test/worker/recsys/train.test.ts).

const scratch = mkdtempSync(join(tmpdir(), 'foldwise-layers-trainer-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** Two well-separated Gaussian blobs in 4 dimensions: an easy binary task. */
function writeEasyCsv(): string {
  const rng = createRng(3);
  const lines = ['a,b,c,d,label'];
  for (let i = 0; i < 400; i++) {
    const label = i % 2;
    const shift = label === 1 ? 1.2 : -1.2;
    lines.push([...Array.from({ length: 4 }, () => (shift + rng.normal()).toFixed(4)), label].join(','));
  }
  const path = join(scratch, 'easy.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const makeTask = taskMaker(writeEasyCsv(), 'layers-trainer-test');

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
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const task = makeTask({
    params: { epochs: 50, dropout: 0.2 },
    spec: { validation: { kind: 'holdout', fraction: 0.25, earlyStopping: { patience: 100 } } },
  });
  const epochs: number[] = [];
  await assert.rejects(
    withEngine('layers', () =>
      run(
        tf,
        backend,
        task,
        (epoch) => {
          epochs.push(epoch);
          controller.abort();
        },
        controller.signal,
      ),
    ),
    { name: 'AbortError' },
  );
  assert.deepEqual(epochs, [0]);
  assert.equal(tf.memory().numTensors, before);
});
