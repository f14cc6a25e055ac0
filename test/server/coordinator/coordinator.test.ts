import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../../server/storage/storage.js';
import { Coordinator } from '../../../server/coordinator/coordinator.js';
import { FakeRunner, type Script } from '../../helpers/fake-runner.js';
import type { AppError } from '../../../server/errors.js';

const SPEC = `
name: fake
dataset: { kind: fraud, rows: 200 }
grid: { width: [8, 16, 32], epochs: 3 }
validation: { kind: kfold, k: 2, earlyStopping: { monitor: val_auc, patience: 2 } }
selection: { metric: auc }
`;

// Wider is better here; the curve peaks at epoch 1.
const byWidth: Script = (task) => ({ curve: [0.5, 0.6 + task.params.width / 100 + task.foldIndex / 1000, 0.55] });

function setUp(script: Script = byWidth) {
  const dataDir = mkdtempSync(join(tmpdir(), 'foldwise-coord-'));
  const storage = openStorage(':memory:');
  const runner = new FakeRunner(script);
  const coordinator = new Coordinator(storage, runner, { dataDir, maxAttempts: 3 });
  return { storage, runner, coordinator, dataDir };
}

test('Coordinator: prepare records the experiment and every run before training', async () => {
  const { storage, coordinator, runner } = setUp();
  const { experiment, runsTotal, resumed } = await coordinator.prepare(SPEC, { baseDir: '.' });
  assert.equal(runsTotal, 3);
  assert.equal(resumed, false);
  assert.equal(storage.runs.list(experiment.experimentId).length, 3);
  assert.equal(storage.runs.pendingFolds(experiment.experimentId).length, 6);
  assert.equal(runner.deliveries.length, 0);
});

test('Coordinator: search stores one point per epoch per fold per metric, aggregates folds and ranks runs', async () => {
  const { storage, coordinator } = setUp();
  const { experiment } = await coordinator.prepare(SPEC, { baseDir: '.' });
  const progress: number[] = [];
  coordinator.events.on('progress', (p) => progress.push(p.tasksDone));
  const summary = await coordinator.search(experiment.experimentId);
  assert.equal(summary.tasksTrained, 6);
  assert.equal(summary.experiment.status, 'done');
  assert.equal(progress.at(-1), 6);
  const board = coordinator.leaderboard(experiment.experimentId);
  assert.deepEqual(
    board.map((r) => r.params.width),
    [32, 16, 8],
  );
  const top = board[0]!;
  assert.ok(Math.abs(top.scoreMean! - (0.92 + 0.0005)) < 1e-9, `mean of folds, got ${top.scoreMean}`);
  assert.ok(Math.abs(top.scoreStd! - 0.0005) < 1e-9, 'population std of the two fold scores');
  assert.equal(top.refitEpochs, 2, 'best epoch 1 (0-based) → 2 epochs');
  const points = storage.metrics.ofRun(top.runId);
  assert.equal(points.length, 2 /* folds */ * 3 /* epochs */ * 3 /* metrics */);
});

test('Coordinator: same spec resumes, finished runs are not retrained; a different spec is refused', async () => {
  const { coordinator, runner } = setUp();
  const first = await coordinator.prepare(SPEC, { baseDir: '.' });
  await coordinator.search(first.experiment.experimentId);
  const again = await coordinator.prepare(SPEC, { baseDir: '.' });
  assert.equal(again.resumed, true);
  const summary = await coordinator.search(again.experiment.experimentId);
  assert.equal(summary.tasksTrained, 0);
  assert.equal(runner.deliveries.length, 6);
  await assert.rejects(
    coordinator.prepare(SPEC.replace('[8, 16, 32]', '[8, 16]'), { baseDir: '.' }),
    (error: AppError) => error.code === 'conflict' && /different spec/.test(error.message),
  );
});

test('Coordinator: a crashed task is retried, then the run fails and the search goes on', async () => {
  const { storage, coordinator, runner } = setUp((task, delivery) => {
    if (task.params.width === 8)
      return { curve: [0.5], outcome: { status: 'failed', reason: 'crashed', message: 'worker killed by SIGKILL', workerName: 'w' } };
    if (task.params.width === 16 && delivery === 1)
      return { curve: [0.5], outcome: { status: 'failed', reason: 'crashed', message: 'boom', workerName: 'w' } };
    return byWidth(task, delivery);
  });
  const { experiment } = await coordinator.prepare(SPEC, { baseDir: '.' });
  await coordinator.search(experiment.experimentId);
  const runs = storage.runs.list(experiment.experimentId);
  const byW = (w: number) => runs.find((r) => r.params.width === w)!;
  assert.equal(byW(8).status, 'failed');
  assert.match(byW(8).error!, /SIGKILL/);
  assert.equal(byW(16).status, 'done', 'retried once and then succeeded');
  assert.equal(byW(32).status, 'done');
  const width8Deliveries = runner.deliveries.filter((t) => t.params.width === 8);
  assert.equal(width8Deliveries.filter((t) => t.foldIndex === 0).length, 3, 'three deliveries of the first fold, then the run failed');
  const width16Points = storage.metrics.ofRun(byW(16).runId);
  assert.equal(width16Points.length, 2 * 3 * 3, 'the crashed attempt left no points behind');
});

test('Coordinator: a diverged run fails at once with its message', async () => {
  const { storage, coordinator, runner } = setUp((task, delivery) =>
    task.params.width === 32
      ? { curve: [0.5], outcome: { status: 'failed', reason: 'diverged', message: 'loss is NaN at epoch 0', workerName: 'w' } }
      : byWidth(task, delivery),
  );
  const { experiment } = await coordinator.prepare(SPEC, { baseDir: '.' });
  await coordinator.search(experiment.experimentId);
  const run = storage.runs.list(experiment.experimentId).find((r) => r.params.width === 32)!;
  assert.equal(run.status, 'failed');
  assert.match(run.error!, /diverged: loss is NaN/);
  assert.equal(runner.deliveries.filter((t) => t.runId === run.runId && t.foldIndex === 0).length, 1);
  assert.equal(coordinator.leaderboard(experiment.experimentId).length, 2);
});

test('Coordinator: abort marks running runs interrupted; the next search retrains only those folds', async () => {
  const { storage, coordinator, runner } = setUp();
  const { experiment } = await coordinator.prepare(SPEC, { baseDir: '.' });
  const controller = new AbortController();
  const stop = coordinator.events.on('progress', (p) => {
    if (p.tasksDone === 2) controller.abort();
  });
  const first = await coordinator.search(experiment.experimentId, controller.signal);
  stop();
  assert.equal(first.interrupted, true);
  assert.equal(first.experiment.status, 'interrupted');
  const statuses = storage.runs.list(experiment.experimentId).map((r) => r.status);
  assert.ok(statuses.includes('interrupted') || statuses.includes('queued'));
  const deliveredBefore = runner.deliveries.length;
  const second = await coordinator.search(experiment.experimentId);
  assert.equal(second.experiment.status, 'done');
  assert.equal(second.tasksTrained, 6 - 2);
  assert.equal(runner.deliveries.length - deliveredBefore, 4);
  for (const run of storage.runs.list(experiment.experimentId)) {
    assert.equal(run.status, 'done');
    assert.equal(storage.metrics.ofRun(run.runId).length, 2 * 3 * 3, 'no duplicated or leftover epoch rows');
  }
});

test('Coordinator: refit trains the best run for its chosen epochs and records the model', async () => {
  const { storage, coordinator, runner, dataDir } = setUp();
  const { experiment } = await coordinator.prepare(SPEC, { baseDir: '.' });
  await coordinator.search(experiment.experimentId);
  const { refitRun, sourceRun, model } = await coordinator.refit(experiment.experimentId);
  assert.equal(sourceRun.params.width, 32);
  const refitTask = runner.deliveries.at(-1)!;
  assert.equal(refitTask.kind, 'refit');
  assert.equal(refitTask.refit!.epochs, 2);
  assert.ok(refitTask.refit!.modelDir.startsWith(dataDir));
  assert.equal(refitRun.kind, 'refit');
  assert.equal(refitRun.status, 'done');
  assert.equal(refitRun.scoreMean, 0.9, 'a refit is scored on the test split');
  assert.deepEqual(model.testMetrics, { test_loss: 0.2, test_auc: 0.9 });
  assert.equal(storage.models.ofExperiment(experiment.experimentId).length, 1);
  assert.equal(coordinator.leaderboard(experiment.experimentId).length, 3, 'the refit run is not in the search leaderboard');
});

test('Coordinator: grids above maxRuns are refused unless allowed', async () => {
  const { coordinator, storage } = setUp();
  const big = `${SPEC.replace('epochs: 3', 'epochs: 3, depth: [1, 2]')}maxRuns: 5\n`;
  await assert.rejects(coordinator.prepare(big, { baseDir: '.' }), /expands to 6 runs, more than maxRuns \(5\)/);
  assert.equal(storage.experiments.list().length, 0, 'nothing written');
  const { runsTotal } = await coordinator.prepare(big, { baseDir: '.', allowLargeGrid: true });
  assert.equal(runsTotal, 6);
});

test('Coordinator: fold cutting prunes a run that lost to the leader on its first folds; the winner is unchanged', async () => {
  const spec = `${SPEC.replace('k: 2', 'k: 4')}pruning: { foldCut: { minFolds: 2, margin: 0.05 } }\n`;
  const { storage, coordinator, runner } = setUp((task) => ({
    curve: [0.5, task.params.width === 8 ? 0.6 : 0.9 + task.params.width / 1000 + task.foldIndex / 1000, 0.55],
  }));
  const { experiment } = await coordinator.prepare(spec, { baseDir: '.' });
  await coordinator.search(experiment.experimentId);
  const runs = storage.runs.list(experiment.experimentId);
  const narrow = runs.find((r) => r.params.width === 8)!;
  assert.equal(narrow.status, 'pruned');
  assert.match(narrow.error!, /fold cut/);
  assert.ok(runner.deliveries.filter((t) => t.runId === narrow.runId).length < 4, 'its remaining folds were not trained');
  assert.equal(coordinator.leaderboard(experiment.experimentId)[0]!.params.width, 32);
  assert.equal(runs.filter((r) => r.status === 'done').length, 2);
});

test('Coordinator: ASHA asks the worker to stop folds below the top 1/η at a rung and prunes their runs', async () => {
  const spec =
    SPEC.replace('[8, 16, 32]', '[8, 16, 32, 64]').replace('k: 2', 'k: 1').replace('kind: kfold, k: 1', 'kind: holdout') +
    'pruning: { asha: { minEpochs: 1, reductionFactor: 2 } }\n';
  const stops: string[] = [];
  const { storage, coordinator } = setUp((task) => ({
    curve: [task.params.width / 100, task.params.width / 100 + 0.01, task.params.width / 100 + 0.02],
  }));
  // One task at a time, widest first (longest first), so later, narrower runs are compared with wider ones.
  (coordinator as unknown as { events: { on: Function } }).events.on(
    'run',
    (e: { status: string; runId: number }) => e.status === 'pruned' && stops.push(String(e.runId)),
  );
  const { experiment } = await coordinator.prepare(spec, { baseDir: '.' });
  await coordinator.search(experiment.experimentId);
  const pruned = storage.runs.list(experiment.experimentId).filter((r) => r.status === 'pruned');
  assert.ok(pruned.length >= 1, 'at least one run pruned');
  for (const run of pruned) assert.match(run.error!, /ASHA/);
  assert.equal(coordinator.leaderboard(experiment.experimentId)[0]!.params.width, 64);
});
