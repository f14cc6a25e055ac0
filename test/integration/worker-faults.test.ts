import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../server/storage/storage.js';
import { Coordinator } from '../../server/coordinator/coordinator.js';
import { WorkerPool } from '../../server/coordinator/worker-pool.js';
import { AppError, ValidationError, WorkerFailureError } from '../../server/errors.js';
import { FAULT_ENV_VAR } from '../../worker/fault-injection.js';
import { waitFor } from '../helpers/wait-for.js';

const SPEC = `
name: faults
dataset: { kind: fraud, rows: 1200, features: 6, positiveRate: 0.1 }
model: { learningRate: 0.01, batchSize: 64, epochs: 6 }
grid: { width: [8, 24] }
validation: { kind: kfold, k: 2 }
`;

async function withSearch(
  env: NodeJS.ProcessEnv,
  spec: string,
  body: (ctx: {
    coordinator: Coordinator;
    pool: WorkerPool;
    storage: ReturnType<typeof openStorage>;
    experimentId: number;
  }) => Promise<void>,
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'foldwise-faults-'));
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  const pool = new WorkerPool({ size: 2, env, maxOldSpaceMb: 256 });
  try {
    const coordinator = new Coordinator(storage, pool, { dataDir, maxAttempts: 3 });
    const { experiment } = await coordinator.prepare(spec, { baseDir: dataDir });
    await body({ coordinator, pool, storage, experimentId: experiment.experimentId });
  } finally {
    await pool.close();
    storage.close();
  }
}

const byWidth = (storage: ReturnType<typeof openStorage>, experimentId: number, width: number) =>
  storage.runs.list(experimentId).find((run) => run.params.width === width)!;

test('worker killed mid-task: the task is retried on a fresh worker, the run finishes, the pool stays at full size', async () => {
  await withSearch({}, SPEC, async ({ coordinator, pool, storage, experimentId }) => {
    let killed = 0;
    coordinator.events.on('epoch', (event) => {
      if (killed === 0 && event.epoch === 1) {
        killed = pool.busyPids[0]!;
        process.kill(killed, 'SIGKILL');
      }
    });
    await coordinator.search(experimentId);
    assert.ok(killed > 0);
    for (const run of storage.runs.list(experimentId)) assert.equal(run.status, 'done');
    const attempts = storage.runs.list(experimentId).flatMap((run) => storage.runs.folds(run.runId).map((fold) => fold.attempt));
    assert.ok(
      attempts.some((attempt) => attempt > 1),
      'one fold needed a second attempt',
    );
    await waitFor(() => pool.workerCount === 2 && !pool.pids.includes(killed), 'the pool to replace the dead worker');
    for (const run of storage.runs.list(experimentId))
      assert.equal(storage.metrics.ofRun(run.runId).filter((p) => p.name === 'loss').length, 2 * 6);
  });
});

test('worker runs out of memory on one configuration: retried, then that run fails with the error; the search goes on', async () => {
  await withSearch({ [FAULT_ENV_VAR]: 'oom:width=24' }, SPEC, async ({ coordinator, pool, storage, experimentId }) => {
    await coordinator.search(experimentId);
    const failed = byWidth(storage, experimentId, 24);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error!, /heap|memory|SIGABRT|code 134/i);
    assert.equal(byWidth(storage, experimentId, 8).status, 'done');
    await waitFor(() => pool.workerCount === 2, 'a full pool');
  });
});

test('a task that throws is retried up to the limit, then its run fails with the message', async () => {
  await withSearch({ [FAULT_ENV_VAR]: 'throw:width=8' }, SPEC, async ({ coordinator, storage, experimentId }) => {
    await coordinator.search(experimentId);
    const failed = byWidth(storage, experimentId, 8);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error!, /injected fault/);
    const fold0 = storage.runs.folds(failed.runId)[0]!;
    assert.equal(fold0.attempt, 3, 'three deliveries');
    assert.equal(byWidth(storage, experimentId, 24).status, 'done');
  });
});

test('a non-finite loss ends that run as diverged; the search goes on', async () => {
  const spec = `
name: diverging
dataset: { kind: sine, rows: 400 }
model: { optimizer: sgd, batchSize: 16, epochs: 6, width: 32 }
grid: { learningRate: [0.01, 10] }
validation: { kind: holdout }
`;
  await withSearch({}, spec, async ({ coordinator, storage, experimentId }) => {
    await coordinator.search(experimentId);
    const runs = storage.runs.list(experimentId);
    const diverged = runs.filter((run) => run.params.learningRate === 10);
    for (const run of diverged) {
      assert.equal(run.status, 'failed');
      assert.match(run.error!, /^diverged: .*(NaN|Infinity|non-finite)/i);
    }
    for (const run of runs.filter((r) => !diverged.includes(r))) assert.equal(run.status, 'done', run.error ?? '');
  });
});

test('describe: an internal worker error is not reported as bad input (exit 1, not 2); bad data still is', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'foldwise-faults-'));
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  const faulty = new WorkerPool({ size: 1, env: { [FAULT_ENV_VAR]: 'throw:describe' } });
  const healthy = new WorkerPool({ size: 1 });
  try {
    const internal = await new Coordinator(storage, faulty, { dataDir }).prepare(SPEC, { baseDir: dataDir }).catch((error: Error) => error);
    assert.ok(internal instanceof WorkerFailureError, String(internal));
    assert.ok(!(internal instanceof AppError), 'the CLI exits 2 for an AppError only');
    assert.equal(internal.kind, 'error');
    assert.equal(internal.message, 'injected fault in describe');

    const csvSpec = 'name: missing\ndataset: { kind: csv, path: nope.csv, target: y }\n';
    const bad = await new Coordinator(storage, healthy, { dataDir }).prepare(csvSpec, { baseDir: dataDir }).catch((error: Error) => error);
    assert.ok(bad instanceof ValidationError, String(bad));
    assert.match(bad.message, /^file not found: .*nope\.csv$/);
    assert.equal(storage.experiments.list().length, 0, 'nothing recorded');
  } finally {
    await Promise.all([faulty.close(), healthy.close()]);
    storage.close();
  }
});

test('workers that cannot start: the pool gives up with a clear message instead of respawning forever', async () => {
  const pool = new WorkerPool({ size: 1, env: { FOLDWISE_BACKEND: 'no-such-backend' } });
  try {
    const spec = (await import('../../worker/contract/spec.js')).parseSpec(SPEC);
    await assert.rejects(pool.describe(spec), /cannot start.*FOLDWISE_BACKEND/s);
  } finally {
    await pool.close();
  }
});
