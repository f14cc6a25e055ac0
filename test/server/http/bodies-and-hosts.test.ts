import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { hostName } from '../../../server/http/security.js';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';

let dash: TestDashboard;
let port: number;

before(async () => {
  dash = await startTestDashboard({ copyExperiments: false });
  port = Number(new URL(dash.url).port);
});
after(() => dash.close());

/** One request written byte for byte on a socket (headers exactly as given, none added); resolves with the status and body. */
function rawRequest(head: string, body: Buffer | string = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error),
    );
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
      resolve({ status, text: received.slice(received.indexOf('\r\n\r\n') + 4) });
    });
    socket.write(`${head.replace(/\n/g, '\r\n')}\r\n\r\n`);
    socket.end(body);
  });
}

const get = (host: string | null, extra = '') =>
  rawRequest(`GET /api/experiments HTTP/1.1\n${host === null ? '' : `Host: ${host}\n`}${extra}Connection: close`);

test('bodies of any content type over 256 kB are refused with 413 and start nothing', async () => {
  const big = `name: big\n# ${'x'.repeat(300 * 1024)}\n`;
  for (const type of ['text/plain', 'application/x-yaml', 'application/octet-stream', 'multipart/form-data; boundary=x', null]) {
    const headers: Record<string, string> = type === null ? {} : { 'Content-Type': type };
    const response = await fetch(`${dash.url}/api/experiments`, { method: 'POST', headers, body: Buffer.from(big) });
    assert.equal(response.status, 413, `Content-Type ${type}`);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'payload_too_large');
  }
  // Without a length (chunked), and to a page route and an unknown path: the same limit.
  const chunks = Array.from({ length: 40 }, () => `2000\r\n${'y'.repeat(0x2000)}\r\n`).join('');
  const chunked = await rawRequest(
    `POST /api/experiments HTTP/1.1\nHost: 127.0.0.1:${port}\nContent-Type: text/plain\nTransfer-Encoding: chunked\nConnection: close`,
    `${chunks}0\r\n\r\n`,
  );
  assert.equal(chunked.status, 413);
  for (const path of ['/experiments', '/no-such-page']) {
    const response = await fetch(dash.url + path, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: big });
    assert.equal(response.status, 413, path);
    assert.match(await response.text(), /Request too large/);
  }
  // A small JSON body that inflates past the limit.
  const bomb = await fetch(`${dash.url}/api/experiments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
    body: gzipSync(JSON.stringify({ specText: big })),
  });
  assert.equal(bomb.status, 413);
  assert.equal(dash.storage.experiments.list().length, 0, 'nothing started');
});

test('a small body of another type reaches the route and is refused there; CSV uploads keep their own, larger limit', async () => {
  const plain = await fetch(`${dash.url}/api/experiments`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'name: x' });
  assert.equal(plain.status, 400);
  const csv = `a,b,label\n${Array.from({ length: 30_000 }, (_, i) => `${i},${i % 7},${i % 2}`).join('\n')}\n`;
  assert.ok(csv.length > 256 * 1024);
  const upload = await fetch(`${dash.url}/api/uploads?name=big.csv`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/csv' },
    body: csv,
  });
  assert.equal(upload.status, 201);
});

test('a Host header is parsed strictly: malformed, missing or repeated is 400, another name 421, ours 200', async () => {
  for (const host of [
    `localhost:${port}@evil.test`,
    `[::1]evil.test`,
    'localhost:',
    'localhost:99999',
    'localhost:0',
    'localhost.',
    'local host',
    `127.0.0.1:${port}, evil.test`,
    '',
  ]) {
    const response = await get(host);
    assert.equal(response.status, 400, `Host: ${host}`);
    assert.match(response.text, /expected one Host header of the form name or name:port/);
  }
  const twice = await get(`127.0.0.1:${port}`, 'Host: evil.test\n');
  assert.equal(twice.status, 400);
  assert.match(twice.text, /2 Host headers/);
  assert.equal((await rawRequest('GET /api/experiments HTTP/1.0\nConnection: close')).status, 400, 'no Host');
  assert.equal((await get('evil.test')).status, 421);
  assert.equal((await get(`evil.test:${port}`)).status, 421);
  for (const host of [`LOCALHOST:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost'])
    assert.equal((await get(host)).status, 200, host);
});

test('hostName: the name of name or name:port, null for anything else', () => {
  assert.equal(hostName('Example.COM:8080'), 'example.com');
  assert.equal(hostName('[::1]:3000'), '[::1]');
  assert.equal(hostName('10.0.0.1'), '10.0.0.1');
  for (const bad of ['a..b', '-a.b', 'a_b', 'a:b', 'a:1:2', '[::1', 'a b', 'a:65536', `${'a'.repeat(64)}.b`])
    assert.equal(hostName(bad), null, bad);
});
