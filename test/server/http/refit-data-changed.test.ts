import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import type { DatasetSpec } from '../../../worker/contract/spec.js';
import { waitFor } from '../../helpers/wait-for.js';
import { datasetDigest } from '../../../worker/contract/dataset-digest.js';
import { assertSameData } from '../../../server/coordinator/same-data.js';
import { ConflictError } from '../../../server/errors.js';

const CSV = 'a,b,label\n0.1,0.2,0\n0.9,0.8,1\n0.2,0.1,0\n0.8,0.9,1\n';

const post = (dash: TestDashboard, path: string, body: unknown) =>
  fetch(`${dash.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: dash.url },
    body: JSON.stringify(body),
  });

/**
 * Searches `spec` from the dashboard (its best is refitted at the end), applies `edit` to the data, and
 * checks that a refit from the API and from the page's form is refused with 409 naming `where`, writing
 * nothing; then `restore`, and a refit runs again.
 */
async function refusedAfterEdit(
  dash: TestDashboard,
  spec: string,
  dataset: DatasetSpec,
  where: string,
  edit: () => void,
  restore: () => void,
): Promise<void> {
  const started = await post(dash, '/api/experiments', { specText: spec });
  assert.equal(started.status, 201);
  const id = ((await started.json()) as any).experiment.experimentId as number;
  await waitFor(() => dash.services.background.latestRefit(id)?.state === 'done', 'the refit after the search', 20_000);
  const then = dash.storage.experiments.get(id).dataSha256;
  assert.equal(then, await datasetDigest(dataset), 'the digest the search ran on is recorded');

  edit();
  const now = (await datasetDigest(dataset))!;
  const runsBefore = JSON.stringify(dash.storage.runs.list(id));
  const refused = await post(dash, `/api/experiments/${id}/refit`, {});
  assert.equal(refused.status, 409);
  assert.equal(
    ((await refused.json()) as any).error.message,
    `the ${where} changed since the search (sha256 ${then!.slice(0, 12)}… then, ${now.slice(0, 12)}… now): ` +
      'run the search again (as a new experiment, or after deleting this one), or put the original data back',
  );
  // The page's form (no JavaScript) is refused the same way.
  const form = await fetch(`${dash.url}/experiments/${id}/refit`, { method: 'POST', headers: { Origin: dash.url }, redirect: 'manual' });
  assert.equal(form.status, 409);
  assert.match(await form.text(), /changed since the search/);
  assert.equal(JSON.stringify(dash.storage.runs.list(id)), runsBefore, 'no refit run recorded');
  assert.equal(dash.storage.models.ofExperiment(id).length, 1);
  assert.equal(dash.storage.leases.holder(id), null);

  restore();
  assert.equal((await post(dash, `/api/experiments/${id}/refit`, {})).status, 202, "the search's bytes back: it refits");
  await waitFor(() => dash.services.background.latestRefit(id)?.state === 'done', 'the second refit', 20_000);
}

test('a dashboard refit after the CSV changed since the search: 409 naming the file and both digests, nothing written', async () => {
  const dash = await startTestDashboard({ copyExperiments: false });
  try {
    mkdirSync(dash.experimentsDir, { recursive: true });
    const csv = join(dash.experimentsDir, 'edited.csv');
    writeFileSync(csv, CSV);
    const spec = 'name: edited\ndataset: { kind: csv, path: edited.csv, target: label }\ngrid: { width: [4, 8], epochs: 3 }\n';
    await refusedAfterEdit(
      dash,
      spec,
      { kind: 'csv', path: csv, target: 'label' },
      `data file ${csv}`,
      () => writeFileSync(csv, `${CSV}0.5,0.5,1\n`),
      () => writeFileSync(csv, CSV),
    );
  } finally {
    await dash.close();
  }
});

test('a dashboard refit of a MovieLens experiment whose ratings file changed: 409 naming the folder', async () => {
  const dash = await startTestDashboard({ copyExperiments: false });
  try {
    const folder = join(dash.experimentsDir, 'ml-100k');
    mkdirSync(folder, { recursive: true });
    const ratings = '1\t1\t5\t880000001\n1\t2\t3\t880000002\n2\t1\t4\t880000003\n2\t2\t2\t880000004\n';
    writeFileSync(join(folder, 'u.data'), ratings);
    writeFileSync(join(folder, 'u.user'), '1|20|M|writer|10001\n2|30|F|other|10002\n');
    const spec = 'name: ratings\ndataset: { kind: movielens, path: ml-100k }\ngrid: { width: [4, 8], epochs: 3 }\n';
    await refusedAfterEdit(
      dash,
      spec,
      { kind: 'movielens', path: folder, layout: 'auto' },
      `data folder ${folder}`,
      () => writeFileSync(join(folder, 'u.data'), `${ratings}2\t3\t1\t880000005\n`),
      () => writeFileSync(join(folder, 'u.data'), ratings),
    );
  } finally {
    await dash.close();
  }
});

test('assertSameData: a MovieLens folder is named as a folder, an unreadable one says so; no recorded digest passes', () => {
  const spec = { dataset: { kind: 'movielens', path: '/data/ml-100k', layout: 'auto' } } as any;
  assert.throws(
    () => assertSameData({ spec, dataSha256: 'a'.repeat(64) }, null),
    (error: unknown) =>
      error instanceof ConflictError &&
      error.message.startsWith(`the data folder /data/ml-100k changed since the search (sha256 ${'a'.repeat(12)}… then, unreadable now)`),
  );
  assert.doesNotThrow(() => assertSameData({ spec, dataSha256: 'b'.repeat(64) }, 'b'.repeat(64)));
  assert.doesNotThrow(() => assertSameData({ spec, dataSha256: null }, 'c'.repeat(64)), 'searched before digests were kept');
});
