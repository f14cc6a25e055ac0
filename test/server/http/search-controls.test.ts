import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import { PacedRunner } from '../../helpers/paced-runner.js';
import { seedExperiment } from '../../helpers/seed-db.js';
import { waitFor } from '../../helpers/wait-for.js';
import { openStorage } from '../../../server/storage/storage.js';

const SPEC = `name: stoppable
dataset: { kind: fraud, rows: 400, features: 4 }
grid: { depth: [1, 2], width: [4, 8], epochs: 15 }
validation: { kind: kfold, k: 3 }
`;

async function post(dash: TestDashboard, path: string, body: unknown = {}) {
  const response = await fetch(`${dash.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: dash.url },
    body: JSON.stringify(body),
    redirect: 'manual',
  });
  return { status: response.status, body: (await response.json().catch(() => null)) as any, response };
}

const detail = async (dash: TestDashboard, id: number) =>
  ((await (await fetch(`${dash.url}/api/experiments/${id}`)).json()) as any).experiment;

test('a search from the browser: Stop ends it as Ctrl-C does (interrupted, no refit), Resume finishes it and refits its best', async () => {
  const lines: string[] = [];
  const dash = await startTestDashboard({ runner: new PacedRunner({ epochDelayMs: 15 }), log: (line) => lines.push(line) });
  try {
    const started = await post(dash, '/api/experiments', { specText: SPEC });
    assert.equal(started.status, 201);
    const id = started.body.experiment.experimentId as number;
    assert.equal((await detail(dash, id)).canStop, true);
    // Stopped mid-search, once some folds are in: a provisional ranking exists, no run has finished.
    await waitFor(async () => (await detail(dash, id)).tasksDone >= 2, 'two folds done');
    const stopped = await post(dash, `/api/experiments/${id}/stop`);
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal(stopped.body.search.state, 'interrupted');
    const after = await detail(dash, id);
    assert.equal(after.status, 'interrupted');
    assert.equal(after.canStop, false);
    assert.equal(after.canResume, true);
    assert.equal(after.refitJob, null, 'an interrupted search is not refitted');
    const board = (await (await fetch(`${dash.url}/api/experiments/${id}/runs`)).json()) as any;
    assert.ok(
      board.runs.every((run: any) => run.status !== 'running'),
      'nothing left running',
    );
    assert.equal(dash.storage.leases.holder(id), null, 'the lease is given up');

    const again = await post(dash, `/api/experiments/${id}/stop`);
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /"stoppable" is not running; there is nothing to stop/);

    const resumed = await post(dash, `/api/experiments/${id}/resume`);
    assert.equal(resumed.status, 202);
    assert.equal(resumed.body.search.state, 'running');
    const refit = await waitFor(
      async () => {
        const job = (await detail(dash, id)).refitJob;
        return job?.state === 'done' ? job : null;
      },
      'the search to end and its best to be refitted',
      30_000,
    );
    const done = await detail(dash, id);
    assert.equal(done.status, 'done');
    assert.equal(done.runsFinished, 4);
    assert.equal(refit.sourceRunId, done.best.runId);
    assert.equal(done.models.length, 1);
    assert.equal(done.canResume, false);
    const finished = await post(dash, `/api/experiments/${id}/resume`);
    assert.equal(finished.status, 409);
    assert.match(finished.body.error.message, /has finished; there is nothing to resume/);

    // What the serve terminal printed, in order.
    assert.equal(lines.length, 6, lines.join('\n'));
    assert.equal(lines[0], 'search of "stoppable" started from the dashboard: 12 tasks to train');
    assert.match(lines[1]!, /^search of "stoppable" interrupted after .+ \(\d+ tasks trained\); Resume continues it$/);
    assert.match(lines[2]!, /^search of "stoppable" started from the dashboard: \d+ tasks to train$/);
    assert.match(lines[3]!, /^search of "stoppable" finished in .+ \(\d+ tasks trained\)$/);
    assert.match(lines[4]!, new RegExp(`^refit of run ${refit.sourceRunId} of "stoppable" started: \\d+ epochs on all non-test rows$`));
    assert.match(lines[5]!, new RegExp(`^refit of run ${refit.sourceRunId} of "stoppable" finished: test auc \\d\\.\\d{4}$`));

    // The page's buttons, without JavaScript: the forms post and come back to the page.
    const form = await fetch(`${dash.url}/experiments/${id}/resume`, { method: 'POST', headers: { Origin: dash.url }, redirect: 'manual' });
    assert.equal(form.status, 409, 'a finished search has nothing to resume');
  } finally {
    await dash.close();
  }
});

test('Stop and Resume of an experiment another process owns are refused (409) naming the owner; the page says who', async () => {
  let experimentId = 0;
  const dash = await startTestDashboard({
    seed: (storage) =>
      (experimentId = seedExperiment(storage, { name: 'elsewhere', runs: 4, queued: 2, status: 'interrupted' }).experimentId),
  });
  // Another handle on the same file: what another foldwise process is to the database.
  const other = openStorage(join(dash.dataDir, 'foldwise.db'));
  try {
    assert.equal((await detail(dash, experimentId)).canResume, true);
    const taken = other.leases.acquire(experimentId, 'search');
    assert.ok('lease' in taken);
    const words = new RegExp(`experiment "elsewhere" is being searched by pid ${process.pid} on host \\S+ since `);
    for (const action of ['stop', 'resume']) {
      const refused = await post(dash, `/api/experiments/${experimentId}/${action}`);
      assert.equal(refused.status, 409, action);
      assert.match(refused.body.error.message, words, action);
    }
    const page = await (await fetch(`${dash.url}/experiments/${experimentId}`)).text();
    assert.match(page, new RegExp(`Searched by pid ${process.pid} on \\S+ since [^;]+; stop it there\\.`));
    assert.doesNotMatch(page, /data-action="(stop|resume)"/, 'no button that cannot work');
    other.leases.release(taken.lease);

    const page2 = await (await fetch(`${dash.url}/experiments/${experimentId}`)).text();
    assert.match(page2, /data-action="resume"/);
    const form = await fetch(`${dash.url}/experiments/${experimentId}/resume`, {
      method: 'POST',
      headers: { Origin: dash.url },
      redirect: 'manual',
    });
    assert.equal(form.status, 303);
    assert.equal(form.headers.get('location'), `/experiments/${experimentId}`);
    await waitFor(async () => (await detail(dash, experimentId)).status === 'done', 'the resumed search to end', 20_000);
  } finally {
    other.close();
    await dash.close();
  }
});
