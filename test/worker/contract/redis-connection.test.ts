import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CODE_VERSION, KEYS } from '../../../worker/contract/queue.js';
import {
  checkRedisUrl,
  createRedactor,
  maskRedisUrl,
  readRegistry,
  type RegistryClient,
} from '../../../worker/contract/redis-connection.js';
import { queueUrlFrom } from '../../../server/queue/commands.js';

test('maskRedisUrl: the password (and a username) never shows', () => {
  assert.equal(maskRedisUrl('redis://:s3cret@10.0.0.5:6379'), 'redis://:***@10.0.0.5:6379');
  assert.equal(maskRedisUrl('rediss://alice:s3cret@cache.example:6380/2'), 'rediss://***:***@cache.example:6380/2');
  assert.equal(maskRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  assert.ok(!maskRedisUrl('redis://:p%40ss@h:1').includes('p%40ss'));
  assert.equal(maskRedisUrl('not a url :s3cret@'), 'redis://(unparsable URL)');
});

test('createRedactor: removes the password from any text, raw or URL-encoded', () => {
  const redact = createRedactor('redis://:p%40ss-word@h:6379');
  assert.equal(redact('AUTH failed for redis://:p%40ss-word@h:6379 with p@ss-word'), 'AUTH failed for redis://:***@h:6379 with ***');
  assert.equal(createRedactor('redis://h:6379')('nothing to hide'), 'nothing to hide');
});

test('checkRedisUrl / queueUrlFrom: only redis URLs, the flag or the environment, masked in errors', () => {
  assert.throws(
    () => checkRedisUrl('http://:s3cret@h:1'),
    (error: Error) => /redis:\/\//.test(error.message) && !error.message.includes('s3cret'),
  );
  assert.equal(queueUrlFrom('redis://h:1'), 'redis://h:1');
  assert.equal(queueUrlFrom(true, { FOLDWISE_QUEUE_URL: 'redis://:pw@h:2' }), 'redis://:pw@h:2');
  assert.throws(() => queueUrlFrom(true, {}), /FOLDWISE_QUEUE_URL/);
});

test('readRegistry: follows the SCAN cursor to the end and skips values that are not registry entries', async () => {
  const worker = { role: 'worker', name: 'w1', version: CODE_VERSION, slots: 1, backend: 'wasm' };
  const values: Record<string, string> = {
    'foldwise:worker:w1': JSON.stringify(worker),
    'foldwise:worker:w2': 'not json',
    'foldwise:worker:w3': JSON.stringify({ role: 'worker', name: 'w3' }),
  };
  const pages: Record<string, [string, string[]]> = {
    '0': ['7', ['foldwise:worker:w1']],
    '7': ['0', ['foldwise:worker:w2', 'foldwise:worker:w3', 'foldwise:worker:gone']],
  };
  const patterns: string[] = [];
  const client: RegistryClient = {
    scan: async (cursor, _match, pattern) => {
      patterns.push(pattern);
      return pages[cursor]!;
    },
    mget: async (keys) => keys.map((key) => values[key] ?? null),
  };
  assert.deepEqual(await readRegistry(client, KEYS.workerPattern), [worker]);
  assert.deepEqual(patterns, [KEYS.workerPattern, KEYS.workerPattern]);
  assert.deepEqual(await readRegistry({ ...client, scan: async () => ['0', []] }, KEYS.coordinatorPattern), []);
});
