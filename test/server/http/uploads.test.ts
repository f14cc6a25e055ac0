import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_UPLOAD_BYTES } from '../../../server/services/uploads.js';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';

let dash: TestDashboard;

before(async () => {
  dash = await startTestDashboard();
});
after(() => dash.close());

const CSV = 'age,income,city,churned\n31,52000,Leeds,0\n45,61000,York,1\n27,38000,Leeds,0\n';
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

function upload(body: string | Buffer, name = 'customers.csv', contentType: string | null = 'text/csv') {
  return fetch(`${dash.url}/api/uploads?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: contentType === null ? {} : { 'Content-Type': contentType },
    body: new Uint8Array(typeof body === 'string' ? Buffer.from(body) : body),
  });
}
const errorOf = async (response: Response) => ((await response.json()) as any).error;
const uploadsDir = () => join(dash.dataDir, 'uploads');

test('POST /api/uploads stores the CSV under its SHA-256 in the data directory and returns its path and header', async () => {
  const response = await upload(CSV, 'customers.csv');
  assert.equal(response.status, 201);
  const { upload: stored, reused } = (await response.json()) as any;
  assert.equal(reused, false);
  assert.equal(stored.sha256, sha256(CSV));
  assert.equal(stored.path, join(dash.dataDir, 'uploads', `${sha256(CSV)}.csv`));
  assert.equal(readFileSync(stored.path, 'utf8'), CSV, 'the bytes as sent');
  assert.equal(stored.fileName, 'customers.csv');
  assert.equal(stored.bytes, Buffer.byteLength(CSV));
  assert.deepEqual(stored.columns, ['age', 'income', 'city', 'churned']);
  assert.ok(Math.abs(stored.uploadedAt - Date.now()) < 60_000);
  assert.deepEqual(
    readdirSync(uploadsDir()).filter((name) => name.endsWith('.tmp')),
    [],
    'no temporary file left behind',
  );
});

test('the same bytes uploaded again reuse the stored file (200, reused), under any name', async () => {
  const first = (await (await upload(CSV, 'customers.csv')).json()) as any;
  const again = await upload(CSV, 'copy of customers.csv');
  assert.equal(again.status, 200);
  const body = (await again.json()) as any;
  assert.equal(body.reused, true);
  assert.equal(body.upload.path, first.upload.path);
  assert.equal(body.upload.fileName, 'customers.csv', 'listed under the name it was first uploaded as');
  assert.equal(readdirSync(uploadsDir()).filter((name) => name.endsWith('.csv')).length, 1);
});

test('GET /api/uploads lists the uploads newest first with name, size, date, path and the limit', async () => {
  const other = 'x,y\n1,2\n';
  assert.equal((await upload(other, 'tiny.csv')).status, 201);
  const response = await fetch(`${dash.url}/api/uploads`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as any;
  assert.equal(body.limitBytes, MAX_UPLOAD_BYTES);
  assert.equal(body.folder, uploadsDir());
  const names = body.uploads.map((u: any) => u.fileName);
  assert.deepEqual(names.slice(0, 2), ['tiny.csv', 'customers.csv']);
  const tiny = body.uploads[0];
  assert.equal(tiny.bytes, Buffer.byteLength(other));
  assert.equal(tiny.path, join(uploadsDir(), `${sha256(other)}.csv`));
  assert.equal(typeof tiny.uploadedAt, 'number');
});

test('an upload over the limit is refused with 413 naming the limit, and nothing is stored', async () => {
  const before = readdirSync(uploadsDir()).length;
  const big = Buffer.alloc(MAX_UPLOAD_BYTES + 1, 'a');
  const response = await upload(big, 'big.csv');
  assert.equal(response.status, 413);
  const error = await errorOf(response);
  assert.equal(error.code, 'payload_too_large');
  assert.match(error.message, /larger than the upload limit of 50 MB/);
  assert.equal(readdirSync(uploadsDir()).length, before);
});

test('a body that is not declared as CSV, empty, binary or without data rows is a 400 naming what was expected', async () => {
  const before = readdirSync(uploadsDir()).length;
  const cases: [string, Promise<Response>, RegExp][] = [
    ['JSON', upload('{"a": 1}', 'a.csv', 'application/json'), /^Content-Type: expected text\/csv/],
    ['no type', upload(CSV, 'a.csv', null), /^Content-Type: expected text\/csv.*got none/],
    ['multipart', upload(CSV, 'a.csv', 'multipart/form-data; boundary=x'), /^Content-Type: expected text\/csv/],
    ['empty', upload('', 'a.csv'), /^body: the file is empty/],
    ['binary', upload(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0x14, 0]), 'a.xlsx'), /^body: expected a CSV file in UTF-8 text/],
    ['not UTF-8', upload(Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0xff, 0xfe, 0x2c, 0x31, 0x0a]), 'a.csv'), /UTF-8/],
    ['one column', upload('just-one\n1\n2\n', 'a.csv'), /^body: the header row has 1 column/],
    ['header only', upload('a,b\n', 'a.csv'), /^body: the file has a header row but no data rows/],
    ['a folder in the name', upload(CSV, '../etc/passwd'), /^name: expected a file name without folders/],
    ['a long name', upload(CSV, `${'n'.repeat(201)}.csv`), /^name: expected at most 200 characters/],
  ];
  for (const [label, pending, message] of cases) {
    const response = await pending;
    assert.equal(response.status, 400, label);
    const error = await errorOf(response);
    assert.equal(error.code, 'invalid_argument', label);
    assert.match(error.message, message, label);
  }
  assert.equal(readdirSync(uploadsDir()).length, before, 'nothing stored');
});

test('an upload from another origin is refused before its body is read', async () => {
  const response = await fetch(`${dash.url}/api/uploads?name=a.csv`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/csv', Origin: 'http://evil.test' },
    body: CSV,
  });
  assert.equal(response.status, 403);
});

test('a stored upload starts an experiment from pasted YAML (the uploads folder is readable)', async () => {
  const { upload: stored } = (await (await upload(CSV, 'customers.csv')).json()) as any;
  const specText = `name: from-upload\ndataset: { kind: csv, path: ${stored.path}, target: churned }\ngrid: { width: [4], epochs: 2 }\n`;
  const response = await fetch(`${dash.url}/api/experiments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ specText }),
  });
  assert.equal(response.status, 201, JSON.stringify(await response.clone().json()));
});

test('a pasted spec whose data the dashboard may not read names the folders it may read and how a relative path resolved', async () => {
  const start = (path: string) =>
    fetch(`${dash.url}/api/experiments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ specText: `name: outside\ndataset: { kind: csv, path: "${path}", target: x }\n` }),
    });
  const relative = await errorOf(await start('../secret/data.csv'));
  assert.equal(relative.path, 'dataset.path');
  const resolved = join(dash.experimentsDir, '..', 'secret', 'data.csv');
  for (const text of [relative.message, relative.issues[0].message]) {
    assert.ok(text.includes(dash.experimentsDir), text);
    assert.ok(text.includes(dash.dataDir), text);
    assert.ok(text.includes(`relative to the experiments folder, so ${resolved}`), text);
  }
  assert.ok(relative.message.includes(`uploads are kept in ${join(dash.dataDir, 'uploads')}`), relative.message);

  const absolute = await errorOf(await start('/etc/passwd'));
  assert.match(absolute.message, /^dataset\.path: "\/etc\/passwd" is outside the folders the dashboard may read: the experiments folder /);
  assert.ok(!absolute.message.includes('relative to'), 'an absolute path is not explained as relative');

  // A link inside the experiments folder that points outside is refused too, and said to be a link.
  const outside = join(dash.experimentsDir, '..', 'outside.csv');
  writeFileSync(outside, 'a,b\n1,2\n');
  symlinkSync(outside, join(dash.experimentsDir, 'linked.csv'));
  const linked = await errorOf(await start('linked.csv'));
  assert.equal(linked.path, 'dataset.path');
  assert.ok(linked.message.includes(`a link to ${outside}`), linked.message);

  // The page shows the same message next to the spec, and names the folders up front.
  const page = await fetch(`${dash.url}/experiments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ source: 'text', specText: 'name: outside\ndataset: { kind: csv, path: ../x.csv, target: x }\n' }),
  });
  assert.equal(page.status, 400);
  const html = await page.text();
  assert.match(html, /relative to the experiments folder, so/);
  assert.match(html, /id="data-folders"/);
});

test('a link inside the experiments folder pointing into the data directory may be read', async () => {
  mkdirSync(join(dash.dataDir, 'tables'), { recursive: true });
  writeFileSync(join(dash.dataDir, 'tables', 't.csv'), 'a,b\n1,2\n3,4\n');
  symlinkSync(join(dash.dataDir, 'tables', 't.csv'), join(dash.experimentsDir, 't.csv'));
  const response = await fetch(`${dash.url}/api/experiments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      specText: 'name: linked-inside\ndataset: { kind: csv, path: t.csv, target: b }\ngrid: { width: [4], epochs: 2 }\n',
    }),
  });
  assert.equal(response.status, 201);
  assert.ok(existsSync(join(dash.experimentsDir, 't.csv')));
});

test('the New experiment page lists the uploads for reuse and renders the list alone as a fragment', async () => {
  const html = await (await fetch(`${dash.url}/experiments/new`)).text();
  assert.match(html, /id="uploads-card"/);
  assert.match(html, /customers\.csv/);
  assert.ok(html.includes(join(uploadsDir(), `${sha256(CSV)}.csv`)), 'the path to write in the spec');
  assert.match(html, /<option value="churned" selected>churned<\/option>/, 'the target picker defaults to the last column');
  const fragment = await fetch(`${dash.url}/experiments/new?fragment=upload-list`);
  assert.equal(fragment.status, 200);
  const text = await fragment.text();
  assert.match(text, /^<template data-fragment="upload-list"><div id="upload-list">/);
  assert.ok(!text.includes('<form'), 'only the list');
});
