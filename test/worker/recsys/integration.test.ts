import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../../server/storage/storage.js';
import { Coordinator } from '../../../server/coordinator/coordinator.js';
import { WorkerPool } from '../../../server/coordinator/worker-pool.js';
import type { Params } from '../../../worker/contract/spec.js';

// One grid over the three families on synthetic ratings whose truth is known: the rating depends
// on user and item features, on per-user/per-item effects and on a latent interaction.
const SPEC = `
name: recsys-families
dataset: { kind: ratings, users: 400, items: 200, ratingsPerUser: 20 }
model: { learningRate: 0.01, batchSize: 128, l2: 0.05, factors: 8, depth: 2, width: 32, widthSchedule: halve, epochs: 25 }
grid:
  family: [mf, ncf, mlp]
  useDotTerm: [false, true]
validation: { kind: holdout, fraction: 0.2, earlyStopping: { monitor: val_rmse, patience: 3, minDelta: 0.001 } }
selection: { metric: rmse }
seed: 11
`;

test('family comparison through real workers: on the test split, NCF with features beats MF, which beats the mean', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'foldwise-recsys-e2e-'));
  const storage = openStorage(':memory:');
  const pool = new WorkerPool({ size: 2 });
  try {
    const coordinator = new Coordinator(storage, pool, { dataDir });
    const { experiment, runsTotal, info } = await coordinator.prepare(SPEC, { baseDir: dataDir });
    assert.equal(info.task, 'regression');
    assert.equal(runsTotal, 4, 'useDotTerm only multiplies ncf: 1 mf + 2 ncf + 1 mlp');

    const summary = await coordinator.search(experiment.experimentId);
    assert.equal(summary.tasksTrained, 4);
    const board = coordinator.leaderboard(experiment.experimentId);
    assert.equal(
      board.length,
      4,
      `every run finished: ${JSON.stringify(storage.runs.list(experiment.experimentId).map((r) => [r.status, r.error]))}`,
    );
    const familyOf = (paramsJson: string) => (JSON.parse(paramsJson) as Params).family;

    // Curves carry the extra ratings metrics like any other metric.
    const names = new Set(storage.metrics.ofRun(board[0]!.runId).map((point) => point.name));
    for (const name of ['loss', 'val_rmse', 'val_mae', 'val_baseline_rmse', 'val_cold_rows', 'val_cold_rmse'])
      assert.ok(names.has(name), name);

    // Refit the best run of each family (the leaderboard grouped by family) and score it on the test split.
    const test: Record<string, Record<string, number | null>> = {};
    for (const family of ['mf', 'ncf', 'mlp']) {
      const best = board.find((run) => familyOf(run.paramsJson) === family)!;
      const { model, refitRun } = await coordinator.refit(experiment.experimentId, best.runId);
      assert.equal(refitRun.status, 'done');
      assert.ok(existsSync(join(model.path, 'model.json')) && existsSync(join(model.path, 'preprocessing.json')));
      test[family] = model.testMetrics;
    }
    const rmse = (family: string) => test[family]!.test_rmse!;
    const baseline = test.mf!.test_baseline_rmse!;
    const report = JSON.stringify({ ncf: rmse('ncf'), mf: rmse('mf'), mlp: rmse('mlp'), baseline });
    t.diagnostic(
      `test RMSE ${report}; search ${summary.wallMs} ms; epochs ` +
        `${board.map((run) => `${familyOf(run.paramsJson)}:${run.refitEpochs}`).join(' ')}`,
    );
    assert.ok(rmse('ncf') < rmse('mf') - 0.02, `NCF with features beats MF: ${report}`);
    assert.ok(rmse('mf') < baseline - 0.05, `MF beats the mean baseline: ${report}`);
    assert.ok(test.ncf!.test_cold_rows! > 0, 'the test split has cold-start rows, predicted and counted');
    assert.ok(Number.isFinite(test.ncf!.test_cold_rmse));
  } finally {
    await pool.close();
    storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
