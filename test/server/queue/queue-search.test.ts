import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { REDIS_PASSWORD } from './redis-server.js';
import {
  queueTestSuite,
  assertEveryEpochOnce,
  boardOf,
  curvesOf,
  localComposition,
  queueComposition,
  startWorkers,
  tempDir,
  withTimeout,
} from './helpers.js';

const suite = queueTestSuite();
const { skip, cleanup } = suite;

const SPEC = `
name: queue-search
dataset: { kind: fraud, rows: 2000, features: 10 }
grid: { depth: [1, 2], width: [8, 16], epochs: 10, batchSize: 16 }
validation: { kind: kfold, k: 2, earlyStopping: { monitor: val_loss, patience: 3 } }
seed: 7
`;

test('queue: three workers, one killed mid-task — the search completes, each epoch is stored once, the leaderboard ' +
  "equals the local pool's", {
  skip: skip ?? false,
  timeout: 240_000,
}, async () => {
  // Reference: the same spec on the local pool.
  const local = localComposition(cleanup, tempDir('local'), 2);
  const reference = await local.coordinator.prepare(SPEC, { baseDir: '.' });
  await local.coordinator.search(reference.experiment.experimentId);
  const localBoard = boardOf(local.coordinator.leaderboard(reference.experiment.experimentId));
  const localCurves = curvesOf(local, reference.experiment.experimentId);
  await local.close();
  assert.equal(localBoard.length, 4);

  const workers = await startWorkers(cleanup, suite.redis.url, 3);
  // Kill the first worker process that starts a task, while it trains it (a task takes about a second).
  let victimChosen = false;
  const killed = new Promise<{ workerName: string; taskId: string }>((resolve) => {
    for (const worker of workers) {
      worker.onLine((line) => {
        const match = /^foldwise worker (\S+): task (\S+) started .*pid (\d+)\)/.exec(line);
        if (!match || victimChosen) return;
        victimChosen = true;
        process.kill(Number(match[3]), 'SIGKILL');
        resolve({ workerName: match[1]!, taskId: match[2]! });
      });
    }
  });

  const logs: string[] = [];
  const { composition, runner } = queueComposition(cleanup, tempDir('queue'), { url: suite.redis.url, slots: 3 }, logs);
  const { experiment } = await composition.coordinator.prepare(SPEC, { baseDir: '.' });
  assert.deepEqual(await runner.whenReady(), ['wasm', 'wasm', 'wasm']);
  const summary = await withTimeout(composition.coordinator.search(experiment.experimentId), 180_000, 'search');
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
  const redelivered = workers.some((worker) =>
    worker.lines.some((line) => line.includes(`task ${victim.taskId} started`) && line.includes('delivery 2')),
  );
  assert.ok(redelivered, `task ${victim.taskId} was delivered a second time`);
  assert.ok(runner.stats.stalled >= 1, 'the coordinator saw the stall');

  const everything = [...logs, ...workers.map((worker) => worker.output)].join('\n');
  assert.ok(!everything.includes(REDIS_PASSWORD), 'the queue password is never printed');
  assert.match(workers.map((w) => w.output).join('\n'), /redis:\/\/:\*\*\*@127\.0\.0\.1/);
  await composition.close();
});
