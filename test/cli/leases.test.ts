import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MLP_ENGINE_ENV_VAR } from '../../worker/engine/engine-trainer.js';
import { runCli, startCli, tempDir, writeFile } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

// Long enough (one worker, the layers trainer: the fast engine would finish in a second) that
// the second process arrives mid-search.
const OWNED = `
name: owned
dataset: { kind: fraud, rows: 3000, features: 10, positiveRate: 0.1 }
model: { learningRate: 0.01, batchSize: 32 }
grid: { depth: [1, 2], width: [8, 24], epochs: 60 }
validation: { kind: kfold, k: 2 }
seed: 11
`;
const OTHER = `
name: other
dataset: { kind: sine, rows: 300 }
grid: { width: [8, 16], epochs: 3 }
validation: { kind: holdout, fraction: 0.25 }
`;

function query<T>(dataDir: string, sql: string): T | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(join(dataDir, 'foldwise.db'), { readonly: true, fileMustExist: true });
    return db.prepare(sql).get() as T | undefined;
  } catch {
    return undefined; // not created yet
  } finally {
    db?.close();
  }
}

/** The experiment's rows that a second process must not touch: runs, folds and curve points, as one string. */
function rowsOf(dataDir: string): string {
  const db = new Database(join(dataDir, 'foldwise.db'), { readonly: true });
  try {
    return JSON.stringify(['runs', 'folds', 'metric_points'].map((table) => db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all()));
  } finally {
    db.close();
  }
}

const listed = async (dataDir: string, name: string) => {
  const list = await runCli(['list'], dataDir);
  assert.equal(list.code, 0, list.stderr);
  return list.stdout.split('\n').find((line) => line.startsWith(`${name} `)) ?? '';
};

test(
  'one owner per experiment: a second run, a delete and a refit of a running experiment exit 2 naming the owner; ' +
    'another experiment runs alongside; --follow shows its progress; after kill -9 the experiment reads interrupted and the next ' +
    'run takes over',
  async () => {
    const dir = tempDir();
    const ownedSpec = writeFile(dir, 'owned.yaml', OWNED);
    const otherSpec = writeFile(dir, 'other.yaml', OTHER);
    const dataDir = join(dir, 'data');

    const first = startCli(['run', ownedSpec, '--workers', '1', '--no-refit'], dataDir, { [MLP_ENGINE_ENV_VAR]: 'layers' });
    await waitFor(() => query<{ n: number }>(dataDir, 'SELECT count(*) AS n FROM metric_points')?.n, 'the first epochs', 120_000);
    const lease = query<{ pid: number }>(dataDir, 'SELECT pid FROM leases');
    assert.equal(lease?.pid, first.child.pid, 'the running process holds the lease');
    assert.match(await listed(dataDir, 'owned'), /\brunning\b/);

    // A second run of the same experiment is refused before it changes anything: the owner is
    // paused meanwhile (well inside the lease's 15 s), so any write of the second would show.
    const words = new RegExp(`experiment "owned" is being searched by pid ${first.child.pid} on host \\S+ since \\d{4}-\\d\\d-\\d\\d `);
    const refused = async (args: string[]) => {
      const result = await runCli(args, dataDir);
      assert.equal(result.code, 2, `${args[0]}: ${result.stderr}`);
      assert.match(result.stderr, words, args[0]);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    };
    first.child.kill('SIGSTOP');
    try {
      const before = rowsOf(dataDir);
      await refused(['run', ownedSpec, '--no-refit']);
      assert.equal(rowsOf(dataDir), before, "the owner's rows are untouched");
    } finally {
      first.child.kill('SIGCONT');
    }
    await refused(['delete', 'owned', '--yes']);
    await refused(['refit', 'owned']);

    // A different experiment on the same data directory runs at the same time.
    const other = await runCli(['run', otherSpec, '--workers', '1', '--no-refit'], dataDir);
    assert.equal(other.code, 0, other.stderr);

    // --follow shows the owner's progress read-only, until the owner is gone.
    const follower = startCli(['run', ownedSpec, '--follow', '--no-refit'], dataDir);
    await waitFor(() => /following it \(read-only/.test(follower.output()), 'the follower to start', 60_000);
    first.child.kill('SIGKILL');
    await first.finished;
    const followed = await follower.finished;
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, words, 'it says whose search it follows');
    assert.match(followed.stderr, /^search \d+\/8 tasks/m, 'with the progress line');
    assert.match(followed.stdout, /Experiment "owned"/, 'and the leaderboard at the end');
    assert.match(await listed(dataDir, 'owned'), /\binterrupted\b/, 'its owner is gone: resumable, not running');
    const resumed = await runCli(['run', ownedSpec, '--workers', '2', '--no-refit'], dataDir);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /Resuming "owned"/);
    assert.equal(query<{ n: number }>(dataDir, `SELECT count(*) AS n FROM runs WHERE status = 'done'`)?.n, 4 + 2);
    assert.equal(query<{ n: number }>(dataDir, 'SELECT count(*) AS n FROM leases')?.n, 0, 'leases are given up at the end');
    assert.match(await listed(dataDir, 'owned'), /\bdone\b/);
  },
);
