import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../../server/storage/storage.js';
import { Coordinator } from '../../../server/coordinator/coordinator.js';
import { selectionOf } from '../../../server/selection/selection.js';
import { FakeRunner, type Script } from '../../helpers/fake-runner.js';

const SPEC = `
name: repeated
dataset: { kind: fraud, rows: 200 }
grid: { width: [8, 16, 32], epochs: 3 }
validation: { kind: kfold, k: 2, repeats: 3 }
selection: { metric: auc }
`;

function setUp(script: Script) {
  const storage = openStorage(':memory:');
  const runner = new FakeRunner(script);
  const coordinator = new Coordinator(storage, runner, { dataDir: mkdtempSync(join(tmpdir(), 'foldwise-repeats-')) });
  return { storage, runner, coordinator };
}

test('repeated k-fold: every run trains k·n folds (indices 0…k·n − 1), scores the mean over all, and the test pairs them all', async () => {
  const { storage, runner, coordinator } = setUp((task) => ({ curve: [0.5, 0.6 + task.params.width / 100 + task.foldIndex / 1000] }));
  const { experiment } = await coordinator.prepare(SPEC, { baseDir: '.' });
  assert.equal(storage.runs.pendingFolds(experiment.experimentId).length, 3 * 6);
  await coordinator.search(experiment.experimentId);
  for (const run of storage.runs.list(experiment.experimentId)) {
    assert.equal(run.nFolds, 6);
    const folds = storage.runs.folds(run.runId);
    assert.deepEqual(
      folds.map((fold) => fold.foldIndex),
      [0, 1, 2, 3, 4, 5],
    );
    const expected = folds.reduce((sum, fold) => sum + fold.score!, 0) / 6;
    assert.ok(Math.abs(run.scoreMean! - expected) < 1e-12, 'the mean over all k·n folds');
    assert.ok(Math.abs(run.scoreMean! - (0.6 + run.params.width / 100 + 0.0025)) < 1e-9);
  }
  assert.deepEqual([...new Set(runner.deliveries.map((task) => task.foldIndex))].sort(), [0, 1, 2, 3, 4, 5]);
  const selection = selectionOf(experiment, storage.runs);
  assert.equal(selection.best!.params.width, 32);
  for (const comparison of selection.comparisons.values()) assert.equal(comparison.sharedFolds, 6);
});

test('repeated k-fold: fold cutting and ASHA act on the k·n fold indices', async () => {
  const cut = `${SPEC}pruning: { foldCut: { minFolds: 2, margin: 0.05 } }\n`;
  const { storage, runner, coordinator } = setUp((task) => ({
    curve: [0.5, task.params.width === 8 ? 0.6 : 0.9 + task.params.width / 1000 + task.foldIndex / 1000, 0.55],
  }));
  const { experiment } = await coordinator.prepare(cut, { baseDir: '.' });
  await coordinator.search(experiment.experimentId);
  const narrow = storage.runs.list(experiment.experimentId).find((run) => run.params.width === 8)!;
  assert.equal(narrow.status, 'pruned');
  assert.ok(runner.deliveries.filter((task) => task.runId === narrow.runId).length < 6, 'its remaining folds were not trained');
  assert.equal(coordinator.leaderboard(experiment.experimentId)[0]!.params.width, 32);

  const asha = `${SPEC.replace('[8, 16, 32]', '[8, 16, 32, 64]')}pruning: { asha: { minEpochs: 1, reductionFactor: 2 } }\n`;
  const second = setUp((task) => ({ curve: [task.params.width / 100, task.params.width / 100 + 0.01, task.params.width / 100 + 0.02] }));
  const prepared = await second.coordinator.prepare(asha, { baseDir: '.' });
  await second.coordinator.search(prepared.experiment.experimentId);
  const pruned = second.storage.runs.list(prepared.experiment.experimentId).filter((run) => run.status === 'pruned');
  assert.ok(pruned.length >= 1, 'at least one run pruned');
  for (const run of pruned) assert.match(run.error!, /ASHA: .* of fold \d/);
  assert.equal(second.coordinator.leaderboard(prepared.experiment.experimentId)[0]!.params.width, 64);
});
