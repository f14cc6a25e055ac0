import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '@tensorflow/tfjs';
import { selectBackend } from '../../../worker/backend.js';
import { buildModel, countParams, createOptimizer, hiddenWidths } from '../../../worker/models/layers.js';
import { DEFAULT_PARAMS, type Params } from '../../../worker/contract/spec.js';

const { tf } = await selectBackend();
const params = (overrides: Partial<Params>): Params => ({ ...DEFAULT_PARAMS, ...overrides });

test('hiddenWidths: constant repeats the width, halve halves it down to one unit', () => {
  assert.deepEqual(hiddenWidths({ depth: 3, width: 64, widthSchedule: 'constant' }), [64, 64, 64]);
  assert.deepEqual(hiddenWidths({ depth: 4, width: 128, widthSchedule: 'halve' }), [128, 64, 32, 16]);
  assert.deepEqual(hiddenWidths({ depth: 4, width: 5, widthSchedule: 'halve' }), [5, 2, 1, 1]);
  assert.deepEqual(hiddenWidths({ depth: 0, width: 8, widthSchedule: 'halve' }), []);
});

test('buildModel: hidden layers, dropout, L2 and the output layer follow params and task', () => {
  const model = buildModel(
    tf,
    params({ depth: 2, width: 8, widthSchedule: 'halve', activation: 'tanh', dropout: 0.2, l2: 0.01 }),
    5,
    'multiclass',
    3,
    1,
  );
  const layers = model.layers.map((layer) => ({ name: layer.name, className: layer.getClassName(), config: layer.getConfig() }));
  assert.deepEqual(
    layers.map((l) => l.name),
    ['hidden_1', 'dropout_1', 'hidden_2', 'dropout_2', 'output'],
  );
  assert.deepEqual(
    layers.map((l) => l.className),
    ['Dense', 'Dropout', 'Dense', 'Dropout', 'Dense'],
  );
  assert.deepEqual(
    layers.filter((l) => l.className === 'Dense').map((l) => [l.config.units, l.config.activation]),
    [
      [8, 'tanh'],
      [4, 'tanh'],
      [3, 'softmax'],
    ],
  );
  assert.equal(layers[1]!.config.rate, 0.2);
  assert.ok(layers.filter((l) => l.className === 'Dense').every((l) => l.config.kernelRegularizer !== null));
  // (5·8 + 8) + (8·4 + 4) + (4·3 + 3)
  assert.equal(countParams(model), 48 + 36 + 15);
  model.dispose();

  const linear = buildModel(tf, params({ depth: 0 }), 4, 'binary', 2, 1);
  assert.deepEqual(
    linear.layers.map((l) => [l.name, l.getConfig().units, l.getConfig().activation]),
    [['output', 1, 'sigmoid']],
  );
  assert.equal(linear.layers[0]!.getConfig().kernelRegularizer, null);
  linear.dispose();

  const regression = buildModel(tf, params({ depth: 1, width: 4 }), 4, 'regression', 1, 1);
  assert.equal(regression.layers.at(-1)!.getConfig().activation, 'linear');
  regression.dispose();
});

test('buildModel: the same seed gives the same initial weights, another seed other weights', () => {
  const weightsOf = (seed: number) => {
    const model = buildModel(tf, params({ depth: 2, width: 6 }), 3, 'binary', 2, seed);
    const values = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.dispose();
    return values;
  };
  assert.deepEqual(weightsOf(11), weightsOf(11));
  assert.notDeepEqual(weightsOf(11), weightsOf(12));
  // Equal-shaped layers must not start equal.
  const model = buildModel(tf, params({ depth: 3, width: 6 }), 6, 'binary', 2, 3);
  const [, , kernel2, , kernel3] = model.getWeights().map((w) => Array.from(w.dataSync()));
  assert.notDeepEqual(kernel2, kernel3);
  model.dispose();
});

test('buildModel: dropout is active with training: true, off at inference, and its masks are seeded per call', () => {
  const model = buildModel(tf, params({ depth: 1, width: 64, activation: 'linear', dropout: 0.5 }), 4, 'regression', 1, 5);
  const x = tf.ones([32, 4]);
  const run = (training: boolean) => tf.tidy(() => Array.from((model.apply(x, { training }) as Tensor).dataSync()));
  assert.deepEqual(run(false), run(false));
  assert.deepEqual(run(false), Array.from(tf.tidy(() => (model.predict(x) as Tensor).dataSync())));
  const first = run(true);
  const second = run(true);
  assert.notDeepEqual(first, run(false));
  assert.notDeepEqual(first, second, 'a fresh mask per call');

  // Rebuilt with the same seed, the sequence of masks repeats.
  const twin = buildModel(tf, params({ depth: 1, width: 64, activation: 'linear', dropout: 0.5 }), 4, 'regression', 1, 5);
  const twinRun = () => tf.tidy(() => Array.from((twin.apply(x, { training: true }) as Tensor).dataSync()));
  assert.deepEqual([twinRun(), twinRun()], [first, second]);
  tf.dispose(x);
  model.dispose();
  twin.dispose();
});

test('createOptimizer: each optimizer, with the learning rate', () => {
  const classNames = { adam: 'Adam', sgd: 'SGD', rmsprop: 'RMSProp', adagrad: 'Adagrad' } as const;
  for (const [name, className] of Object.entries(classNames) as [keyof typeof classNames, string][]) {
    const optimizer = createOptimizer(tf, { optimizer: name, learningRate: 0.05 });
    assert.equal(optimizer.getClassName(), className);
    assert.equal(optimizer.getConfig().learningRate, 0.05);
    optimizer.dispose();
  }
});
