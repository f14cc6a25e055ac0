import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { LayersModel, Optimizer, Scalar, Tensor, Tensor2D } from '@tensorflow/tfjs';
import { selectBackend, type TensorFlow } from '../../../worker/backend.js';
import type { Task } from '../../../worker/contract/protocol.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../../../worker/contract/spec.js';
import {
  ratingsArchitectureFor,
  RatingsEngine,
  type LayerWeights,
  type RatingsHyperparameters,
  type RatingsRows,
  sideFeatures,
} from '../../../worker/engine/ratings-engine.js';
import {
  createRatingsTrainer,
  EMBEDDING_STEPS_ENV_VAR,
  embeddingStepsChoice,
  RECSYS_ENGINE_ENV_VAR,
  ratingsRows,
  readLayerWeights,
  usesRecsysEngine,
  writeLayerWeights,
} from '../../../worker/engine/ratings-trainer.js';
import { createOptimizer, predictArray } from '../../../worker/models/layers.js';
import { describePreprocessing, loadSavedModel, saveModel } from '../../../worker/models/model-files.js';
import { buildRatingsModel, RATINGS_LAYERS, type RatingsModelShape } from '../../../worker/recsys/models.js';
import { createRng } from '../../../worker/rng.js';
import { DivergedError } from '../../../worker/training/types.js';
import {
  checkAbortStopsAtNextBatch,
  checkSnapshotRestore,
  run,
  scratchDir,
  trainerSetup,
  type TaskOverrides,
  withEnv,
} from '../../helpers/run-task.js';
import { ENGINE_KERNELS_ENV_VAR } from '../../../worker/engine/kernels/kernel-memory.js';

const scratch = scratchDir('foldwise-ratings-engine-');
const { tf, backend } = await selectBackend();

// ───────────────────────────── fixtures ─────────────────────────────

/** Ratings tasks on synthetic ratings (worker/recsys/synthetic.ts), holdout unless overridden. */
function makeTask(overrides: TaskOverrides): Task {
  const spec = validateSpec({
    name: 'ratings-engine',
    dataset: { kind: 'ratings', users: 120, items: 60, ratingsPerUser: 12 },
    seed: 3,
    validation: { kind: 'holdout', fraction: 0.25 },
    ...overrides.spec,
  });
  const params: Params = {
    ...DEFAULT_PARAMS,
    family: 'mf',
    depth: 1,
    width: 16,
    epochs: 3,
    batchSize: 64,
    learningRate: 0.01,
    l2: 0.02,
    factors: 4,
    ...overrides.params,
  };
  return {
    taskId: 'ratings-engine:0:1',
    runId: 1,
    foldIndex: overrides.foldIndex ?? 0,
    attempt: 1,
    kind: overrides.kind ?? 'search',
    spec,
    taskKind: 'regression',
    params,
    ...(overrides.refit ? { refit: overrides.refit } : {}),
  };
}

function withRecsysEngine<T>(value: 'fast' | 'layers', body: () => Promise<T>): Promise<T> {
  return withEnv(RECSYS_ENGINE_ENV_VAR, value, body);
}

/**
 * Random ratings over a small model: users 1…userRows−1 and items likewise (index 0, the unknown
 * one, never appears); side features for ncf.
 */
function randomRows(family: Params['family'], shape: RatingsModelShape, n: number, seed: number): RatingsRows {
  const rng = createRng(seed);
  return {
    users: Int32Array.from({ length: n }, () => 1 + rng.int(shape.userRows - 1)),
    items: Int32Array.from({ length: n }, () => 1 + rng.int(shape.itemRows - 1)),
    features: family === 'ncf' && shape.nFeatures > 0 ? Float32Array.from({ length: n * shape.nFeatures }, () => rng.normal()) : null,
    y: Float32Array.from({ length: n }, () => 1 + 4 * rng.next()),
    n,
  };
}

/** Rows `picked` of a row-major matrix of `width` columns. */
function gatherRows(values: Float32Array, width: number, picked: Int32Array): Float32Array {
  const out = new Float32Array(picked.length * width);
  picked.forEach((r, i) => {
    out.set(values.subarray(r * width, (r + 1) * width), i * width);
  });
  return out;
}

/** The rows as the layers model's inputs, in `ratingsInputs` order. */
function inputTensors(rows: RatingsRows, nFeatures: number, subset?: Int32Array): Tensor2D[] {
  const picked = subset ?? Int32Array.from({ length: rows.n }, (_, i) => i);
  const tensors = [
    tf.tensor2d(
      Int32Array.from(picked, (r) => rows.users[r]!),
      [picked.length, 1],
      'int32',
    ),
    tf.tensor2d(
      Int32Array.from(picked, (r) => rows.items[r]!),
      [picked.length, 1],
      'int32',
    ),
  ];
  if (rows.features !== null) tensors.push(tf.tensor2d(gatherRows(rows.features, nFeatures, picked), [picked.length, nFeatures]));
  return tensors;
}

function hyperOf(params: Params): RatingsHyperparameters {
  return {
    optimizer: params.optimizer,
    learningRate: params.learningRate,
    l2: params.l2,
    dropout: params.dropout,
    embeddingSteps: 'exact',
  };
}

/** An engine and the layers model it starts from (the same seeded weights). */
function enginePair(params: Params, shape: RatingsModelShape) {
  const built = buildRatingsModel(tf, params, shape, 17);
  const engine = RatingsEngine.create(tf, ratingsArchitectureFor(params, shape), hyperOf(params), readLayerWeights(built.model), {
    seed: 5,
  });
  return { ...built, engine };
}

/** The layers model's objective on `inputs`: the mean squared error plus the per-rating embedding penalty (recsys/models.ts). */
function layersObjective(built: ReturnType<typeof buildRatingsModel>, inputs: Tensor2D[], y: Float32Array, training: boolean): Scalar {
  const output = built.model.apply(inputs.length === 1 ? inputs[0]! : inputs, { training }) as Tensor;
  const loss = tf.mean(tf.square(tf.sub(output, tf.tensor2d(y, [y.length, 1])))) as Scalar;
  return built.penalty === null ? loss : tf.add(loss, built.penalty(inputs));
}

/** Autodiff gradients of the layers model by layer name, as `RatingsEngine.gradient` returns them. */
function layersGradient(model: LayersModel, objective: () => Scalar): Map<string, Float32Array[]> {
  const variables = model.trainableWeights.map((weight) => weight.read() as InstanceType<TensorFlow['Variable']>);
  const out = new Map<string, Float32Array[]>();
  tf.tidy(() => {
    const { grads } = tf.variableGrads(objective, variables);
    let v = 0;
    for (const layer of model.layers) {
      const values = layer.trainableWeights.map(() => grads[variables[v++]!.name]!.dataSync() as Float32Array);
      if (values.length > 0) out.set(layer.name, values);
    }
  });
  return out;
}

/** Largest absolute difference over every layer, relative to the largest absolute reference value. */
function relativeError(actual: LayerWeights, expected: LayerWeights): number {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), 'the same layers');
  let scale = 0;
  let error = 0;
  for (const [name, reference] of expected) {
    reference.forEach((values, w) => {
      const mine = actual.get(name)![w]!;
      assert.equal(mine.length, values.length, `${name}[${w}] has the wrong size`);
      for (let j = 0; j < values.length; j++) {
        scale = Math.max(scale, Math.abs(values[j]!));
        error = Math.max(error, Math.abs(mine[j]! - values[j]!));
      }
    });
  }
  return error / Math.max(scale, 1e-12);
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i]!)), 0);
}

const SHAPE: RatingsModelShape = { userRows: 7, itemRows: 6, nFeatures: 5, globalMean: 3.4 };

type Case = { readonly name: string; readonly params: Partial<Params>; readonly shape?: Partial<RatingsModelShape> };

const CASES: Case[] = [
  { name: 'mf', params: { family: 'mf', factors: 3, l2: 0.05 } },
  { name: 'mf without L2', params: { family: 'mf', factors: 2, l2: 0 } },
  { name: 'ncf, features, no dot term', params: { family: 'ncf', factors: 3, depth: 2, width: 6, activation: 'relu', l2: 0.05 } },
  {
    name: 'ncf, features and dot term',
    params: { family: 'ncf', factors: 3, depth: 1, width: 5, activation: 'tanh', useDotTerm: true, l2: 0.1 },
  },
  {
    name: 'ncf, dot term, no features, depth 0',
    params: { family: 'ncf', factors: 2, depth: 0, useDotTerm: true, l2: 0.02 },
    shape: { nFeatures: 0 },
  },
  {
    name: 'ncf, no features, halving selu tower',
    params: { family: 'ncf', factors: 4, depth: 2, width: 8, widthSchedule: 'halve', activation: 'selu' },
    shape: { nFeatures: 0 },
  },
];

// ───────────────────────────── gradients and optimizer steps ─────────────────────────────

for (const gradientBackend of ['wasm', 'cpu'] as const) {
  test(`ratings engine on ${gradientBackend}: hand-written gradients equal autodiff’s (mf; ncf ± dot term, ± features)`, async () => {
    await selectBackend(gradientBackend);
    try {
      await checkGradients();
    } finally {
      await selectBackend(backend);
    }
  });
}

async function checkGradients(): Promise<void> {
  const before = tf.memory().numTensors;
  for (const [c, { name, params: overrides, shape: shapeOverrides }] of CASES.entries()) {
    const params: Params = { ...DEFAULT_PARAMS, learningRate: 0.05, ...overrides };
    const shape = { ...SHAPE, ...shapeOverrides };
    const built = enginePair(params, shape);
    const { engine, model } = built;
    const rows = randomRows(params.family, shape, 23, 100 + c);
    const order = Int32Array.from({ length: rows.n }, (_, i) => i);
    try {
      // Away from the initial weights first (biases no longer zero), then into the layers model.
      await engine.trainEpoch(rows, order, 8);
      writeLayerWeights(tf, model, await engine.layerWeights());
      // A batch that looks some users up twice and others not at all.
      const batch = Int32Array.from([0, 3, 4, 7, 9, 11, 12, 15, 20, 3]);
      const inputs = inputTensors(rows, shape.nFeatures, batch);
      const y = Float32Array.from(batch, (r) => rows.y[r]!);
      try {
        const expected = layersGradient(model, () => layersObjective(built, inputs, y, false));
        const error = relativeError(await engine.gradient(rows, batch), expected);
        assert.ok(error < 2e-5, `${name}: gradient error ${error}`);
        // The forward pass is the layers model's too.
        const all = inputTensors(rows, shape.nFeatures);
        const predicted = maxDifference(await engine.predict(rows), await predictArray(model, all));
        for (const tensor of all) tensor.dispose();
        assert.ok(predicted < 1e-5, `${name}: predictions differ by ${predicted}`);
      } finally {
        for (const tensor of inputs) tensor.dispose();
      }
      // Finite differences of the engine's own objective, on a few weights of each layer.
      await checkFiniteDifferences(built, rows, batch, name);
    } finally {
      engine.dispose();
      model.dispose();
    }
  }
  assert.equal(tf.memory().numTensors, before);
}

/** Central differences (float64 objective from the engine's float32 predictions) against the engine's gradient. */
async function checkFiniteDifferences(built: ReturnType<typeof enginePair>, rows: RatingsRows, batch: Int32Array, name: string) {
  const { engine } = built;
  const gradient = await engine.gradient(rows, batch);
  const weights = await engine.layerWeights();
  const params = engine.hyper;
  const subset: RatingsRows = {
    users: Int32Array.from(batch, (r) => rows.users[r]!),
    items: Int32Array.from(batch, (r) => rows.items[r]!),
    features: rows.features === null ? null : gatherRows(rows.features, engine.architecture.nFeatures, batch),
    y: Float32Array.from(batch, (r) => rows.y[r]!),
    n: batch.length,
  };
  const objective = async (values: LayerWeights): Promise<number> => {
    const probe = RatingsEngine.create(tf, engine.architecture, params, withMean(values, built.model), { seed: 1 });
    const p = await probe.predict(subset);
    probe.dispose();
    let sum = 0;
    for (let r = 0; r < subset.n; r++) sum += (p[r]! - subset.y[r]!) ** 2;
    let penalty = 0;
    for (const [layer, [table]] of values) {
      if (!layer.includes('user') && !layer.includes('item')) continue;
      const dim = table!.length / (layer.startsWith('user') ? engine.architecture.userRows : engine.architecture.itemRows);
      const ids = layer.startsWith('user') ? subset.users : subset.items;
      for (const id of ids) for (let j = 0; j < dim; j++) penalty += table![id * dim + j]! ** 2;
    }
    return sum / subset.n + (params.l2 * penalty) / subset.n;
  };
  const h = 1e-3;
  for (const [layer, values] of weights) {
    for (let w = 0; w < values.length; w++) {
      // The entries of a row the batch used (row 1 onwards) and of the last row: a few per weight.
      for (const j of [values[w]!.length - 1, Math.floor(values[w]!.length / 2), 3 % values[w]!.length]) {
        const shifted = (delta: number) => {
          const copy = new Map([...weights].map(([key, list]) => [key, list.map((array) => array.slice())]));
          copy.get(layer)![w]![j]! += delta;
          return copy;
        };
        const numeric = ((await objective(shifted(h))) - (await objective(shifted(-h)))) / (2 * h);
        const analytic = gradient.get(layer)![w]![j]!;
        assert.ok(
          Math.abs(numeric - analytic) < 2e-3 + 2e-2 * Math.abs(analytic),
          `${name}: ${layer}[${w}][${j}] finite difference ${numeric}, engine ${analytic}`,
        );
      }
    }
  }
}

/** Weights for a fresh engine: the given ones plus the untrained layers (μ) of the model. */
function withMean(values: LayerWeights, model: LayersModel): LayerWeights {
  return new Map([...readLayerWeights(model), ...values]);
}

test('ratings engine: every optimizer takes tf.train’s steps on the layers model (exact Adam: untouched rows move too)', async () => {
  const before = tf.memory().numTensors;
  const rates = { adam: 0.05, sgd: 0.2, rmsprop: 0.02, adagrad: 0.2 } as const;
  for (const c of [CASES[0]!, CASES[3]!]) {
    for (const optimizerName of ['adam', 'sgd', 'rmsprop', 'adagrad'] as const) {
      const params: Params = { ...DEFAULT_PARAMS, ...c.params, optimizer: optimizerName, learningRate: rates[optimizerName] };
      const built = enginePair(params, SHAPE);
      const { engine, model } = built;
      const optimizer: Optimizer = createOptimizer(tf, params);
      const variables = model.trainableWeights.map((weight) => weight.read() as InstanceType<TensorFlow['Variable']>);
      const rows = randomRows(params.family, SHAPE, 14, 7);
      const order = Int32Array.from({ length: rows.n }, (_, i) => i);
      const batchSize = 4; // batches of 4, 4, 4 and 2: most steps leave some rows untouched
      try {
        for (let epoch = 0; epoch < 3; epoch++) {
          await engine.trainEpoch(rows, order, batchSize);
          for (let start = 0; start < rows.n; start += batchSize) {
            const batch = order.subarray(start, Math.min(rows.n, start + batchSize));
            tf.tidy(() => {
              const inputs = inputTensors(rows, SHAPE.nFeatures, batch);
              const y = Float32Array.from(batch, (r) => rows.y[r]!);
              optimizer.minimize(() => layersObjective(built, inputs, y, true), false, variables);
            });
          }
        }
        const expected = new Map(
          model.layers
            .filter((layer) => layer.trainableWeights.length > 0)
            .map((layer) => [layer.name, layer.getWeights().map((weight) => weight.dataSync() as Float32Array)]),
        );
        const error = relativeError(await engine.layerWeights(), expected);
        assert.ok(error < 1e-4, `${c.name}, ${optimizerName}: weights differ from tf.train's by ${error} (relative)`);
      } finally {
        optimizer.dispose();
        engine.dispose();
        model.dispose();
      }
    }
  }
  assert.equal(tf.memory().numTensors, before);
});

test('side features by embedding index: found on training rows, not where cold users share index 0; the same training', async () => {
  const shape = { ...SHAPE, nFeatures: 5 };
  const userWidth = 2;
  const rng = createRng(11);
  const userX = Float32Array.from({ length: shape.userRows * userWidth }, () => rng.normal());
  const itemX = Float32Array.from({ length: shape.itemRows * (shape.nFeatures - userWidth) }, () => rng.normal());
  const base = randomRows('ncf', shape, 40, 12);
  const features = new Float32Array(base.n * shape.nFeatures);
  for (let r = 0; r < base.n; r++) {
    const u = base.users[r]!;
    const i = base.items[r]!;
    features.set(userX.subarray(u * userWidth, (u + 1) * userWidth), r * shape.nFeatures);
    features.set(itemX.subarray(i * 3, (i + 1) * 3), r * shape.nFeatures + userWidth);
  }
  const rows: RatingsRows = { ...base, features };
  const sides = sideFeatures(rows, userWidth, shape.userRows, shape.itemRows);
  assert.ok(sides !== null);
  for (const u of new Set(rows.users)) assert.deepEqual(sides.users.subarray(u * 2, u * 2 + 2), userX.subarray(u * 2, u * 2 + 2));
  for (const i of new Set(rows.items)) assert.deepEqual(sides.items.subarray(i * 3, i * 3 + 3), itemX.subarray(i * 3, i * 3 + 3));
  // Two cold users (index 0) with different features: not a function of the index.
  const cold = { ...rows, users: Int32Array.from(rows.users, (u, r) => (r < 2 ? 0 : u)), features: features.slice() };
  cold.features[0]! += 1;
  assert.equal(sideFeatures(cold, userWidth, shape.userRows, shape.itemRows), null);
  assert.equal(sideFeatures({ ...rows, features: null }, userWidth, shape.userRows, shape.itemRows), null);

  // The same training from the tables as from the per-row features (dropout on, NeuMF).
  const params: Params = { ...DEFAULT_PARAMS, ...CASES[3]!.params, dropout: 0.2, learningRate: 0.05 };
  const order = Int32Array.from({ length: rows.n }, (_, i) => rows.n - 1 - i);
  const trained = async (withSides: boolean) => {
    const { engine, model } = enginePair(params, shape);
    try {
      for (let epoch = 0; epoch < 2; epoch++) await engine.trainEpoch(withSides ? { ...rows, sides } : rows, order, 8);
      return await engine.layerWeights();
    } finally {
      engine.dispose();
      model.dispose();
    }
  };
  assert.deepEqual(await trained(true), await trained(false));
});

test('the SIMD kernels train ncf bit for bit as the JavaScript loops (dropout, dot term, lazy and exact steps)', async () => {
  const shape = { ...SHAPE, userRows: 23, itemRows: 19 };
  const rows = randomRows('ncf', shape, 61, 9);
  const order = Int32Array.from({ length: rows.n }, (_, i) => (i * 17) % rows.n);
  for (const embeddingSteps of ['lazy', 'exact'] as const) {
    const params: Params = {
      ...DEFAULT_PARAMS,
      family: 'ncf',
      factors: 5,
      depth: 2,
      width: 9,
      activation: 'relu',
      useDotTerm: true,
      dropout: 0.25,
      l2: 0.01,
      learningRate: 0.02,
    };
    const trained = (kernels: 'wasm' | 'js') =>
      withEnv(ENGINE_KERNELS_ENV_VAR, kernels, async () => {
        const built = buildRatingsModel(tf, params, shape, 17);
        const engine = RatingsEngine.create(
          tf,
          ratingsArchitectureFor(params, shape),
          { ...hyperOf(params), embeddingSteps },
          readLayerWeights(built.model),
          { seed: 5 },
        );
        try {
          // Batches of 8 (the last one 5), then of 16: the tower's scratch memory is made again for the larger batch.
          const losses = [await engine.trainEpoch(rows, order, 8), await engine.trainEpoch(rows, order, 16)];
          return { losses, weights: await engine.layerWeights(), predictions: await engine.predict(rows) };
        } finally {
          engine.dispose();
          built.model.dispose();
        }
      });
    assert.deepEqual(await trained('wasm'), await trained('js'), embeddingSteps);
  }
});

test('lazy embedding steps: a row waits between the batches that rate it; one rated in every batch moves as under exact', async () => {
  // mf with Adam, 4 batches of 4: user 1 and item 1 are in every batch, only with each other, so
  // their gradients, moments and steps are the same either way; user 5 is rated in batch 0 only.
  const params: Params = { ...DEFAULT_PARAMS, family: 'mf', factors: 3, l2: 0.05, learningRate: 0.05 };
  const users = Int32Array.from([1, 5, 2, 3, 1, 2, 3, 4, 1, 4, 2, 3, 1, 3, 4, 2]);
  const items = Int32Array.from([1, 2, 3, 4, 1, 3, 2, 4, 1, 4, 3, 2, 1, 2, 4, 3]);
  const rng = createRng(4);
  const rows: RatingsRows = { users, items, features: null, y: Float32Array.from(users, () => 1 + 4 * rng.next()), n: users.length };
  const { factors, bias } = RATINGS_LAYERS;
  const row = (weights: LayerWeights, layer: string, index: number) => {
    const table = weights.get(layer)![0]!;
    const dim = layer === factors.user || layer === factors.item ? 3 : 1;
    return Array.from(table.subarray(index * dim, (index + 1) * dim));
  };
  const trained = async (embeddingSteps: 'exact' | 'lazy') => {
    const built = buildRatingsModel(tf, params, SHAPE, 17);
    const hyper = { ...hyperOf(params), embeddingSteps };
    const engine = RatingsEngine.create(tf, ratingsArchitectureFor(params, SHAPE), hyper, readLayerWeights(built.model), { seed: 5 });
    try {
      const order = Int32Array.from({ length: rows.n }, (_, i) => i);
      await engine.trainEpoch(rows, order.subarray(0, 4), 4);
      const afterFirst = await engine.layerWeights();
      await engine.trainEpoch(rows, order.subarray(4), 4);
      return { afterFirst, last: await engine.layerWeights() };
    } finally {
      engine.dispose();
      built.model.dispose();
    }
  };
  const exact = await trained('exact');
  const lazy = await trained('lazy');
  for (const layer of [factors.user, bias.user]) {
    assert.deepEqual(row(lazy.last, layer, 5), row(lazy.afterFirst, layer, 5), `lazy: ${layer} row 5 waits`);
    assert.notDeepEqual(row(exact.last, layer, 5), row(exact.afterFirst, layer, 5), `exact: ${layer} row 5 keeps moving`);
  }
  for (const layer of [factors.user, factors.item, bias.user, bias.item])
    assert.deepEqual(row(lazy.last, layer, 1), row(exact.last, layer, 1), `${layer} row 1: the same steps`);
  // Never rated (no gradient, zero moments): the same either way.
  assert.deepEqual(row(lazy.last, factors.item, 5), row(exact.last, factors.item, 5));
});

test('FOLDWISE_EMBEDDING_STEPS: lazy by default, exact on request, anything else is an error', () => {
  const previous = process.env[EMBEDDING_STEPS_ENV_VAR];
  try {
    delete process.env[EMBEDDING_STEPS_ENV_VAR];
    assert.equal(embeddingStepsChoice(), 'lazy');
    process.env[EMBEDDING_STEPS_ENV_VAR] = 'exact';
    assert.equal(embeddingStepsChoice(), 'exact');
    process.env[EMBEDDING_STEPS_ENV_VAR] = 'sparse';
    assert.throws(() => embeddingStepsChoice(), /FOLDWISE_EMBEDDING_STEPS must be "exact" or "lazy"; got "sparse"/);
  } finally {
    if (previous === undefined) delete process.env[EMBEDDING_STEPS_ENV_VAR];
    else process.env[EMBEDDING_STEPS_ENV_VAR] = previous;
  }
});

// ───────────────────────────── as a trainer ─────────────────────────────

test('ratings trainer: snapshot and restore bring back exactly the held-out metrics, no leaks', async () => {
  const before = tf.memory().numTensors;
  for (const params of [{ family: 'mf' }, { family: 'ncf', useDotTerm: true, dropout: 0.2 }] as Partial<Params>[]) {
    await checkSnapshotRestore(createRatingsTrainer(await trainerSetup(tf, makeTask({ params }))));
  }
  assert.equal(tf.memory().numTensors, before);
});

test('ratings trainer: aborting stops at the next batch with an AbortError, no leaks', async () => {
  for (const family of ['mf', 'ncf'] as const) {
    await checkAbortStopsAtNextBatch(
      tf,
      backend,
      (overrides) => makeTask({ ...overrides, params: { ...overrides.params, family } }),
      'fast',
    );
  }
});

test('ratings trainer: divergence → DivergedError at epoch 0, no leaks', async () => {
  const before = tf.memory().numTensors;
  for (const family of ['mf', 'ncf'] as const) {
    const task = makeTask({ params: { family, optimizer: 'sgd', learningRate: 1e12, epochs: 4 } });
    await assert.rejects(run(tf, backend, task), (error: unknown) => {
      assert.ok(error instanceof DivergedError, `${family}: ${String(error)}`);
      assert.equal(error.epoch, 0);
      return true;
    });
  }
  assert.equal(tf.memory().numTensors, before);
});

test('ratings engine: a trained model, saved and loaded, predicts what the engine predicts', async () => {
  for (const params of [{ family: 'mf' }, { family: 'ncf', useDotTerm: true, dropout: 0.1 }] as Partial<Params>[]) {
    const task = makeTask({ params });
    const setup = await trainerSetup(tf, task);
    const ratings = setup.data.ratings!;
    const built = buildRatingsModel(tf, task.params, ratings.shape, setup.seeds.init);
    const engine = RatingsEngine.create(
      tf,
      ratingsArchitectureFor(task.params, ratings.shape),
      hyperOf(task.params),
      readLayerWeights(built.model),
      { seed: setup.seeds.dropout },
    );
    const train = ratingsRows(setup.data.train, task.params.family, ratings.shape.nFeatures);
    const held = ratingsRows(setup.data.held, task.params.family, ratings.shape.nFeatures);
    const dir = join(scratch, `saved-${task.params.family}`);
    try {
      for (let epoch = 0; epoch < 3; epoch++)
        await engine.trainEpoch(
          train,
          Int32Array.from({ length: train.n }, (_, i) => i),
          32,
        );
      writeLayerWeights(tf, built.model, await engine.layerWeights());
      const preprocessing = describePreprocessing({
        task: 'regression',
        encoding: setup.data.encoding,
        standardizer: setup.data.standardizer,
        classes: null,
        params: task.params,
        backend,
        seed: task.spec.seed,
        ratings: ratings.saved(),
      });
      await saveModel(tf, built.model, dir, preprocessing);
    } finally {
      built.model.dispose();
    }
    const saved = await loadSavedModel(tf, dir);
    const inputs = setup.data.held.inputs.map((input) =>
      tf.tensor2d(input.values, [setup.data.held.n, input.width], input.values instanceof Int32Array ? 'int32' : 'float32'),
    );
    try {
      const difference = maxDifference(await predictArray(saved.model, inputs), await engine.predict(held));
      assert.ok(difference < 1e-5, `${task.params.family}: the loaded model's predictions differ by ${difference}`);
    } finally {
      for (const tensor of inputs) tensor.dispose();
      saved.model.dispose();
      engine.dispose();
    }
  }
});

test('FOLDWISE_RECSYS_ENGINE: fast by default for mf, ncf and mlp on ratings; layers opts out; anything else is an error', async () => {
  for (const family of ['mf', 'ncf', 'mlp'] as const) assert.equal(usesRecsysEngine(makeTask({ params: { family } }), tf), true);
  await withRecsysEngine('layers', async () => assert.equal(usesRecsysEngine(makeTask({ params: { family: 'ncf' } })), false));
  process.env[RECSYS_ENGINE_ENV_VAR] = 'turbo';
  try {
    assert.throws(() => usesRecsysEngine(makeTask({})), /FOLDWISE_RECSYS_ENGINE must be "fast" or "layers"; got "turbo"/);
  } finally {
    delete process.env[RECSYS_ENGINE_ENV_VAR];
  }
});

// ───────────────────────────── the same results as the layers path ─────────────────────────────

test('fast and layers paths reach the same CV RMSE on synthetic ratings (3 folds, 2 seeds, early stopping)', async (t) => {
  const families: Partial<Params>[] = [
    { family: 'mf', factors: 8, l2: 0.05 },
    { family: 'ncf', factors: 8, depth: 2, width: 32, widthSchedule: 'halve', dropout: 0.1, useDotTerm: true, l2: 0.05 },
    { family: 'mlp', depth: 2, width: 32, widthSchedule: 'halve', l2: 0.001 },
  ];
  const rows: string[] = [];
  for (const params of families) {
    for (const seed of [1, 2]) {
      const cv = async (engine: 'fast' | 'layers') => {
        const scores: number[] = [];
        let firstCurve: unknown = null;
        for (let fold = 0; fold < 3; fold++) {
          const task = makeTask({
            params: { ...params, epochs: 10, batchSize: 128, learningRate: 0.01 },
            spec: {
              seed,
              dataset: { kind: 'ratings', users: 240, items: 120, ratingsPerUser: 15 },
              validation: { kind: 'kfold', k: 3, earlyStopping: { monitor: 'val_rmse', patience: 2, restoreBestWeights: true } },
            },
            foldIndex: fold,
          });
          const { result, curve } = await withRecsysEngine(engine, () => run(tf, backend, task));
          firstCurve ??= curve;
          scores.push(result.bestMetrics.val_rmse!);
        }
        return { rmse: scores.reduce((sum, value) => sum + value, 0) / scores.length, curve: firstCurve };
      };
      const fast = await cv('fast');
      const layers = await cv('layers');
      rows.push(`${params.family} seed ${seed}: fast ${fast.rmse.toFixed(4)}, layers ${layers.rmse.toFixed(4)}`);
      assert.notDeepEqual(fast.curve, layers.curve, 'two different paths ran');
      assert.ok(
        Math.abs(fast.rmse - layers.rmse) < 0.02,
        `${params.family}, seed ${seed}: CV RMSE fast ${fast.rmse}, layers ${layers.rmse}`,
      );
    }
  }
  t.diagnostic(`CV RMSE (mean of 3 folds): ${rows.join('; ')}`);
});
