import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { LayersModel, Optimizer, Scalar, Tensor, Tensor2D } from '@tensorflow/tfjs';
import { selectBackend, type TensorFlow } from '../../../worker/backend.js';
import { loadDataset } from '../../../worker/data/load.js';
import { MlpEngine, type DenseWeights } from '../../../worker/engine/mlp-engine.js';
import {
  architectureFor,
  createEngineTrainer,
  hyperparametersOf,
  readDenseWeights,
  usesFastEngine,
  writeDenseWeights,
} from '../../../worker/engine/engine-trainer.js';
import { binaryFoldMetrics, evaluate } from '../../../worker/training/metrics.js';
import { loadSavedModel } from '../../../worker/models/model-files.js';
import { buildModel, createOptimizer, predictArray } from '../../../worker/models/layers.js';
import { gatherStandardized } from '../../../worker/data/preprocess.js';
import { createRng } from '../../../worker/rng.js';
import { DEFAULT_PARAMS, type Params } from '../../../worker/contract/spec.js';
import type { TaskKind } from '../../../worker/contract/vocabulary.js';
import { splitTest } from '../../../worker/data/splits.js';
import { DivergedError } from '../../../worker/training/types.js';
import {
  checkAbortStopsAtNextBatch,
  checkSnapshotRestore,
  run,
  scratchDir,
  taskMaker,
  trainerSetup,
  withEngine,
  withEnv,
  writeEasyCsv,
} from '../../helpers/run-task.js';
import { ENGINE_KERNELS_ENV_VAR } from '../../../worker/engine/kernels/kernel-memory.js';

const scratch = scratchDir('foldwise-engine-');

// ───────────────────────────── fixtures ─────────────────────────────

const easyCsv = writeEasyCsv(scratch);

const makeTask = taskMaker(easyCsv, 'engine-test');

/** A small random problem for gradient checks: n rows of f standardised-looking features. */
function randomProblem(task: TaskKind, n: number, f: number, nClasses: number, seed: number): { x: Float32Array; y: Float32Array } {
  const rng = createRng(seed);
  const x = Float32Array.from({ length: n * f }, () => rng.normal());
  const y = Float32Array.from({ length: n }, () =>
    task === 'binary' ? (rng.next() < 0.5 ? 1 : 0) : task === 'multiclass' ? rng.int(nClasses) : rng.normal(),
  );
  return { x, y };
}

/** The mean loss the engine minimises, written with ordinary ops (unclipped, so its gradient is exact). */
function meanLoss(tf: TensorFlow, task: TaskKind, output: Tensor, y: Float32Array, nClasses: number): Scalar {
  const n = y.length;
  if (task === 'regression') return tf.mean(tf.square(tf.sub(output, tf.tensor2d(y, [n, 1])))) as Scalar;
  if (task === 'multiclass')
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(Int32Array.from(y), 'int32'), nClasses), tf.log(output)), 1))) as Scalar;
  const targets = tf.tensor2d(y, [n, 1]);
  return tf.neg(tf.mean(tf.add(tf.mul(targets, tf.log(output)), tf.mul(tf.sub(1, targets), tf.log(tf.sub(1, output)))))) as Scalar;
}

/** The layers model's gradient of the mean loss plus its regularisers, by TensorFlow.js's autodiff. */
function layersGradient(
  tf: TensorFlow,
  model: LayersModel,
  task: TaskKind,
  x: Tensor2D,
  y: Float32Array,
  nClasses: number,
): Float32Array[] {
  const variables = model.trainableWeights.map((weight) => weight.read() as InstanceType<TensorFlow['Variable']>);
  return tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const output = model.apply(x, { training: false }) as Tensor;
      return model.calculateLosses().reduce<Scalar>((total, penalty) => tf.add(total, penalty), meanLoss(tf, task, output, y, nClasses));
    }, variables);
    return variables.map((variable) => grads[variable.name]!.dataSync() as Float32Array);
  });
}

function flatten(layers: readonly DenseWeights[]): Float32Array[] {
  return layers.flatMap((layer) => [layer.kernel, layer.bias]);
}

/** Largest absolute difference, relative to the largest absolute reference value. */
function relativeError(actual: readonly Float32Array[], expected: readonly Float32Array[]): number {
  assert.equal(actual.length, expected.length);
  let scale = 0;
  let error = 0;
  actual.forEach((values, i) => {
    const reference = expected[i]!;
    assert.equal(values.length, reference.length, `tensor ${i} has the wrong size`);
    for (let j = 0; j < values.length; j++) {
      scale = Math.max(scale, Math.abs(reference[j]!));
      error = Math.max(error, Math.abs(values[j]! - reference[j]!));
    }
  });
  return error / Math.max(scale, 1e-12);
}

type GradientCase = { readonly task: TaskKind; readonly params: Partial<Params>; readonly nClasses?: number };

const GRADIENT_CASES: GradientCase[] = [
  { task: 'binary', params: { depth: 2, width: 8, activation: 'relu', l2: 0.01 } },
  { task: 'binary', params: { depth: 1, width: 6, activation: 'selu' } },
  { task: 'binary', params: { depth: 0 } },
  { task: 'multiclass', params: { depth: 1, width: 7, activation: 'tanh', l2: 0.003 }, nClasses: 3 },
  { task: 'multiclass', params: { depth: 2, width: 8, activation: 'linear' }, nClasses: 4 },
  { task: 'regression', params: { depth: 3, width: 8, widthSchedule: 'halve', activation: 'elu' } },
  { task: 'regression', params: { depth: 2, width: 5, activation: 'sigmoid', l2: 0.02 } },
];

/** An engine and the layers model it was initialised from (same seeded weights). */
function enginePair(tf: TensorFlow, c: GradientCase, nInputs: number, options: { params?: Partial<Params> } = {}) {
  const params: Params = { ...DEFAULT_PARAMS, ...c.params, ...options.params };
  const nClasses = c.nClasses ?? (c.task === 'binary' ? 2 : 1);
  const model = buildModel(tf, params, nInputs, c.task, nClasses, 17);
  const engine = MlpEngine.create(
    tf,
    architectureFor({ params, taskKind: c.task }, nInputs, nClasses),
    hyperparametersOf({ params }),
    readDenseWeights(model),
    { seed: 5 },
  );
  return { model, engine, params, nClasses };
}

// ───────────────────────────── gradients and optimizer formulas ─────────────────────────────

for (const backend of ['wasm', 'cpu'] as const) {
  const name = `engine on ${backend}: hand-written gradients equal the layers model's autodiff gradients`;
  test(`${name} (every activation and output, L2, depth 0-3)`, async () => {
    const { tf } = await selectBackend(backend);
    const before = tf.memory().numTensors;
    for (const [k, c] of GRADIENT_CASES.entries()) {
      const nInputs = 5;
      const n = 13;
      const { model, engine, nClasses } = enginePair(tf, c, nInputs);
      const { x, y } = randomProblem(c.task, n, nInputs, nClasses, 100 + k);
      const rows = Int32Array.from({ length: n }, (_, i) => i);
      const xTensor = tf.tensor2d(x, [n, nInputs]);
      try {
        const expected = layersGradient(tf, model, c.task, xTensor, y, nClasses);
        const actual = flatten(await engine.gradient({ x, y, n }, rows));
        const error = relativeError(actual, expected);
        assert.ok(error < 2e-5, `${c.task} ${JSON.stringify(c.params)}: gradient error ${error}`);
        // The forward pass is the layers model's too.
        const predictions = relativeError([await engine.predict(x, n)], [await predictArray(model, xTensor)]);
        assert.ok(predictions < 1e-5, `${c.task} ${JSON.stringify(c.params)}: predictions differ by ${predictions}`);
      } finally {
        xTensor.dispose();
        engine.dispose();
        model.dispose();
      }
    }
    assert.equal(tf.memory().numTensors, before);
  });
}

test('engine with dropout: the backward pass is the gradient of the network under the step’s mask (relu, tanh, sigmoid)', async () => {
  const { tf } = await selectBackend();
  const widths = [3, 5, 4, 1];
  const keep = 0.5;
  const derivative = { relu: (h: number) => (h > 0 ? 1 : 0), tanh: (h: number) => 1 - h * h, sigmoid: (h: number) => h * (1 - h) };
  for (const activation of ['relu', 'tanh', 'sigmoid'] as const) {
    const rng = createRng(21);
    const initial: DenseWeights[] = widths.slice(1).map((units, l) => ({
      kernel: Float32Array.from({ length: widths[l]! * units }, () => rng.normal() * 0.7),
      bias: Float32Array.from({ length: units }, () => rng.normal() * 0.1),
    }));
    const engine = MlpEngine.create(
      tf,
      { nInputs: 3, hidden: widths.slice(1, -1), nOutputs: 1, activation, output: 'linear' },
      { optimizer: 'sgd', learningRate: 0.1, l2: 0, dropout: 1 - keep },
      initial,
      { seed: 9 },
    );
    const close = (actual: number, expected: number, what: string) =>
      assert.ok(Math.abs(actual - expected) <= 1e-5 + 1e-4 * Math.abs(expected), `${activation} ${what}: ${actual}, expected ${expected}`);
    let dropped = 0;
    for (let trial = 0; trial < 12; trial++) {
      // One row: every gradient is an outer product, so the output layer's reveals the dropped
      // activations below it, and each layer's delta gives the next layer down's expected gradient.
      const x = [rng.normal(), rng.normal(), rng.normal(), 1];
      const x0 = engine.batchInputs(1);
      x0.set(x.slice(0, 3));
      const { sums, input } = engine.backpropagate(
        x0,
        1,
        (p, d) => {
          d[0] = p[0]! - 0.3;
        },
        { training: true, inputColumns: 2 },
      );
      // The output layer's bias row is its delta (times the ones input).
      let delta = [sums[2]![widths[2]!]!];
      for (let l = widths.length - 2; l >= 0; l--) {
        const inputs = widths[l]!;
        const units = widths[l + 1]!;
        const top = delta.reduce((best, value, j) => (Math.abs(value) > Math.abs(delta[best]!) ? j : best), 0);
        if (delta[top] === 0) break;
        // The layer's input: x, or the dropped activations recovered from its gradient's largest column.
        const a = l === 0 ? x : Array.from({ length: inputs + 1 }, (_, i) => sums[l]![i * units + top]! / delta[top]!);
        for (let i = 0; i <= inputs; i++)
          for (let j = 0; j < units; j++) close(sums[l]![i * units + j]!, a[i]! * delta[j]!, `dW${l}[${i}][${j}]`);
        const kernel = initial[l]!.kernel;
        const upstream = (i: number) => delta.reduce((sum, value, j) => sum + value * kernel[i * units + j]!, 0);
        if (l === 0) {
          for (let i = 0; i < 2; i++) close(input![i]!, upstream(i), `input gradient ${i}`);
          break;
        }
        // The layer below's delta: zero where dropped (or relu's zero), else upstream · f′(h) / keep, h = a · keep.
        const outputs = a.slice(0, inputs);
        dropped += outputs.filter((value) => value === 0).length;
        delta = outputs.map((value, i) => (value === 0 ? 0 : (upstream(i) * derivative[activation](value * keep)) / keep));
      }
    }
    assert.ok(dropped > 0, `${activation}: some units were dropped`);
    engine.dispose();
  }
});

test("engine: every optimizer takes the same steps as tf.train's (Adam, SGD, RMSprop, Adagrad; L2; a short last batch)", async () => {
  const { tf } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  const c: GradientCase = { task: 'binary', params: { depth: 2, width: 6, activation: 'tanh', l2: 0.01 } };
  const n = 12;
  const batchSize = 5; // batches of 5, 5 and 2 rows
  const { x, y } = randomProblem('binary', n, 4, 2, 7);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (const optimizerName of ['adam', 'sgd', 'rmsprop', 'adagrad'] as const) {
    const { model, engine, params } = enginePair(tf, c, 4, { params: { optimizer: optimizerName, learningRate: 0.05 } });
    const optimizer: Optimizer = createOptimizer(tf, params);
    const variables = model.trainableWeights.map((weight) => weight.read() as InstanceType<TensorFlow['Variable']>);
    try {
      for (let epoch = 0; epoch < 3; epoch++) {
        await engine.trainEpoch({ x, y, n }, order, batchSize);
        for (let start = 0; start < n; start += batchSize) {
          const rows = order.subarray(start, Math.min(n, start + batchSize));
          tf.tidy(() => {
            const xb = tf.tensor2d(Float32Array.from(Array.from(rows).flatMap((row) => Array.from(x.subarray(row * 4, row * 4 + 4)))), [
              rows.length,
              4,
            ]);
            const yb = Float32Array.from(rows, (row) => y[row]!);
            optimizer.minimize(
              () => {
                const loss = meanLoss(tf, 'binary', model.apply(xb, { training: true }) as Tensor, yb, 2);
                return model.calculateLosses().reduce<Scalar>((total, penalty) => tf.add(total, penalty), loss);
              },
              false,
              variables,
            );
          });
        }
      }
      const error = relativeError(
        flatten(await engine.denseWeights()),
        model.getWeights().map((weight) => weight.dataSync() as Float32Array),
      );
      assert.ok(error < 1e-4, `${optimizerName}: weights differ from tf.train's by ${error} (relative)`);
    } finally {
      optimizer.dispose();
      engine.dispose();
      model.dispose();
    }
  }
  assert.equal(tf.memory().numTensors, before);
});

test('engine: the SIMD kernels train bit for bit as the JavaScript loops (dropout, relu and tanh, a smaller last batch)', async () => {
  const { tf } = await selectBackend('wasm');
  const { x, y } = randomProblem('binary', 50, 7, 2, 4);
  const order = Int32Array.from({ length: 50 }, (_, i) => (i * 7) % 50);
  for (const activation of ['relu', 'tanh'] as const) {
    const c: GradientCase = { task: 'binary', params: { depth: 3, width: 13, activation, dropout: 0.3, l2: 0.01 } };
    const trained = (kernels: 'wasm' | 'js') =>
      withEnv(ENGINE_KERNELS_ENV_VAR, kernels, async () => {
        const { engine, model } = enginePair(tf, c, 7);
        try {
          // Batches of 8 (the last one 2), then of 16: the scratch memory is made again for the larger batch.
          const predictions = [await engine.trainEpoch({ x, y, n: 50 }, order, 8), await engine.trainEpoch({ x, y, n: 50 }, order, 16)];
          return { predictions, weights: await engine.denseWeights(), inference: await engine.predict(x, 50) };
        } finally {
          engine.dispose();
          model.dispose();
        }
      });
    assert.deepEqual(await trained('wasm'), await trained('js'), activation);
  }
});

test("engine: snapshot and restore bring back exactly the snapshot's weights", async () => {
  const { tf } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  const { model, engine } = enginePair(tf, { task: 'binary', params: { depth: 1, width: 8, dropout: 0.2 } }, 4);
  const { x, y } = randomProblem('binary', 40, 4, 2, 9);
  const order = Int32Array.from({ length: 40 }, (_, i) => i);
  try {
    assert.equal(engine.restoreSnapshot(), false);
    await engine.trainEpoch({ x, y, n: 40 }, order, 8);
    engine.snapshot();
    const atSnapshot = await engine.predict(x, 40);
    await engine.trainEpoch({ x, y, n: 40 }, order, 8);
    assert.notDeepEqual(await engine.predict(x, 40), atSnapshot);
    assert.equal(engine.restoreSnapshot(), true);
    assert.deepEqual(await engine.predict(x, 40), atSnapshot);
    // The restored weights keep training normally.
    await engine.trainEpoch({ x, y, n: 40 }, order, 8);
  } finally {
    engine.dispose();
    engine.dispose();
    model.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

// ───────────────────────────── as a trainer, and through runTask ─────────────────────────────

test('engine trainer: snapshot and restore bring back exactly the snapshot’s held-out metrics, no leaks', async () => {
  const { tf } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  await checkSnapshotRestore(createEngineTrainer(await trainerSetup(tf, makeTask({ params: { dropout: 0.2 } }))));
  assert.equal(tf.memory().numTensors, before);
});

for (const backend of ['wasm', 'cpu'] as const) {
  const name = `runTask on ${backend} uses the engine for mlp runs`;
  test(`${name}: learns an easy task (val AUC > 0.9), same metrics as before, no leaks`, async () => {
    const { tf } = await selectBackend(backend);
    const task = makeTask({ params: { dropout: 0.1, depth: 2 } });
    // Every activation's fixed hidden unit can output exactly 1 on this backend.
    for (const activation of ['relu', 'tanh', 'elu', 'selu', 'sigmoid', 'linear'] as const)
      assert.equal(usesFastEngine(makeTask({ params: { activation } }), tf), true, activation);
    const before = tf.memory().numTensors;
    const { result, curve } = await run(tf, backend, task);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(curve.length, 8);
    assert.deepEqual(Object.keys(curve[0]!), ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'val_auc', 'val_pr_auc']);
    assert.ok(curve.at(-1)!.loss! < curve[0]!.loss!, 'the training loss falls');
    assert.ok(result.bestMetrics.val_auc! > 0.9, `val_auc ${result.bestMetrics.val_auc}`);
    assert.equal(result.paramCount, 4 * 16 + 16 + 16 * 16 + 16 + 16 + 1);
    assert.equal(result.bestEpoch, 7);
  });
}

test('runTask: the engine is seeded (same task twice → identical curves, with dropout), and another fold differs', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const task = makeTask({ params: { dropout: 0.3, epochs: 4 } });
  const first = await run(tf, backend, task);
  const second = await run(tf, backend, { ...task, taskId: 'other:0:2', runId: 99 });
  assert.deepEqual(second.curve, first.curve);
  assert.deepEqual(second.result.bestMetrics, first.result.bestMetrics);
  const otherFold = await run(
    tf,
    backend,
    makeTask({ params: { dropout: 0.3, epochs: 4 }, spec: { validation: { kind: 'kfold', k: 3 } }, foldIndex: 1 }),
  );
  assert.notDeepEqual(otherFold.curve, first.curve);
});

test("runTask: the engine follows the layers loop's curve (same initial weights, shuffles and optimizer)", async () => {
  const { tf, backend } = await selectBackend('wasm');
  const task = makeTask({ params: { depth: 2, epochs: 5, activation: 'tanh' } });
  const fast = await withEngine('fast', () => run(tf, backend, task));
  const layers = await withEngine('layers', () => run(tf, backend, task));
  for (let epoch = 0; epoch < 5; epoch++) {
    for (const name of ['loss', 'val_loss', 'val_auc']) {
      const a = fast.curve[epoch]![name]!;
      const b = layers.curve[epoch]![name]!;
      assert.ok(Math.abs(a - b) < 1e-3, `epoch ${epoch} ${name}: engine ${a}, layers loop ${b}`);
    }
  }
});

// Multiclass, regression and early stopping through runTask are in run-task.test.ts, which runs on the engine by default.
test('runTask: every optimizer and activation trains on the engine', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const rates = { adam: 0.01, sgd: 0.1, rmsprop: 0.01, adagrad: 0.1 } as const;
  for (const optimizer of ['adam', 'sgd', 'rmsprop', 'adagrad'] as const) {
    const { result } = await run(tf, backend, makeTask({ params: { optimizer, learningRate: rates[optimizer], epochs: 6 } }));
    assert.ok(result.bestMetrics.val_auc! > 0.9, `${optimizer}: val_auc ${result.bestMetrics.val_auc}`);
  }
  for (const activation of ['relu', 'tanh', 'elu', 'selu', 'sigmoid', 'linear'] as const) {
    const { result } = await run(tf, backend, makeTask({ params: { activation, epochs: 6, learningRate: 0.02 } }));
    assert.ok(result.bestMetrics.val_auc! > 0.9, `${activation}: val_auc ${result.bestMetrics.val_auc}`);
  }
});

test('runTask: divergence on the engine → DivergedError at epoch 0 (regression, and saturated sigmoids), no leaks', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  const regression = makeTask({
    spec: { dataset: { kind: 'sine', rows: 300 } },
    taskKind: 'regression',
    params: { optimizer: 'sgd', learningRate: 1e6, epochs: 5 },
  });
  await assert.rejects(run(tf, backend, regression), (error: unknown) => {
    assert.ok(error instanceof DivergedError);
    assert.equal(error.epoch, 0);
    assert.match(error.message, /loss became (NaN|Infinity) at epoch 0/);
    return true;
  });
  const binary = makeTask({ params: { optimizer: 'sgd', learningRate: 1e30, epochs: 5 } });
  await assert.rejects(run(tf, backend, binary), (error: unknown) => error instanceof DivergedError);
  assert.equal(tf.memory().numTensors, before);
});

test('runTask: aborting stops the engine at the next batch with an AbortError, no leaks', async () => {
  const { tf, backend } = await selectBackend('wasm');
  await checkAbortStopsAtNextBatch(tf, backend, makeTask, 'fast');
});

test('runTask: a refit on the engine is saved as a plain layers model that scores the test split as reported', async () => {
  const { tf, backend } = await selectBackend('wasm');
  const before = tf.memory().numTensors;
  const modelDir = join(scratch, 'refit');
  const task = makeTask({ kind: 'refit', refit: { epochs: 6, modelDir }, params: { depth: 2, dropout: 0.1 } });
  const { result, curve } = await run(tf, backend, task);
  assert.equal(curve.length, 6);
  assert.deepEqual(Object.keys(curve[0]!), ['loss', 'accuracy']);
  assert.ok(result.testMetrics!.test_auc! > 0.9);
  assert.equal(tf.memory().numTensors, before);

  const saved = await loadSavedModel(tf, modelDir);
  const table = await loadDataset(task.spec.dataset, task.spec.seed, 'binary');
  const { test: testRows } = splitTest(table.y, 'binary', task.spec.testSplit.fraction, task.spec.seed);
  const x = tf.tensor2d(gatherStandardized(table.x, table.nFeatures, testRows, saved.preprocessing.standardizer), [
    testRows.length,
    table.nFeatures,
  ]);
  const yTest = Float32Array.from(testRows, (row) => table.y[row]!);
  const probabilities = await predictArray(saved.model, x);
  // The epoch metrics, then those at the operating threshold (0.5 here: no selection.threshold).
  const metrics = { ...evaluate('binary', yTest, probabilities, 2), ...binaryFoldMetrics(yTest, probabilities, 0.5) };
  x.dispose();
  saved.model.dispose();
  // Exactly: the refit's test score is computed by the model it saves.
  assert.deepEqual(Object.fromEntries(Object.entries(metrics).map(([name, value]) => [`test_${name}`, value])), result.testMetrics);
  assert.equal(result.decision?.threshold, 0.5);
  assert.equal(tf.memory().numTensors, before);
});

test('engine weights copied into the layers model predict the same (the refit path), and FOLDWISE_MLP_ENGINE=layers opts out', async () => {
  const { tf } = await selectBackend('wasm');
  const { model, engine } = enginePair(tf, { task: 'multiclass', params: { depth: 2, width: 8, activation: 'elu' }, nClasses: 3 }, 4);
  const { x, y } = randomProblem('multiclass', 30, 4, 3, 11);
  try {
    await engine.trainEpoch(
      { x, y, n: 30 },
      Int32Array.from({ length: 30 }, (_, i) => i),
      8,
    );
    writeDenseWeights(tf, model, await engine.denseWeights());
    const xTensor = tf.tensor2d(x, [30, 4]);
    const error = relativeError([await predictArray(model, xTensor)], [await engine.predict(x, 30)]);
    xTensor.dispose();
    assert.ok(error < 1e-5, `predictions differ by ${error}`);
  } finally {
    engine.dispose();
    model.dispose();
  }
  await withEngine('layers', async () => assert.equal(usesFastEngine(makeTask({})), false));
  await withEngine('fast', async () => assert.equal(usesFastEngine(makeTask({})), true));
});
