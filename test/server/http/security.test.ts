import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../../helpers/seed-db.js';

let dash: TestDashboard;
let seeded: SeededExperiment;
let modelId: number;
let outside: string;

before(async () => {
  dash = await startTestDashboard({
    seed: (storage, { dataDir, experimentsDir }) => {
      seeded = seedExperiment(storage, { name: 'guarded', runs: 4, folds: 2, epochs: 4, modelDataDir: dataDir });
      // A secret next to the data directory, and links that try to reach it.
      outside = join(dataDir, '..', 'secret.txt');
      writeFileSync(outside, 'TOP SECRET');
      const modelDir = storage.models.ofExperiment(seeded.experimentId)[0]!.path;
      symlinkSync(outside, join(modelDir, 'leak.json'));
      symlinkSync(outside, join(experimentsDir, 'leak.yaml'));
      // A model row whose folder lies outside the data directory (a tampered or moved database).
      mkdirSync(join(dataDir, '..', 'elsewhere'), { recursive: true });
      writeFileSync(join(dataDir, '..', 'elsewhere', 'model.json'), 'NOT YOURS');
      const refit = storage.runs.createRefitRun(seeded.experimentId, storage.runs.get(seeded.runIds[1]!).paramsJson, seeded.runIds[1]!);
      storage.models.save({
        runId: refit.runId,
        experimentId: seeded.experimentId,
        sourceRunId: seeded.runIds[1]!,
        format: 'tfjs-layers',
        path: join(dataDir, '..', 'elsewhere'),
        testMetrics: {},
      });
    },
  });
  modelId = dash.storage.models.ofExperiment(seeded.experimentId).find((m) => m.runId === seeded.refitRunId)!.modelId;
});
after(() => dash.close());

/** A raw request: the path is sent exactly as written (fetch would normalise `../`). */
function raw(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  const url = new URL(dash.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(dash.url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
    redirect: 'manual',
  });

test('a POST from another origin is refused with 403 and changes nothing', async () => {
  const id = seeded.experimentId;
  const foreign: Record<string, string>[] = [
    { Origin: 'http://evil.example' },
    { Origin: 'null' },
    { Origin: `${dash.url.replace('127.0.0.1', 'localhost')}` },
    { 'Sec-Fetch-Site': 'cross-site' },
    { 'Sec-Fetch-Site': 'same-site' },
  ];
  for (const headers of foreign) {
    const refit = await postJson(`/api/experiments/${id}/refit`, {}, headers);
    assert.equal(refit.status, 403, JSON.stringify(headers));
    assert.equal(((await refit.json()) as any).error.code, 'forbidden');
    const del = await postJson(`/api/experiments/${id}/delete`, { confirm: 'guarded' }, headers);
    assert.equal(del.status, 403);
    const start = await postJson('/api/experiments', { specFile: 'default.yaml' }, headers);
    assert.equal(start.status, 403);
  }
  const formPost = await fetch(`${dash.url}/experiments/${id}/delete`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://evil.example' },
    body: 'confirm=guarded',
    redirect: 'manual',
  });
  assert.equal(formPost.status, 403);
  assert.match(await formPost.text(), /state-changing requests must come from the dashboard itself/);
  assert.equal(dash.services.background.latestRefit(id), null, 'no refit started');
  assert.equal(dash.storage.experiments.get(id).name, 'guarded', 'not deleted');
  assert.equal(dash.storage.experiments.list().length, 1, 'nothing started');
});

test('a POST from the dashboard itself (same Origin / same-origin fetch) passes the origin check', async () => {
  const response = await postJson(
    `/api/experiments/${seeded.experimentId}/delete`,
    { confirm: 'wrong' },
    { Origin: dash.url, 'Sec-Fetch-Site': 'same-origin' },
  );
  assert.equal(response.status, 400, 'reaches validation');
});

test('reads carry no CORS grant; a foreign Host header (DNS rebinding) is refused with 421', async () => {
  const response = await fetch(`${dash.url}/api/experiments`, { headers: { Origin: 'http://evil.example' } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('access-control-allow-origin'), null);
  const rebound = await raw('/api/experiments', { Host: 'evil.example:80' });
  assert.equal(rebound.status, 421);
  assert.ok(!rebound.body.includes('guarded'));
  assert.equal((await raw('/api/experiments', { Host: `localhost:${new URL(dash.url).port}` })).status, 200);
});

test('request bodies over 256 kB are refused with 413; malformed JSON with 400', async () => {
  const big = await postJson('/api/experiments', { specText: `name: big\n# ${'x'.repeat(300 * 1024)}\n` });
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as any).error.code, 'payload_too_large');
  const bigForm = await fetch(`${dash.url}/experiments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `source=text&specText=${'y'.repeat(300 * 1024)}`,
    redirect: 'manual',
  });
  assert.equal(bigForm.status, 413);
  assert.match(await bigForm.text(), /Request too large/);
  const malformed = await fetch(`${dash.url}/api/experiments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"specText": ',
  });
  assert.equal(malformed.status, 400);
  assert.equal(((await malformed.json()) as any).error.code, 'invalid_argument');
});

test('model downloads refuse traversal: ../, encoded, absolute, backslashes, symlinks', async () => {
  const attempts = [
    `/api/models/${modelId}/files/..%2F..%2F..%2Ffoldwise.db`,
    `/api/models/${modelId}/files/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt`,
    `/api/models/${modelId}/files/%252e%252e%252fsecret.txt`,
    `/api/models/${modelId}/files/%2Fetc%2Fpasswd`,
    `/api/models/${modelId}/files/..%5C..%5Csecret.txt`,
    `/api/models/${modelId}/files/../../../secret.txt`,
    `/api/models/${modelId}/files/..`,
    `/api/models/${modelId}/files/.hidden`,
    `/api/models/${modelId}/files/leak.json`,
  ];
  for (const path of attempts) {
    const response = await raw(path);
    assert.ok([400, 404].includes(response.status), `${path} → ${response.status}`);
    assert.ok(!response.body.includes('TOP SECRET') && !response.body.includes('SQLite format'), path);
  }
  const listed = (await (await fetch(`${dash.url}/api/models/${modelId}`)).json()) as any;
  assert.ok(!listed.model.files.some((f: any) => f.name === 'leak.json'), 'symlinks are not listed');
});

test('a model row pointing outside the data directory serves nothing', async () => {
  const model = dash.storage.models.ofExperiment(seeded.experimentId).find((m) => m.path.endsWith('elsewhere'))!;
  const info = (await (await fetch(`${dash.url}/api/models/${model.modelId}`)).json()) as any;
  assert.equal(info.model.location, null);
  assert.deepEqual(info.model.files, []);
  const response = await raw(`/api/models/${model.modelId}/files/model.json`);
  assert.equal(response.status, 404);
  assert.ok(!response.body.includes('NOT YOURS'));
});

test('spec files are read by name only, from the experiments folder: traversal and symlinks refused', async () => {
  for (const path of [
    '/api/specs/..%2F..%2Fdata%2Ffoldwise.db',
    '/api/specs/..%2Fsecret.txt',
    '/api/specs/%2Fetc%2Fpasswd',
    '/api/specs/%2e%2e%2fsecret.yaml',
    '/api/specs/../secret.txt',
    '/api/specs/leak.yaml',
    '/api/specs/..%252f..%252fsecret.yaml',
  ]) {
    const response = await raw(path);
    assert.ok([400, 404].includes(response.status), `${path} → ${response.status}`);
    assert.ok(!response.body.includes('TOP SECRET'), path);
  }
  const listed = (await (await fetch(`${dash.url}/api/specs`)).json()) as any;
  assert.ok(!listed.specs.some((s: any) => s.fileName === 'leak.yaml'), 'a symlink out of the folder is not listed');
  const start = await postJson('/api/experiments', { specFile: 'leak.yaml' });
  assert.equal(start.status, 404);
});

test('static files refuse traversal out of web/static', async () => {
  for (const path of [
    '/static/..%2F..%2Fpackage.json',
    '/static/%2e%2e/%2e%2e/package.json',
    '/static/../../package.json',
    '/static/vendor/..%2F..%2F..%2Fpackage.json',
    '/static/.%2e/.%2e/server/config.ts',
  ]) {
    const response = await raw(path);
    assert.ok(response.status >= 400, `${path} → ${response.status}`);
    assert.ok(!response.body.includes('"name": "foldwise"') && !response.body.includes('loadConfig'), path);
  }
});

test('a 500 sends a generic message and no stack', async () => {
  const original = dash.services.queries.list;
  dash.services.queries.list = () => {
    throw new Error('secret internals at /home/someone/db');
  };
  const errors: unknown[] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => void errors.push(args);
  try {
    const api = await fetch(`${dash.url}/api/experiments`);
    assert.equal(api.status, 500);
    const body = (await api.json()) as any;
    assert.equal(body.error.code, 'internal');
    assert.ok(!JSON.stringify(body).includes('secret internals'));
    const html = await fetch(`${dash.url}/`);
    assert.equal(html.status, 500);
    const text = await html.text();
    assert.ok(!text.includes('secret internals') && !text.includes('at '), 'no stack in the page');
    assert.equal(errors.length, 2, 'the stack is logged on the server');
  } finally {
    dash.services.queries.list = original;
    console.error = consoleError;
  }
});
