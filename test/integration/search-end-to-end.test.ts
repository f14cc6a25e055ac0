import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../server/storage/storage.js';
import { Coordinator } from '../../server/coordinator/coordinator.js';
import { WorkerPool } from '../../server/coordinator/worker-pool.js';

const SPEC = `
name: e2e
dataset: { kind: fraud, rows: 1500, features: 8, positiveRate: 0.1 }
model: { learningRate: 0.01, batchSize: 64 }
grid: { depth: [0, 2], width: 16, epochs: 4 }
validation: { kind: kfold, k: 3, stratified: true }
selection: { metric: auc }
seed: 6
`;

test('end to end: a tiny search through real worker processes and SQLite, then refit on all data', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'foldwise-e2e-'));
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  const pool = new WorkerPool({ size: 2 });
  try {
    const coordinator = new Coordinator(storage, pool, { dataDir });
    const { experiment, runsTotal, info } = await coordinator.prepare(SPEC, { baseDir: dataDir });
    assert.equal(runsTotal, 2);
    assert.equal(info.task, 'binary');
    assert.equal(info.nRows, 1500);
    assert.equal(info.testRows, 300, 'the test split is cut before the search');

    const summary = await coordinator.search(experiment.experimentId);
    assert.equal(summary.tasksTrained, 6);
    const runs = storage.runs.list(experiment.experimentId);
    assert.deepEqual(
      runs.map((r) => r.status),
      ['done', 'done'],
    );

    // One row per epoch per fold per metric: 4 epochs × 3 folds × (loss, accuracy + 4 val metrics).
    for (const run of runs) {
      const points = storage.metrics.ofRun(run.runId);
      const names = [...new Set(points.map((p) => p.name))].sort();
      assert.deepEqual(names, ['accuracy', 'loss', 'val_accuracy', 'val_auc', 'val_loss', 'val_pr_auc']);
      assert.equal(points.length, 4 * 3 * names.length);
      for (const name of names) {
        for (let fold = 0; fold < 3; fold++) {
          assert.deepEqual(
            points.filter((p) => p.name === name && p.foldIndex === fold).map((p) => p.epoch),
            [0, 1, 2, 3],
          );
        }
      }
      const folds = storage.runs.folds(run.runId);
      assert.equal(folds.length, 3);
      assert.ok(run.scoreMean! > 0.5 && run.scoreMean! <= 1, `score ${run.scoreMean}`);
      assert.ok(run.paramCount! > 0);
      assert.ok(['wasm', 'cpu', 'tensorflow'].includes(run.backend!));
    }

    const board = coordinator.leaderboard(experiment.experimentId);
    assert.ok(board[0]!.scoreMean! >= board[1]!.scoreMean!, 'leaderboard is ordered by mean AUC');

    const { refitRun, model, sourceRun } = await coordinator.refit(experiment.experimentId);
    assert.equal(sourceRun.runId, board[0]!.runId);
    assert.equal(refitRun.status, 'done');
    const auc = model.testMetrics.test_auc!;
    assert.ok(auc > 0.5 && auc <= 1, `test AUC ${auc}`);
    // The epoch metrics, and those at the operating threshold (0.5 here) with the Brier score and log loss.
    const decided = ['accuracy', 'precision', 'recall', 'f1', 'balanced_accuracy', 'mcc', 'brier', 'log_loss'];
    assert.deepEqual(
      Object.keys(model.testMetrics).sort(),
      [...new Set(['loss', 'auc', 'pr_auc', ...decided])].map((m) => `test_${m}`).sort(),
    );
    assert.equal(model.decision?.threshold, 0.5);
    assert.equal(storage.outOfFold.ofRun(sourceRun.runId).length, sourceRun.nFolds, 'every fold kept its out-of-fold predictions');
    for (const file of ['model.json', 'weights.bin', 'preprocessing.json']) assert.ok(existsSync(join(model.path, file)), `${file} saved`);
    assert.equal(storage.metrics.ofRun(refitRun.runId).filter((p) => p.name === 'loss').length, 4, 'the refit run has its own curve');
  } finally {
    await pool.close();
    storage.close();
  }
});
