import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStorage } from '../../server/storage/storage.js';
import { countRows, runCli, startCli, tempDir, writeFile } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

// 4 runs × 2 folds, long enough per task that a kill lands mid-search (60 epochs: the engine trains 12 in ~50 ms).
const SPEC = `
name: resumable
dataset: { kind: fraud, rows: 3000, features: 10, positiveRate: 0.1 }
model: { learningRate: 0.01, batchSize: 32 }
grid: { depth: [1, 2], width: [8, 24], epochs: 60 }
validation: { kind: kfold, k: 2 }
seed: 11
`;

type Snapshot = { leaderboard: string[]; points: Map<number, string> };

/** Runs' scores keyed by params, and each done run's curve as one string, read without the coordinator. */
function snapshot(dataDir: string): Snapshot {
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const experiment = storage.experiments.getByName('resumable');
    const runs = storage.runs.list(experiment.experimentId);
    const leaderboard = runs
      .filter((r) => r.status === 'done')
      .map((r) => `${r.paramsJson} ${r.scoreMean} ${r.scoreStd} ${r.refitEpochs}`)
      .sort();
    const points = new Map(runs.filter((r) => r.status === 'done').map((r) => [r.runId, JSON.stringify(storage.metrics.ofRun(r.runId))]));
    return { leaderboard, points };
  } finally {
    storage.close();
  }
}

const dbExists = (dataDir: string) => countRows(dataDir, `SELECT count(*) AS n FROM sqlite_master`) > 0;

test(
  'coordinator SIGKILLed mid-search: the same command resumes, keeps finished runs untouched, duplicates ' +
    'nothing, ends with the uninterrupted leaderboard',
  async () => {
    const dir = tempDir();
    const specPath = writeFile(dir, 'spec.yaml', SPEC);

    const reference = join(dir, 'reference');
    const clean = await runCli(['run', specPath, '--workers', '2', '--no-refit'], reference);
    assert.equal(clean.code, 0, clean.stderr);
    const expected = snapshot(reference);
    assert.equal(expected.leaderboard.length, 4);

    const crashed = join(dir, 'crashed');
    const first = startCli(['run', specPath, '--workers', '2', '--no-refit'], crashed);
    await waitFor(
      () => dbExists(crashed) && countRows(crashed, `SELECT count(*) AS n FROM runs WHERE status = 'done'`) >= 1,
      'a finished run',
      120_000,
    );
    await waitFor(() => countRows(crashed, `SELECT count(*) AS n FROM folds WHERE status = 'running'`) >= 1, 'a running fold', 60_000);
    first.child.kill('SIGKILL');
    await first.finished;
    const before = snapshot(crashed);
    assert.ok(
      before.leaderboard.length >= 1 && before.leaderboard.length < 4,
      `killed mid-search (${before.leaderboard.length} runs done)`,
    );
    // The coordinator's children notice their parent is gone and exit.
    await waitFor(
      async () =>
        (await import('node:child_process')).execSync(`pgrep -f "worker/main.ts" -P ${first.child.pid} || true`).toString().trim() === '',
      'orphaned workers to exit',
      10_000,
    );

    const resumed = await runCli(['run', specPath, '--workers', '2', '--no-refit'], crashed);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /Resuming "resumable"/);
    const after = snapshot(crashed);
    for (const [runId, curve] of before.points)
      assert.equal(after.points.get(runId), curve, `run ${runId} finished before the kill is untouched`);
    assert.deepEqual(after.leaderboard, expected.leaderboard, 'same leaderboard as the uninterrupted search');
    const perFoldMetric = countRows(
      crashed,
      `SELECT max(n) AS n FROM (SELECT count(*) AS n FROM metric_points GROUP BY run_id, fold_index, name)`,
    );
    assert.equal(perFoldMetric, 60, 'one row per epoch: nothing duplicated by the retrained folds');
  },
);

test('SIGTERM mid-search: exits within 5 s, marks running runs interrupted, and the next run resumes', async () => {
  const dir = tempDir();
  const specPath = writeFile(dir, 'spec.yaml', SPEC);
  const dataDir = join(dir, 'data');
  const run = startCli(['run', specPath, '--workers', '2', '--no-refit'], dataDir);
  await waitFor(() => dbExists(dataDir) && countRows(dataDir, `SELECT count(*) AS n FROM metric_points`) > 0, 'the first epochs', 120_000);
  const sentAt = Date.now();
  run.child.kill('SIGTERM');
  const result = await run.finished;
  const exitMs = Date.now() - sentAt;
  assert.ok(exitMs < 5000, `exited in ${exitMs} ms`);
  assert.equal(result.code, 130);
  assert.match(result.stdout + result.stderr, /interrupted/);
  assert.equal(countRows(dataDir, `SELECT count(*) AS n FROM experiments WHERE status = 'interrupted'`), 1);
  assert.ok(countRows(dataDir, `SELECT count(*) AS n FROM runs WHERE status = 'interrupted'`) >= 1, 'running runs are marked interrupted');
  assert.equal(countRows(dataDir, `SELECT count(*) AS n FROM folds WHERE status = 'running'`), 0, 'nothing is left marked running');

  const resumed = await runCli(['run', specPath, '--workers', '2', '--no-refit'], dataDir);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(countRows(dataDir, `SELECT count(*) AS n FROM runs WHERE status = 'done'`), 4);
});
