import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import type { Composition } from '../../server/compose.js';
import type { MetricPoint } from '../../server/storage/metric-store.js';
import { REDIS_PASSWORD, TestRedis, redisMissing } from './redis-server.js';
import { boardOf, localComposition, queueComposition, startWorkers, tempDir, withTimeout, type WorkerCommand } from './helpers.js';

const skip = redisMissing();
if (skip) console.log(`# ${skip}`);

const SPEC = `
name: queue-search
dataset: { kind: fraud, rows: 1000, features: 10 }
grid: { depth: [1, 2], width: [8, 16], epochs: 6, batchSize: 16 }
validation: { kind: kfold, k: 2, earlyStopping: { monitor: val_loss, patience: 2 } }
seed: 7
`;

let redis: TestRedis | null = null;
const workers: WorkerCommand[] = [];

before(async () => {
  if (!skip) redis = await TestRedis.start();
});

after(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await redis?.stopServer();
});

/** Every point of every fold, keyed by the run's params so that two databases compare. */
function curvesOf(composition: Composition, experimentId: number): Map<string, MetricPoint[]> {
  const { runs, metrics } = composition.storage;
  return new Map(runs.list(experimentId).map((run) => [run.paramsJson, metrics.ofRun(run.runId).map((point) => ({ ...point, runId: 0 }))]));
}

/** Each (run, fold, metric) has exactly the epochs 0..stoppedEpoch, once each. */
function assertEveryEpochOnce(composition: Composition, experimentId: number): void {
  const { runs, metrics } = composition.storage;
  for (const run of runs.list(experimentId)) {
    const points = metrics.ofRun(run.runId);
    for (const fold of runs.folds(run.runId)) {
      assert.equal(fold.status, 'done', `run ${run.runId} fold ${fold.foldIndex}`);
      const names = new Set(points.filter((p) => p.foldIndex === fold.foldIndex).map((p) => p.name));
      assert.ok(names.has('val_loss') && names.has('loss'), `run ${run.runId} fold ${fold.foldIndex} has curves`);
      for (const name of names) {
        const epochs = points.filter((p) => p.foldIndex === fold.foldIndex && p.name === name).map((p) => p.epoch);
        assert.deepEqual(epochs, Array.from({ length: fold.stoppedEpoch! + 1 }, (_, i) => i), `run ${run.runId} fold ${fold.foldIndex} ${name}`);
      }
    }
  }
}

test('queue: three workers, one killed mid-task — the search completes, each epoch is stored once, the leaderboard equals the local pool\'s', { skip: skip ?? false, timeout: 120_000 }, async () => {
  // Reference: the same spec on the local pool.
  const local = localComposition(tempDir('local'), 2);
  let localBoard;
  let localCurves;
  try {
    const { experiment } = await local.coordinator.prepare(SPEC, { baseDir: '.' });
    await local.coordinator.search(experiment.experimentId);
    localBoard = boardOf(local.coordinator.leaderboard(experiment.experimentId));
    localCurves = curvesOf(local, experiment.experimentId);
  } finally {
    await local.close();
  }
  assert.equal(localBoard.length, 4);

  workers.push(...(await startWorkers(redis!.url, 3)));
  // Kill the first worker that starts a task, while it trains it.
  const killed = new Promise<{ workerName: string; taskId: string }>((resolve) => {
    for (const worker of workers) {
      worker.onLine((line) => {
        const match = /^foldwise worker (\S+): task (\S+) started .*pid (\d+)\)/.exec(line);
        if (!match) return;
        process.kill(Number(match[3]), 'SIGKILL');
        resolve({ workerName: match[1]!, taskId: match[2]! });
      });
    }
  });

  const logs: string[] = [];
  const { composition, runner } = queueComposition(tempDir('queue'), { url: redis!.url, slots: 3 }, logs);
  try {
    const { experiment } = await composition.coordinator.prepare(SPEC, { baseDir: '.' });
    assert.deepEqual(await runner.whenReady(), ['wasm', 'wasm', 'wasm']);
    const summary = await withTimeout(composition.coordinator.search(experiment.experimentId), 90_000, 'search');
    const victim = await killed;

    assert.equal(summary.experiment.status, 'done');
    assert.equal(summary.tasksTrained, 8);
    assert.deepEqual(boardOf(composition.coordinator.leaderboard(experiment.experimentId)), localBoard, 'same scores as the local pool');
    assertEveryEpochOnce(composition, experiment.experimentId);
    assert.deepEqual(curvesOf(composition, experiment.experimentId), localCurves, 'same curves, point for point');

    // The killed task went to another worker through BullMQ's stalled-job handling: same attempt, second delivery.
    const [runId, foldIndex] = victim.taskId.split(':').map(Number);
    const fold = composition.storage.runs.folds(runId!).find((f) => f.foldIndex === foldIndex)!;
    assert.equal(fold.attempt, 1, 'no coordinator retry was needed');
    assert.notEqual(fold.workerName, victim.workerName);
    assert.match(fold.workerName ?? '', new RegExp(`^${hostname()}:\\d+$`), 'the worker name is recorded per fold');
    const redelivered = workers.some((worker) => worker.lines.some((line) => line.includes(`task ${victim.taskId} started`) && line.includes('delivery 2')));
    assert.ok(redelivered, `task ${victim.taskId} was delivered a second time`);
    assert.ok(runner.stats.stalled >= 1, 'the coordinator saw the stall');

    const everything = [...logs, ...workers.map((worker) => worker.output)].join('\n');
    assert.ok(!everything.includes(REDIS_PASSWORD), 'the queue password is never printed');
    assert.match(workers.map((w) => w.output).join('\n'), /redis:\/\/:\*\*\*@127\.0\.0\.1/);
  } finally {
    await composition.close();
  }
});
