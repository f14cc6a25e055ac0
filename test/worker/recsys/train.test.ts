import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../../worker/backend.js';
import { loadSavedModel, predictFromCsv, predictRows } from '../../../worker/models/model-files.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../../../worker/contract/spec.js';
import { RATINGS_EXTRA_METRICS } from '../../../worker/contract/vocabulary.js';
import type { EpochMetrics, Task } from '../../../worker/contract/protocol.js';
import { createLayersTrainer } from '../../../worker/training/layers-trainer.js';
import { runTask } from '../../../worker/training/run-task.js';
import { ensureEmbeddingGradients } from '../../../worker/recsys/wasm-kernels.js';
import type { RatingsPreprocessing } from '../../../worker/recsys/preprocessing.js';
import { checkSnapshotRestore, trainerSetup } from '../../helpers/run-task.js';

const scratch = mkdtempSync(join(tmpdir(), 'foldwise-recsys-train-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

const { tf, backend } = await selectBackend();
const ctx = { tf, backend };

const spec = validateSpec({
  name: 'recsys-train',
  dataset: { kind: 'ratings', users: 120, items: 60, ratingsPerUser: 12 },
  seed: 3,
  validation: { kind: 'holdout', fraction: 0.25, earlyStopping: { monitor: 'val_rmse', patience: 2 } },
});

function makeTask(params: Partial<Params>, kind: Task['kind'] = 'search', modelDir?: string): Task {
  const all: Params = {
    ...DEFAULT_PARAMS,
    depth: 1,
    width: 16,
    epochs: 3,
    batchSize: 64,
    learningRate: 0.01,
    l2: 0.02,
    factors: 4,
    ...params,
  };
  return {
    taskId: 't:0:1',
    runId: 1,
    foldIndex: 0,
    attempt: 1,
    kind,
    spec,
    taskKind: 'regression',
    params: all,
    ...(modelDir ? { refit: { epochs: 3, modelDir } } : {}),
  };
}

async function search(params: Partial<Params>) {
  const curve: EpochMetrics[] = [];
  const result = await runTask(makeTask(params), ctx, (_, metrics) => void curve.push(metrics));
  return { result, curve };
}

test('search on ratings: every family trains and records RMSE, MAE, the mean baseline and the cold-start rows per epoch', async () => {
  const before = tf.memory().numTensors;
  for (const params of [
    { family: 'mf' },
    { family: 'ncf' },
    { family: 'ncf', useDotTerm: true, dropout: 0.2 },
    { family: 'mlp' },
  ] as Partial<Params>[]) {
    const { result, curve } = await search(params);
    assert.equal(curve.length, 3, JSON.stringify(params));
    for (const metrics of curve) {
      for (const name of ['loss', 'val_loss', 'val_rmse', 'val_mae', 'val_r2', ...RATINGS_EXTRA_METRICS.map((metric) => `val_${metric}`)]) {
        assert.ok(name in metrics, `${name} recorded for ${JSON.stringify(params)}`);
      }
      assert.ok(Number.isFinite(metrics.val_rmse));
      assert.equal(metrics.val_baseline_rmse, curve[0]!.val_baseline_rmse, 'the baseline is a constant line');
    }
    assert.ok(curve[0]!.val_cold_rows! > 0, 'this split has cold-start rows, and they are predicted');
    assert.ok(Number.isFinite(curve[0]!.val_cold_rmse));
    assert.ok(result.paramCount > 0);
    assert.ok(
      result.bestMetrics.val_rmse! < result.bestMetrics.val_baseline_rmse! + 0.05,
      `${JSON.stringify(params)} is not far worse than the mean`,
    );
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
});

test('ratings training is reproducible: same task, same curve (seeded embeddings, dropout, shuffles)', async () => {
  const a = await search({ family: 'ncf', useDotTerm: true, dropout: 0.3 });
  const b = await search({ family: 'ncf', useDotTerm: true, dropout: 0.3 });
  assert.deepEqual(a.curve, b.curve);
});

test('ratings on the layers trainer: snapshot and restore bring back exactly the held-out metrics (extra ones too), no leaks', async () => {
  const before = tf.memory().numTensors;
  for (const family of ['mf', 'ncf'] as const) {
    const setup = await trainerSetup(tf, makeTask({ family, useDotTerm: true, dropout: 0.2 }));
    await checkSnapshotRestore(createLayersTrainer(setup));
  }
  assert.equal(tf.memory().numTensors, before);
});

test('refit saves a plain layers model with id maps and encoders; predict takes (user, item) rows, unknown ids included', async () => {
  for (const family of ['mf', 'ncf', 'mlp'] as const) {
    const dir = join(scratch, `model-${family}`);
    const result = await runTask(makeTask({ family, useDotTerm: family === 'ncf' }, 'refit', dir), ctx, () => undefined);
    assert.ok(Number.isFinite(result.testMetrics!.test_rmse));
    assert.ok(result.testMetrics!.test_cold_rows! >= 0 && 'test_baseline_rmse' in result.testMetrics!);

    const preprocessing = JSON.parse(readFileSync(join(dir, 'preprocessing.json'), 'utf8')) as {
      params: Params;
      ratings: RatingsPreprocessing;
    };
    const ratings = preprocessing.ratings;
    assert.equal(preprocessing.params.family, family);
    assert.deepEqual(ratings.inputs, family === 'mf' ? ['user', 'item'] : family === 'ncf' ? ['user', 'item', 'features'] : ['features']);
    assert.ok(ratings.users.embedded.length > 80 && ratings.users.table.ids.length === 120);
    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
      format: string;
      modelTopology: { class_name: string };
    };
    assert.equal(modelJson.format, 'layers-model');

    const saved = await loadSavedModel(tf, dir);
    try {
      const known = ratings.users.embedded[0]!;
      const item = ratings.items.embedded[0]!;
      const table = await predictRows(tf, saved, [
        { user: known, item, rating: '4' },
        { user: 'new-user', item, age: '30', gender: 'F', occupation: 'artist' },
        { user: 'new-user', item: 'new-item' },
      ]);
      assert.deepEqual(table.header, ['row', 'prediction', 'user_seen', 'item_seen']);
      assert.deepEqual(
        table.rows.map((row) => row.slice(2)),
        [
          ['true', 'true'],
          ['false', 'true'],
          ['false', 'false'],
        ],
      );
      for (const row of table.rows) assert.ok(Number.isFinite(row[1]), `finite prediction for ${family}`);
      if (family === 'mf') {
        // Unknown user and item: zero embeddings and biases, so exactly μ.
        assert.ok(Math.abs((table.rows[2]![1] as number) - ratings.globalMean) < 1e-5, `μ for a fully cold pair, got ${table.rows[2]![1]}`);
        // The reserved unknown rows stayed zero through training.
        for (const layer of ['user_factors', 'item_factors', 'user_bias', 'item_bias']) {
          const weights = saved.model.getLayer(layer).getWeights()[0]!;
          const row0 = await weights.slice([0, 0], [1, -1]).data();
          assert.ok(
            row0.every((v) => v === 0),
            `${layer} row 0 is zero`,
          );
        }
      }
      await assert.rejects(predictRows(tf, saved, [{ item }], { source: 'in.csv' }), /in\.csv, row 2: column "user" is missing/);
    } finally {
      saved.model.dispose();
    }
    // The one-call form used by `foldwise predict`, with the layout's own column names or user/item.
    const viaCsv = await predictFromCsv(tf, dir, [{ user: ratings.users.embedded[1]!, item: ratings.items.embedded[1]! }]);
    assert.equal(viaCsv.rows.length, 1);
  }
});

test('embedding gradients work on the active backend (wasm lacks UnsortedSegmentSum; it is registered as a ScatterNd)', async () => {
  ensureEmbeddingGradients(tf);
  const table = tf.variable(tf.zeros([4, 2]));
  const grads = tf.tidy(() => {
    const { grads: g } = tf.variableGrads(
      () =>
        tf
          .gather(table, tf.tensor1d([1, 3, 1], 'int32'))
          .mul(
            tf.tensor2d([
              [1, 2],
              [3, 4],
              [5, 6],
            ]),
          )
          .sum() as ReturnType<typeof tf.scalar>,
      [table],
    );
    return g[table.name]!;
  });
  assert.deepEqual(await grads.array(), [
    [0, 0],
    [6, 8],
    [0, 0],
    [3, 4],
  ]);
  grads.dispose();
  table.dispose();
});
