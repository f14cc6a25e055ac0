import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CODE_VERSION,
  csvAddress,
  jobIdFor,
  parseCsvAddress,
  parseEpochProgress,
  parseJobData,
  parseJobReturn,
  queueNameFor,
  sameVersion,
} from '../../../worker/contract/queue.js';
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
