import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../server/storage/storage.js';
import { Coordinator } from '../../server/coordinator/coordinator.js';
import { WorkerPool } from '../../server/coordinator/worker-pool.js';
import { categoricalLogLoss, mse } from '../../worker/training/metrics.js';

const IRIS = `
name: iris-drawn
dataset: { kind: iris }
model: { width: 8, epochs: 3, learningRate: 0.05, batchSize: 16 }
validation: { kind: kfold, k: 2 }
seed: 3
`;

const SINE = `
name: sine-drawn
dataset: { kind: sine, rows: 200 }
model: { width: 8, epochs: 3, activation: tanh }
validation: { kind: kfold, k: 2 }
seed: 3
`;

test('through real workers: a refit stores its test predictions, regression folds their out-of-fold ones', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'foldwise-test-predictions-'));
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  const pool = new WorkerPool({ size: 1 });
  try {
    const coordinator = new Coordinator(storage, pool, { dataDir });
    for (const spec of [IRIS, SINE]) {
      const { experiment, info } = await coordinator.prepare(spec, { baseDir: dataDir });
      await coordinator.search(experiment.experimentId);
      const { model, sourceRun } = await coordinator.refit(experiment.experimentId);
      const stored = storage.testPredictions.ofModel(model.modelId);
      assert.ok(stored, `${experiment.name}: the refit kept its test predictions`);
      assert.equal(stored.targets.length, info.testRows, 'one per test row');
      const loss = model.testMetrics.test_loss!;
      const outOfFold = storage.outOfFold.ofRun(sourceRun.runId);
      assert.equal(outOfFold.length, 2, 'both folds kept their out-of-fold predictions');
      if (info.task === 'multiclass') {
        assert.deepEqual(stored.classes, ['setosa', 'versicolor', 'virginica']);
        assert.ok(Math.abs(categoricalLogLoss(stored.targets, stored.predictions, 3) - loss) < 1e-6, 'the predictions test_loss scores');
      } else {
        assert.equal(info.task, 'regression');
        assert.equal(stored.width, 1);
        assert.equal(stored.classes, null);
        assert.ok(Math.abs(mse(stored.targets, stored.predictions) - loss) < 1e-5, 'the predictions test_loss scores');
        assert.equal(outOfFold[0]!.width, 1);
      }
    }
  } finally {
    await pool.close();
    storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
