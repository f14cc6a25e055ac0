import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDashboard } from '../../../server/http/serve.js';
import { Coordinator } from '../../../server/coordinator/coordinator.js';
import { openStorage } from '../../../server/storage/storage.js';
import { PacedRunner } from '../../helpers/paced-runner.js';
import { seedExperiment } from '../../helpers/seed-db.js';

test('serveDashboard: binds loopback on a free port, prints nothing, and close() ends live streams', async () => {
  const root = mkdtempSync(join(tmpdir(), 'foldwise-serve-'));
  const storage = openStorage(join(root, 'foldwise.db'));
  const { experimentId } = seedExperiment(storage, { name: 'served', runs: 2, folds: 1, epochs: 2 });
  const runner = new PacedRunner();
  const coordinator = new Coordinator(storage, runner, { dataDir: root });
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    written.push(String(chunk));
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  console.log = (...args: unknown[]) => void written.push(args.join(' '));
  let dashboard: Awaited<ReturnType<typeof serveDashboard>>;
  try {
    dashboard = await serveDashboard({ config: { dataDir: root, experimentsDir: root, host: '127.0.0.1', port: 0 }, storage, coordinator });
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
  try {
    assert.deepEqual(written, [], 'the CLI prints the URL, not the server');
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(dashboard.url).port, '0');
    const page = await fetch(`${dashboard.url}/experiments/${experimentId}`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<h1>served<\/h1>/);
    const stream = await fetch(`${dashboard.url}/api/experiments/${experimentId}/events`);
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    await reader.read();
    const started = Date.now();
    await dashboard.close();
    assert.ok(Date.now() - started < 2000, 'an open event stream does not hold the server open');
    await assert.rejects(fetch(`${dashboard.url}/`));
  } finally {
    await dashboard.close();
    storage.close();
    rmSync(root, { recursive: true, force: true });
  }
});
