import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CODE_VERSION,
  checkRedisUrl,
  createRedactor,
  csvAddress,
  jobIdFor,
  maskRedisUrl,
  parseCsvAddress,
  parseEpochProgress,
  parseJobData,
  parseJobReturn,
  queueNameFor,
  sameVersion,
} from '../../../worker/contract/queue.js';
import { queueUrlFrom } from '../../../server/queue/commands.js';
import { specSchema } from '../../../worker/contract/spec.js';
import { DEFAULT_PARAMS } from '../../../worker/contract/spec.js';
import type { Task } from '../../../worker/contract/protocol.js';

const SHA = 'a'.repeat(64);

function task(overrides: Partial<Task> = {}): Task {
  const spec = specSchema.parse({ name: 'q', dataset: { kind: 'csv', path: csvAddress(SHA), target: 'y' } });
  return {
    taskId: '3:1:2',
    runId: 3,
    foldIndex: 1,
    attempt: 2,
    kind: 'search',
    spec,
    taskKind: 'binary',
    params: DEFAULT_PARAMS,
    ...overrides,
  };
}

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

test('parseCsvAddress: a content address only, never a file path', () => {
  assert.equal(parseCsvAddress(csvAddress(SHA)), SHA);
  for (const path of [
    '/etc/passwd',
    'data/fraud.csv',
    `sha256:${SHA}/../x`,
    `sha256:${SHA.toUpperCase()}`,
    'sha256:abc',
    `file:sha256:${SHA}`,
  ]) {
    assert.equal(parseCsvAddress(path), null, path);
  }
});

test('queue names and job ids: per code version; ids BullMQ accepts (no colon, not an integer)', () => {
  assert.equal(queueNameFor({ packageVersion: '0.1.0', protocol: 1 }), 'foldwise-v0.1.0-p1');
  assert.notEqual(queueNameFor({ packageVersion: '0.2.0', protocol: 1 }), queueNameFor({ packageVersion: '0.1.0', protocol: 1 }));
  assert.ok(sameVersion(CODE_VERSION, { ...CODE_VERSION }));
  assert.ok(!sameVersion(CODE_VERSION, { ...CODE_VERSION, protocol: CODE_VERSION.protocol + 1 }));
  const id = jobIdFor('0123456789abcdef', { runId: 12, foldIndex: 3, attempt: 2 });
  assert.equal(id, '0123456789abcdef.12.3.2');
  assert.ok(!id.includes(':'));
});

test('parseJobData: validates the task with the IPC contract and refuses unknown fields', () => {
  const data = { version: CODE_VERSION, owner: 'o', scope: 'abc', task: task() };
  assert.equal(parseJobData(data).task.spec.dataset.kind, 'csv');
  assert.throws(() => parseJobData({ ...data, extra: 1 }), /extra/);
  assert.throws(() => parseJobData({ ...data, task: { ...task(), params: { ...DEFAULT_PARAMS, depth: -1 } } }));
  assert.throws(() => parseJobData({ ...data, scope: '../x' }));
});

test('parseEpochProgress / parseJobReturn: numbers or null, known statuses only', () => {
  assert.deepEqual(
    parseEpochProgress({ type: 'epoch', taskId: 't', delivery: 1, epoch: 0, metrics: { loss: 0.5, val_auc: null } }).metrics,
    { loss: 0.5, val_auc: null },
  );
  assert.throws(() => parseEpochProgress({ type: 'epoch', taskId: 't', delivery: 1, epoch: 0, metrics: { loss: 'x' } }));
  const result = { bestEpoch: 1, stoppedEpoch: 2, bestMetrics: { val_auc: 0.9 }, paramCount: 10, trainMs: 5 };
  assert.equal(parseJobReturn({ status: 'done', taskId: 't', result, workerName: 'w', backend: 'wasm' }).status, 'done');
  assert.throws(() =>
    parseJobReturn({ status: 'done', taskId: 't', result: { ...result, bestEpoch: -1 }, workerName: 'w', backend: 'wasm' }),
  );
  assert.throws(() => parseJobReturn({ status: 'exploded', taskId: 't', workerName: 'w' }));
});

test('MOVIELENS_FILES: every file the MovieLens loader needs can travel, and only plain file names', async () => {
  const { MOVIELENS_FILES, manifestBytes, parseManifest } = await import('../../../worker/contract/queue.js');
  const { LAYOUT_FILES } = await import('../../../worker/recsys/movielens.js');
  for (const name of Object.values(LAYOUT_FILES).flat()) assert.ok((MOVIELENS_FILES as readonly string[]).includes(name), name);
  const bytes = manifestBytes({
    files: [
      { name: 'u.user', sha256: SHA },
      { name: 'u.data', sha256: SHA },
    ],
  });
  assert.deepEqual(
    parseManifest(bytes).files.map((f) => f.name),
    ['u.data', 'u.user'],
    'canonical order',
  );
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify({ files: [{ name: '../../etc/passwd', sha256: SHA }] }))));
  assert.throws(() =>
    parseManifest(
      Buffer.from(
        JSON.stringify({
          files: [
            { name: 'u.data', sha256: SHA },
            { name: 'u.data', sha256: SHA },
          ],
        }),
      ),
    ),
  );
});
