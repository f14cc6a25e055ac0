import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type CliResult, startCli, tempDir, writeFile } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Issue 13's stress test, with real processes: three `foldwise run` of different experiments and a
 * `foldwise serve` running a search started through its API (and answering reads the whole time),
 * all on one data directory at once, round after round.
 */
const ROUNDS = 2;

/** Small specs of different datasets and tasks; early stopping makes folds end at different epochs. */
const specOf = (name: string, round: number): string => {
  const seed = `seed: ${round}\n`;
  const stopping = 'earlyStopping: { monitor: val_loss, patience: 1, minDelta: 0.002 }';
  switch (name) {
    case 'fraud':
      return `name: fraud-r${round}\ndataset: { kind: fraud, rows: 500, features: 5, positiveRate: 0.2 }
model: { learningRate: 0.03, batchSize: 32 }\ngrid: { width: [4, 8], epochs: 6 }
validation: { kind: kfold, k: 3, ${stopping} }\n${seed}`;
    case 'sine':
      return `name: sine-r${round}\ndataset: { kind: sine, rows: 400, noise: 0.1 }
model: { learningRate: 0.02, batchSize: 32, epochs: 6 }\ngrid: { depth: [1, 2] }
validation: { kind: kfold, k: 2, ${stopping} }\n${seed}`;
    case 'iris':
      return `name: iris-r${round}\ndataset: { kind: iris }\nmodel: { learningRate: 0.05, batchSize: 16, epochs: 8 }
grid: { width: [4, 8] }\nvalidation: { kind: holdout, fraction: 0.3 }\n${seed}`;
    default:
      return `name: dash-r${round}\ndataset: { kind: fraud, rows: 400, features: 4, positiveRate: 0.25 }
model: { learningRate: 0.03, batchSize: 32, epochs: 5 }\ngrid: { width: [4, 6] }
validation: { kind: kfold, k: 2, ${stopping} }\n${seed}`;
  }
};

type Json = Record<string, any>;

async function getJson(url: string): Promise<Json> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}: ${response.status}`);
  return (await response.json()) as Json;
}

/** Reads every page of the API a dashboard tab would, for every experiment it lists. */
async function readEverything(base: string): Promise<number> {
  const { experiments } = await getJson(`${base}/api/experiments`);
  let reads = 1;
  for (const { experimentId } of experiments as { experimentId: number }[]) {
    const board = await getJson(`${base}/api/experiments/${experimentId}/runs`);
    await getJson(`${base}/api/experiments/${experimentId}`);
    const runIds = (board.runs as { runId: number }[]).map((run) => run.runId);
    if (runIds.length > 0) {
      await getJson(`${base}/api/experiments/${experimentId}/curves?runs=${runIds.join(',')}`);
      await getJson(`${base}/api/experiments/${experimentId}/runs/${runIds[0]}`);
    }
    reads += runIds.length > 0 ? 4 : 2;
  }
  return reads;
}

function assertClean(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what} exited ${result.code}:\n${result.stderr}`);
  assert.doesNotMatch(
    result.stdout + result.stderr,
    /SQLITE_BUSY|database is locked|\n\s+at .+:\d+:\d+/,
    `${what}: no lock error, no stack`,
  );
}

test(`three foldwise run and a serve-run search on one data directory, ${ROUNDS} rounds: exit 0, every curve complete, none running`, {
  timeout: 240_000,
}, async () => {
  const dir = tempDir('foldwise-many-');
  const dataDir = join(dir, 'data');
  const serve = startCli(['serve', '--workers', '1'], dataDir, { FOLDWISE_PORT: '0', FOLDWISE_EXPERIMENTS_DIR: dir });
  const base = await waitFor(() => /Dashboard: (http:\/\/\S+)/.exec(serve.output())?.[1], 'the dashboard URL', 60_000);
  let apiReads = 0;
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const runs = ['fraud', 'sine', 'iris'].map((name) => {
        const spec = writeFile(dir, `${name}-r${round}.yaml`, specOf(name, round));
        return { name, process: startCli(['run', spec, '--workers', '1'], dataDir) };
      });
      const started = await fetch(`${base}/api/experiments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ specText: specOf('dashboard', round) }),
      });
      assert.equal(started.status, 201, await started.clone().text());
      const dashboardId = ((await started.json()) as Json).experiment.experimentId as number;
      // Reads go on while everything writes, until the CLI runs have exited and the dashboard's search and refit are done.
      let cliDone = false;
      const cliRuns = Promise.all(runs.map(async (run) => ({ ...run, result: await run.process.finished }))).finally(() => {
        cliDone = true;
      });
      await waitFor(
        async () => {
          apiReads += await readEverything(base);
          const { experiment } = await getJson(`${base}/api/experiments/${dashboardId}`);
          const finished =
            experiment.searchJob?.state === 'done' && experiment.refitJob !== null && experiment.refitJob.state !== 'running';
          return cliDone && finished;
        },
        `round ${round}: the runs and the dashboard's search to finish`,
        150_000,
        300,
      ).catch((error: Error) => {
        const tails = [['serve', serve], ...runs.map((run) => [run.name, run.process] as const)] as const;
        throw new Error(`${error.message}\n${tails.map(([name, p]) => `--- ${name}:\n${p.output().slice(-1500)}`).join('\n')}`);
      });
      for (const { name, result } of await cliRuns) assertClean(result, `round ${round}: foldwise run ${name}`);
      const { experiment } = await getJson(`${base}/api/experiments/${dashboardId}`);
      assert.equal(experiment.refitJob.state, 'done', JSON.stringify(experiment.refitJob));
    }
  } finally {
    serve.child.kill('SIGINT');
  }
  assertClean(await serve.finished, 'foldwise serve');
  assert.ok(apiReads > 20, `${apiReads} API reads`);

  const db = new Database(join(dataDir, 'foldwise.db'), { readonly: true, fileMustExist: true });
  try {
    const experiments = db.prepare('SELECT name, status FROM experiments ORDER BY name').all() as { name: string; status: string }[];
    assert.equal(experiments.length, 4 * ROUNDS);
    for (const experiment of experiments) assert.equal(experiment.status, 'done', experiment.name);
    const unfinished = db.prepare(`SELECT run_id, kind, status FROM runs WHERE status <> 'done'`).all();
    assert.deepEqual(unfinished, [], 'every run done (none running, queued, interrupted or failed)');
    assert.deepEqual(db.prepare(`SELECT run_id, fold_index, status FROM folds WHERE status <> 'done'`).all(), []);
    assert.deepEqual(db.prepare('SELECT experiment_id, pid FROM leases').all(), [], 'every lease given up');
    const refits = db.prepare(`SELECT count(*) AS n FROM runs WHERE kind = 'refit'`).get() as { n: number };
    assert.equal(refits.n, 4 * ROUNDS, 'each experiment refitted its best once');

    // One point per (run, fold, metric, epoch) from 0 to the fold's stopped epoch, and every fold of a run
    // has the same metrics (a fold missing one would be a lost write).
    const folds = db.prepare('SELECT run_id, fold_index, stopped_epoch FROM folds ORDER BY run_id, fold_index').all() as {
      run_id: number;
      fold_index: number;
      stopped_epoch: number;
    }[];
    const curves = db.prepare(
      `SELECT name, count(*) AS n, min(epoch) AS first, max(epoch) AS last FROM metric_points
         WHERE run_id = ? AND fold_index = ? GROUP BY name ORDER BY name`,
    );
    const namesByRun = new Map<number, string>();
    for (const fold of folds) {
      const rows = curves.all(fold.run_id, fold.fold_index) as { name: string; n: number; first: number; last: number }[];
      const where = `run ${fold.run_id} fold ${fold.fold_index}`;
      assert.ok(
        rows.some((row) => row.name === 'loss'),
        `${where}: a loss curve`,
      );
      for (const row of rows) {
        assert.deepEqual([row.first, row.last, row.n], [0, fold.stopped_epoch, fold.stopped_epoch + 1], `${where} ${row.name}`);
      }
      const names = rows.map((row) => row.name).join(',');
      assert.equal(namesByRun.get(fold.run_id) ?? names, names, `${where}: the same metrics as the run's other folds`);
      namesByRun.set(fold.run_id, names);
    }
    assert.ok(folds.length >= ROUNDS * (2 * 3 + 2 * 2 + 2 + 2 * 2 + 4), `${folds.length} folds checked`);
  } finally {
    db.close();
  }
});
