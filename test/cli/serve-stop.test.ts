import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MLP_ENGINE_ENV_VAR } from '../../worker/engine/engine-trainer.js';
import { startCli, tempDir, writeFile } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

// Long enough (one worker, the layers trainer) to be stopped mid-search.
const SPEC = `
name: served
dataset: { kind: fraud, rows: 3000, features: 10, positiveRate: 0.1 }
model: { learningRate: 0.01, batchSize: 32 }
grid: { depth: [1, 2], width: [8, 24], epochs: 60 }
validation: { kind: kfold, k: 2 }
seed: 5
`;

const getJson = async (url: string) => (await fetch(url)).json() as Promise<any>;

test('run --serve: Stop in the dashboard ends the search of the CLI (interrupted, resumable); the CLI exits 130', async () => {
  const dir = tempDir();
  const spec = writeFile(dir, 'served.yaml', SPEC);
  const dataDir = join(dir, 'data');
  const run = startCli(['run', spec, '--workers', '1', '--serve', '--port', '0'], dataDir, { [MLP_ENGINE_ENV_VAR]: 'layers' });
  const url = (await waitFor(() => /Dashboard: (http:\S+)/.exec(run.output())?.[1], 'the dashboard URL', 60_000)) as string;
  const id = await waitFor(async () => (await getJson(`${url}/api/experiments`)).experiments[0]?.experimentId as number, 'the experiment');
  // Stoppable from the page as a search started there is, once a fold is in.
  const detail = await waitFor(
    async () => {
      const experiment = (await getJson(`${url}/api/experiments/${id}`)).experiment;
      return experiment.canStop && experiment.tasksDone >= 1 ? experiment : null;
    },
    'a finished fold, with Stop offered',
    120_000,
  );
  assert.equal(detail.status, 'running');
  assert.equal(detail.owner, null, 'its owner is this dashboard: no "stop it there"');
  const page = await (await fetch(`${url}/experiments/${id}`)).text();
  assert.match(page, /data-action="stop"/, 'the Stop button');

  const stopped = await fetch(`${url}/api/experiments/${id}/stop`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: url },
    body: '{}',
  });
  assert.equal(stopped.status, 200);
  assert.equal(((await stopped.json()) as any).search.state, 'interrupted', 'answered once the search recorded its end');

  const result = await run.finished;
  assert.equal(result.code, 130, result.stderr);
  assert.match(result.stderr, /^Stop in the dashboard: stopping(; 1 running task will be marked interrupted)?\.$/m);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.match(result.stdout, /^Search interrupted in .+ \(\d+ tasks trained\)\.$/m);
  assert.match(result.stdout, /Run `foldwise run .+served\.yaml` again to resume\./);
  assert.doesNotMatch(result.stdout, /Refitting/, 'an interrupted search is not refitted');

  const db = new Database(join(dataDir, 'foldwise.db'), { readonly: true });
  try {
    assert.equal((db.prepare('SELECT status FROM experiments').get() as any).status, 'interrupted');
    assert.equal((db.prepare(`SELECT count(*) AS n FROM runs WHERE status = 'running' OR kind = 'refit'`).get() as any).n, 0);
    assert.equal((db.prepare('SELECT count(*) AS n FROM leases').get() as any).n, 0, 'the lease is given up');
  } finally {
    db.close();
  }

  // Resumable: the same command takes it up again (stopped once it has said so).
  const again = startCli(['run', spec, '--workers', '1', '--no-refit'], dataDir, { [MLP_ENGINE_ENV_VAR]: 'layers' });
  await waitFor(() => /Resuming "served"/.test(again.output()), 'the resume', 60_000);
  again.child.kill('SIGINT');
  assert.equal((await again.finished).code, 130);
});
