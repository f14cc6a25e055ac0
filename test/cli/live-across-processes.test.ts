import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startCli, tempDir, writeFile } from '../helpers/cli.js';
import { openSse, type ReceivedEvent } from '../helpers/sse-client.js';
import { waitFor } from '../helpers/wait-for.js';

const SPEC = `
name: followed
dataset: { kind: fraud, rows: 1500, features: 8, positiveRate: 0.15 }
model: { learningRate: 0.01, batchSize: 64 }
grid: { depth: [1, 2], width: [8, 16], epochs: 12 }
validation: { kind: kfold, k: 3 }
seed: 5
`;

function withDb<T>(dataDir: string, use: (db: Database.Database) => T, readonly = true): T {
  const db = new Database(join(dataDir, 'foldwise.db'), { readonly, fileMustExist: true });
  try {
    return use(db);
  } finally {
    db.close();
  }
}

const ofType = (events: readonly ReceivedEvent[], type: string) => events.filter((e) => e.type === type).map((e) => e.data as any);

test(
  'foldwise serve streams a search another process runs: its epochs, runs, progress, refit and list changes, ' +
    'each once; the change feed is pruned',
  async () => {
    const dir = tempDir();
    const spec = writeFile(dir, 'followed.yaml', SPEC);
    const dataDir = join(dir, 'data');
    const serve = startCli(['serve', '--workers', '1'], dataDir, { FOLDWISE_PORT: '0', FOLDWISE_EXPERIMENTS_DIR: dir });
    const clients: { close(): void }[] = [];
    try {
      const url = await waitFor(() => /Dashboard: (http:\/\/\S+)/.exec(serve.output())?.[1], 'the dashboard URL', 30_000);
      // Announcements from ten minutes ago: the first write of the feed prunes them.
      withDb(
        dataDir,
        (db) => {
          const insert = db.prepare(
            `INSERT INTO live_feed (origin, experiment_id, type, payload, created_at) VALUES ('old', 1, 'run', '{}', ?)`,
          );
          for (let i = 0; i < 3; i++) insert.run(Date.now() - 600_000);
        },
        false,
      );

      // A first run records the experiment and is stopped at once (Ctrl-C): the second resumes it,
      // and the dashboard subscribes in between, so it must hear every epoch the second one trains.
      const first = startCli(['run', spec, '--workers', '1', '--no-refit'], dataDir);
      const experimentId = await waitFor(
        () => {
          try {
            return withDb(
              dataDir,
              (db) => (db.prepare(`SELECT experiment_id FROM experiments`).get() as { experiment_id: number })?.experiment_id,
            );
          } catch {
            return undefined;
          }
        },
        'the experiment row',
        60_000,
      );
      first.child.kill('SIGINT');
      const stopped = await first.finished;
      assert.equal(stopped.code, 130, stopped.stderr);
      const doneBefore = new Set(
        withDb(
          dataDir,
          (db) => db.prepare(`SELECT run_id || ':' || fold_index AS k FROM folds WHERE status = 'done'`).all() as { k: string }[],
        ).map((row) => row.k),
      );

      const live = openSse(`${url}/api/experiments/${experimentId}/events`);
      const list = openSse(`${url}/api/events`);
      clients.push(live, list);
      await Promise.all([live.ready, list.ready]);

      const second = await startCli(['run', spec, '--workers', '2'], dataDir).finished;
      assert.equal(second.code, 0, second.stderr);
      const refitDone = await waitFor(
        () => ofType(live.events, 'refit').find((job) => job.state === 'done'),
        'the refit announced as done over SSE',
        10_000,
      );
      await waitFor(() => ofType(list.events, 'experiment').some((e) => e.status === 'done'), 'the list hearing the end', 10_000);

      const rows = withDb(dataDir, (db) => ({
        points: db
          .prepare(
            `SELECT DISTINCT m.run_id || ':' || m.fold_index || ':' || m.epoch AS k, r.kind, m.run_id || ':' || m.fold_index AS fold
             FROM metric_points m JOIN runs r USING (run_id)`,
          )
          .all() as { k: string; kind: string; fold: string }[],
        searchRuns: db.prepare(`SELECT run_id FROM runs WHERE kind = 'search'`).all() as { run_id: number }[],
        model: db.prepare('SELECT model_id, run_id, source_run_id FROM models').get() as {
          model_id: number;
          run_id: number;
          source_run_id: number;
        },
        stale: (db.prepare('SELECT count(*) AS n FROM live_feed WHERE created_at < ?').get(Date.now() - 300_000) as { n: number }).n,
      }));

      // Every epoch the second process trained (the search's and the refit's), heard once each.
      const heard = ofType(live.events, 'epoch').map((e) => `${e.runId}:${e.foldIndex}:${e.epoch}`);
      assert.equal(new Set(heard).size, heard.length, 'no epoch twice');
      const expected = rows.points.filter((p) => !doneBefore.has(p.fold)).map((p) => p.k);
      assert.ok(expected.length > 50, `${expected.length} epochs trained by the second run`);
      assert.deepEqual(new Set(heard), new Set(expected));

      const runs = ofType(live.events, 'run');
      for (const { run_id } of rows.searchRuns) {
        if ([0, 1, 2].every((fold) => doneBefore.has(`${run_id}:${fold}`))) continue;
        assert.ok(
          runs.some((r) => r.runId === run_id && r.status === 'done'),
          `run ${run_id} done`,
        );
      }
      // (The first run's `running` and `interrupted` may arrive just after the subscription: they
      // were written just before. So: the statuses in order, each change once.)
      const statuses = ofType(live.events, 'experiment')
        .map((e) => e.status)
        .filter((status) => status !== 'interrupted')
        .filter((status, i, all) => status !== all[i - 1]);
      assert.deepEqual(statuses, ['running', 'done']);
      const progress = ofType(live.events, 'progress');
      assert.equal(progress.at(-1).tasksDone, progress.at(-1).tasksTotal);
      assert.equal(progress.at(-1).tasksTotal, 12);
      assert.ok(progress.at(-1).best !== null, 'a best finished run at the end');
      assert.ok(
        progress.some((p) => p.best === null && p.leading !== null && p.leading.foldsDone < 3),
        'a provisional leader while no run had finished',
      );

      // The refit another process ran, as the refit panel follows it.
      assert.equal(refitDone.modelId, rows.model.model_id);
      assert.equal(refitDone.refitRunId, rows.model.run_id);
      assert.equal(refitDone.sourceRunId, rows.model.source_run_id);
      assert.ok(ofType(live.events, 'refit').some((job) => job.state === 'running' && job.epochsDone > 0));

      // The experiments list heard the experiment change, not its epochs.
      assert.equal(ofType(list.events, 'epoch').length, 0);
      assert.ok(ofType(list.events, 'run').length > 0);
      assert.equal(rows.stale, 0, 'announcements older than the retention are pruned');
    } finally {
      for (const client of clients) client.close();
      serve.child.kill('SIGINT');
      const ended = await serve.finished;
      assert.equal(ended.code, 0, ended.stderr);
    }
  },
);
