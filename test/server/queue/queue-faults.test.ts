import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { CODE_VERSION, queueNameFor } from '../../../worker/contract/queue.js';
import { queueTestSuite, TEST_WORKER_ENV, assertEveryEpochOnce, queueComposition, startWorkers, tempDir, withTimeout } from './helpers.js';

const suite = queueTestSuite();
const { skip, cleanup } = suite;

const SPEC = `
name: queue-faults
dataset: { kind: fraud, rows: 8000, features: 10 }
grid: { depth: [1, 2], width: [8, 16], epochs: 40, batchSize: 16 }
validation: { kind: kfold, k: 2 }
seed: 3
`;

test('queue: Redis restarting mid-search loses no finished run; the tasks it lost are published again', {
  skip: skip ?? false,
  timeout: 180_000,
}, async () => {
  const workers = await startWorkers(cleanup, suite.redis.url, 2);
  const logs: string[] = [];
  const { composition, runner } = queueComposition(
    cleanup,
    tempDir('restart'),
    { url: suite.redis.url, slots: 2, checkIntervalMs: 500 },
    logs,
  );
  const { experiment } = await composition.coordinator.prepare(SPEC, { baseDir: '.' });
  await runner.whenReady();

  let finishedBefore: { runId: number; foldIndex: number; score: number | null; workerName: string | null }[] = [];
  let restarted: Promise<void> | null = null;
  composition.coordinator.events.on('progress', ({ tasksDone }) => {
    if (tasksDone < 2 || restarted) return;
    finishedBefore = composition.storage.runs
      .list(experiment.experimentId)
      .flatMap((run) => composition.storage.runs.folds(run.runId))
      .filter((fold) => fold.status === 'done')
      .map(({ runId, foldIndex, score, workerName }) => ({ runId, foldIndex, score, workerName }));
    // Everything in Redis is gone: the server keeps nothing on disk.
    restarted = (async () => {
      await suite.redis.stopServer();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await suite.redis.startServer();
    })();
  });
  const summary = await withTimeout(composition.coordinator.search(experiment.experimentId), 150_000, 'search');
  await restarted;

  assert.equal(summary.experiment.status, 'done');
  assertEveryEpochOnce(composition, experiment.experimentId);
  assert.ok(finishedBefore.length >= 2);
  for (const before of finishedBefore) {
    const fold = composition.storage.runs.folds(before.runId).find((f) => f.foldIndex === before.foldIndex)!;
    assert.deepEqual(
      { runId: fold.runId, foldIndex: fold.foldIndex, score: fold.score, workerName: fold.workerName },
      before,
      'a fold finished before the restart is kept as it was',
    );
  }
  assert.ok(runner.stats.republished >= 1, `tasks in flight were published again (logs: ${logs.join(' | ')})`);
  assert.ok(
    workers.every((worker) => worker.child.exitCode === null),
    'the workers rode out the restart',
  );
  await composition.close();
  await Promise.all(workers.map((worker) => worker.stop()));
});

test('queue: a restarted coordinator resumes from SQLite, publishes only unfinished tasks, and withdraws the old ones', {
  skip: skip ?? false,
  timeout: 180_000,
}, async () => {
  const workers = await startWorkers(cleanup, suite.redis.url, 2);
  const dataDir = tempDir('resume');
  const specPath = join(dataDir, 'spec.yaml');
  writeFileSync(specPath, SPEC);

  // Coordinator A, killed without warning once a few folds are done.
  const cli = fileURLToPath(new URL('../../../bin/foldwise.js', import.meta.url));
  const first = spawn(process.execPath, [cli, '--data-dir', dataDir, 'run', specPath, '--queue', '--workers', '2', '--no-refit'], {
    env: { ...process.env, ...TEST_WORKER_ENV, FOLDWISE_QUEUE_URL: suite.redis.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let firstOutput = '';
  first.stdout?.on('data', (chunk: Buffer) => (firstOutput += chunk.toString()));
  first.stderr?.on('data', (chunk: Buffer) => (firstOutput += chunk.toString()));
  cleanup.add(first, (child) => child.kill('SIGKILL'));
  const doneLines = () => workers.reduce((sum, worker) => sum + worker.lines.filter((line) => / done in /.test(line)).length, 0);
  await withTimeout(
    new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (doneLines() < 3) return;
        clearInterval(poll);
        resolve();
      }, 50);
    }),
    120_000,
    'three tasks done under the first coordinator',
  ).catch((error: Error) => {
    throw new Error(`${error.message}\ncoordinator output:\n${firstOutput}\nworkers:\n${workers.map((w) => w.output).join('\n')}`);
  });
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));

  // Coordinator B on the same data dir.
  const logs: string[] = [];
  const { composition, runner } = queueComposition(cleanup, dataDir, { url: suite.redis.url, slots: 2 }, logs);
  const prepared = await composition.coordinator.prepare(SPEC, { baseDir: dataDir });
  const experimentId = prepared.experiment.experimentId;
  assert.equal(prepared.resumed, true);
  const doneBefore = composition.storage.runs
    .list(experimentId)
    .flatMap((run) => composition.storage.runs.folds(run.runId))
    .filter((fold) => fold.status === 'done');
  assert.ok(doneBefore.length >= 2, 'folds finished under the first coordinator are in SQLite');
  await runner.whenReady();
  const summary = await withTimeout(composition.coordinator.search(experimentId), 120_000, 'resumed search');

  assert.equal(summary.experiment.status, 'done');
  assertEveryEpochOnce(composition, experimentId);
  assert.equal(summary.tasksTrained, 8 - doneBefore.length);
  assert.equal(runner.stats.published, 8 - doneBefore.length, 'only unfinished tasks were published again');
  for (const before of doneBefore) {
    const fold = composition.storage.runs.folds(before.runId).find((f) => f.foldIndex === before.foldIndex)!;
    assert.deepEqual(fold, before, 'a fold finished before the restart is untouched');
  }
  assert.ok(
    logs.some((line) => line.includes('Taking over from an earlier coordinator')),
    logs.join('\n'),
  );
  await composition.close();

  const queue = cleanup.add(new Queue(queueNameFor(CODE_VERSION), { connection: { url: suite.redis.url } }), (q) => q.close());
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  assert.deepEqual(counts, { waiting: 0, active: 0, delayed: 0, prioritized: 0 }, 'no task of either coordinator is left to train');
});
