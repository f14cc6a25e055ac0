import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../../server/coordinator/worker-pool.js';
import { datasetDigest } from '../../worker/contract/dataset-digest.js';
import { validateSpec } from '../../worker/contract/spec.js';
import { scratchDir, taskMaker, writeEasyCsv } from '../helpers/run-task.js';

test('describe also has the idle workers load the data: bad data still fails once, and the workers then train as before', async () => {
  const csv = writeEasyCsv(scratchDir('foldwise-warm-'));
  const pool = new WorkerPool({ size: 2 });
  try {
    await pool.whenReady();
    const pids = pool.pids;
    const bad = validateSpec({ name: 'bad', dataset: { kind: 'csv', path: csv, target: 'nope' } });
    await assert.rejects(pool.describe(bad), /nope/);
    const make = taskMaker(csv, 'warm');
    const task = make({ spec: { validation: { kind: 'kfold', k: 2 } } });
    const info = await pool.describe(task.spec);
    assert.equal(info.nRows, 400);
    // Each worker trains a fold of the described data (one of them from the table the warm-up loaded).
    const dataSha256 = (await datasetDigest(task.spec.dataset))!;
    const outcomes = await Promise.all(
      [0, 1].map((foldIndex) => pool.run({ ...task, taskId: `warm:${foldIndex}:1`, foldIndex, dataSha256 }, () => {})),
    );
    for (const outcome of outcomes) assert.equal(outcome.status, 'done', outcome.status === 'failed' ? outcome.message : '');
    const names = outcomes.map((outcome) => (outcome.status === 'done' ? outcome.workerName : ''));
    assert.notEqual(names[0], names[1], 'one fold on each worker');
    // The warm-up's answers (and the bad data's failures) were ignored, not taken for a task's.
    assert.deepEqual(pool.pids, pids, 'no worker died or was replaced');
  } finally {
    await pool.close();
  }
});
