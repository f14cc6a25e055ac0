import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { loadConfig } from '../../server/config.js';

test('loadConfig: the dashboard binds loopback unless told otherwise', () => {
  assert.equal(loadConfig({}, {}).host, '127.0.0.1');
  assert.equal(loadConfig({ host: '0.0.0.0' }, {}).host, '0.0.0.0');
  assert.equal(loadConfig({}, {}).port, 3000);
});

test('loadConfig: data directory from the flag, else FOLDWISE_DATA_DIR, else ./.foldwise', () => {
  assert.equal(loadConfig({}, {}).dataDir, resolve('.foldwise'));
  assert.equal(loadConfig({}, { FOLDWISE_DATA_DIR: '/tmp/a' }).dataDir, '/tmp/a');
  assert.equal(loadConfig({ dataDir: '/tmp/b' }, { FOLDWISE_DATA_DIR: '/tmp/a' }).dbPath, '/tmp/b/foldwise.db');
});
