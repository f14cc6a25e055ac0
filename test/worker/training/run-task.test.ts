import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../../../worker/backend.js';
import { createRng } from '../../../worker/rng.js';
import { run, scratchDir, taskMaker } from '../../helpers/run-task.js';
import { decodeOutOfFold } from '../../../worker/contract/protocol.js';
import { BINARY_FOLD_METRICS } from '../../../worker/contract/vocabulary.js';
import { binaryLogLoss } from '../../../worker/training/metrics.js';

/** A fold's best metrics without its out-of-fold ones: what the epoch curve recorded at that epoch. */
function epochMetricsOf(bestMetrics: Readonly<Record<string, number | null>>): Record<string, number | null> {
  const foldOnly = new Set<string>(BINARY_FOLD_METRICS.map((name) => `val_${name}`));
  return Object.fromEntries(Object.entries(bestMetrics).filter(([key]) => !foldOnly.has(key)));
}

const scratch = scratchDir('foldwise-train-');

/** Two well-separated Gaussian blobs in 4 dimensions, plus a text column: an easy binary task. */
function writeEasyCsv(): string {
  const rng = createRng(3);
  const lines = ['a,b,c,d,colour,label'];
  for (let i = 0; i < 400; i++) {
    const label = i % 2;
    const shift = label === 1 ? 1.2 : -1.2;
    const cells = Array.from({ length: 4 }, () => (shift + rng.normal()).toFixed(4));
    lines.push([...cells, rng.next() < 0.5 ? 'red' : 'blue', label ? 'yes' : 'no'].join(','));
  }
  const path = join(scratch, 'easy.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Features that carry no information about the label: a model can only overfit. */
function writeNoiseCsv(): string {
  const rng = createRng(4);
  const lines = ['a,b,c,d,e,f,label'];
  for (let i = 0; i < 160; i++)
    lines.push([...Array.from({ length: 6 }, () => rng.normal().toFixed(4)), rng.next() < 0.5 ? 1 : 0].join(','));
  const path = join(scratch, 'noise.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const easyCsv = writeEasyCsv();
const noiseCsv = writeNoiseCsv();

const makeTask = taskMaker(easyCsv, 'train-test');

for (const backend of ['wasm', 'cpu'] as const) {
  test(`runTask on ${backend}: learns an easy binary task, reports every metric, leaks no tensors`, async () => {
    const { tf } = await selectBackend(backend);
    assert.equal(tf.getBackend(), backend);
    const before = tf.memory().numTensors;
    const { result, curve } = await run(tf, backend, makeTask({ params: { dropout: 0.1 } }));
    assert.equal(tf.memory().numTensors, before);

    assert.equal(curve.length, 8);
    assert.deepEqual(Object.keys(curve[0]!), ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'val_auc', 'val_pr_auc']);
    assert.ok(curve.at(-1)!.loss! < curve[0]!.loss!, 'the training loss falls');
    assert.ok(result.bestMetrics.val_auc! > 0.9, `val_auc ${result.bestMetrics.val_auc}`);
    assert.ok(result.bestMetrics.val_accuracy! > 0.85);
    assert.deepEqual(
      epochMetricsOf(result.bestMetrics),
      Object.fromEntries(Object.entries(curve.at(-1)!).filter(([name]) => name.startsWith('val_'))),
    );
    // The fold's metrics of its out-of-fold predictions at the kept epoch, and the predictions themselves.
    assert.deepEqual(
      Object.keys(result.bestMetrics).filter((key) => !(key in curve[0]!)),
      BINARY_FOLD_METRICS.map((name) => `val_${name}`),
    );
    assert.equal(result.bestMetrics.val_log_loss, result.bestMetrics.val_loss);
    const outOfFold = decodeOutOfFold(result.outOfFold!);
    assert.equal(outOfFold.predictions.length, result.outOfFold!.n);
    assert.equal(binaryLogLoss(outOfFold.targets, outOfFold.predictions), result.bestMetrics.val_loss);
    assert.equal(result.bestEpoch, 7);
    assert.equal(result.stoppedEpoch, 7);
    // 6 encoded inputs (4 numbers + one-hot colour) → 16 → 1
    assert.equal(result.paramCount, 6 * 16 + 16 + 16 + 1);
    assert.ok(result.trainMs > 0);
  });

  test(`runTask on ${backend}: the same task twice gives identical curves (seeded init, shuffle and dropout)`, async () => {
    const { tf } = await selectBackend(backend);
    const task = makeTask({ params: { dropout: 0.3, epochs: 4 } });
    const first = await run(tf, backend, task);
    const second = await run(tf, backend, { ...task, taskId: 'other:0:2', runId: 99 });
    assert.deepEqual(second.curve, first.curve);
    const otherFold = await run(
      tf,
      backend,
      makeTask({ params: { dropout: 0.3, epochs: 4 }, spec: { validation: { kind: 'kfold', k: 3 } }, foldIndex: 1 }),
    );
    assert.notDeepEqual(otherFold.curve, first.curve);
  });
}

test('runTask: multiclass (iris) and regression (sine) tasks report their metrics', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const iris = await run(
    tf,
    backend,
    makeTask({
      spec: { dataset: { kind: 'iris' } },
      taskKind: 'multiclass',
      params: { epochs: 30, width: 16, learningRate: 0.05, batchSize: 16 },
    }),
  );
  assert.deepEqual(Object.keys(iris.curve[0]!), ['loss', 'accuracy', 'val_loss', 'val_accuracy']);
  assert.ok(iris.result.bestMetrics.val_accuracy! > 0.8, `iris val_accuracy ${iris.result.bestMetrics.val_accuracy}`);

  const sine = await run(
    tf,
    backend,
    makeTask({
      spec: { dataset: { kind: 'sine', rows: 300 } },
      taskKind: 'regression',
      params: { epochs: 30, width: 32, activation: 'tanh', learningRate: 0.02 },
    }),
  );
  assert.deepEqual(Object.keys(sine.curve[0]!), ['loss', 'val_loss', 'val_rmse', 'val_mae', 'val_r2']);
  assert.ok(sine.result.bestMetrics.val_r2! > 0.7, `sine val_r2 ${sine.result.bestMetrics.val_r2}`);
});

test('runTask: early stopping stops after `patience` epochs without improvement and keeps the best epoch', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  const task = makeTask({
    spec: {
      dataset: { kind: 'csv', path: noiseCsv, target: 'label' },
      validation: { kind: 'holdout', fraction: 0.3, earlyStopping: { monitor: 'val_loss', patience: 3 } },
    },
    params: { epochs: 60, width: 64, learningRate: 0.03, batchSize: 16 },
  });
  const { result, curve } = await run(tf, backend, task);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(result.stoppedEpoch < 59, `stopped at ${result.stoppedEpoch}`);
  assert.equal(result.stoppedEpoch - result.bestEpoch, 3);
  assert.equal(curve.length, result.stoppedEpoch + 1);
  const valLosses = curve.map((metrics) => metrics.val_loss!);
  assert.equal(Math.min(...valLosses), valLosses[result.bestEpoch]);
  // The out-of-fold predictions are the restored best epoch's, not those of the last epoch trained.
  const outOfFold = decodeOutOfFold(result.outOfFold!);
  assert.equal(binaryLogLoss(outOfFold.targets, outOfFold.predictions), result.bestMetrics.val_loss);
  assert.notEqual(result.bestMetrics.val_loss, curve.at(-1)!.val_loss);
  assert.deepEqual(
    epochMetricsOf(result.bestMetrics),
    Object.fromEntries(Object.entries(curve[result.bestEpoch]!).filter(([name]) => name.startsWith('val_'))),
  );
});

// Stop requests, divergence and aborts are the loop's (loop.test.ts), each trainer's own in its test file.
test('runTask: an already aborted signal → AbortError before any data is loaded', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const task = makeTask({
    params: { epochs: 50, dropout: 0.2 },
    spec: { validation: { kind: 'holdout', fraction: 0.25, earlyStopping: { patience: 100 } } },
  });
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(run(tf, backend, task, undefined, aborted.signal), { name: 'AbortError' });
});

test('runTask: a fold that does not exist, or a monitor the task does not record, is an error', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  await assert.rejects(run(tf, backend, makeTask({ foldIndex: 3 })), /fold 3 does not exist: the validation has 1 fold/);
  const regression = makeTask({
    spec: { dataset: { kind: 'sine', rows: 300 }, validation: { kind: 'holdout', fraction: 0.25, earlyStopping: { monitor: 'val_auc' } } },
    taskKind: 'regression',
  });
  await assert.rejects(
    run(tf, backend, regression),
    /early stopping monitors "val_auc", but a regression task records val_loss, val_rmse, val_mae, val_r2/,
  );
  assert.equal(tf.memory().numTensors, before);
});
