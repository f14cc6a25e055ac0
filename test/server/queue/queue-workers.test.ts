import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueRunner } from '../../../server/queue/queue-runner.js';
import { createRng } from '../../../worker/rng.js';
import { DEFAULT_PARAMS, specSchema, type ExperimentSpec } from '../../../worker/contract/spec.js';
import type { Task } from '../../../worker/contract/protocol.js';
import { CODE_VERSION, KEYS, csvAddress, queueNameFor, type JobData, type JobReturn } from '../../../worker/contract/queue.js';
import { REDIS_PASSWORD } from './redis-server.js';
import { queueTestSuite, WorkerCommand, queueComposition, startWorkers, tempDir, withTimeout } from './helpers.js';

const suite = queueTestSuite();
const { skip, cleanup } = suite;

/** A binary CSV: three numeric features, a label that depends on them, some noise. */
function writeCsv(dir: string, name: string, rows: number, seed: number): { path: string; sha256: string } {
  const rng = createRng(seed);
  const lines = ['a,b,c,label'];
  for (let i = 0; i < rows; i++) {
    const [a, b, c] = [rng.next() * 4 - 2, rng.next() * 4 - 2, rng.next() * 4 - 2];
    lines.push(`${a.toFixed(4)},${b.toFixed(4)},${c.toFixed(4)},${a + 0.5 * b - c + rng.next() > 0.5 ? 'yes' : 'no'}`);
  }
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
}

function searchTask(spec: ExperimentSpec, overrides: Partial<Task> = {}): Task {
  return {
    taskId: '1:0:1',
    runId: 1,
    foldIndex: 0,
    attempt: 1,
    kind: 'search',
    spec,
    taskKind: 'binary',
    params: { ...DEFAULT_PARAMS, width: 4, depth: 1, epochs: 2 },
    ...overrides,
  };
}

test('queue: a worker of another code version is refused with a clear message and takes no task', {
  skip: skip ?? false,
  timeout: 60_000,
}, async () => {
  const other = { packageVersion: '0.0.0-other', protocol: CODE_VERSION.protocol + 98 };
  const logs: string[] = [];
  const runner = cleanup.add(
    new QueueRunner({ url: suite.redis.url, dataDir: tempDir('other'), codeVersion: other, log: (line) => logs.push(line) }),
    (r) => r.close(),
  );
  const spec = specSchema.parse({ name: 'other-version', dataset: { kind: 'fraud', rows: 200 } });
  const outcome = runner.run(searchTask(spec), () => 'continue');
  const ready = runner.whenReady();

  const worker = cleanup.add(new WorkerCommand(suite.redis.url), (w) => w.stop());
  assert.equal(await withTimeout(worker.exited, 30_000, 'refused worker exit'), 2, 'exit code 2: refused');
  assert.match(
    worker.output,
    new RegExp(
      /refused: the coordinator on redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ runs foldwise 0\.0\.0-other \(queue protocol 99\), /.source +
        /but this worker runs foldwise 0\.1\.0 \(queue protocol 1\)\. Install the same foldwise version on every machine\./.source,
    ),
  );
  // The coordinator says so too, while it keeps waiting for a worker it can use.
  for (let i = 0; i < 50 && !logs.some((line) => line.includes('refused')); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(
    logs.some((line) =>
      /queue worker \S+ refused: it runs foldwise 0\.1\.0 \(queue protocol 1\), this coordinator foldwise 0\.0\.0-other/.test(line),
    ),
    logs.join('\n'),
  );
  assert.ok(![...logs, worker.output].join('\n').includes(REDIS_PASSWORD));

  const queue = cleanup.add(new Queue(queueNameFor(other), { connection: { url: suite.redis.url } }), (q) => q.close());
  assert.equal(await queue.getWaitingCount(), 1, 'the task is still waiting for a worker of its version');
  await runner.close();
  assert.deepEqual(await ready, []);
  assert.equal((await outcome).status, 'failed');
});

test('queue: a CSV is published once under its sha256, verified and cached by the worker, and trained from the cache', {
  skip: skip ?? false,
  timeout: 120_000,
}, async () => {
  const dir = tempDir('csv');
  const csv = writeCsv(dir, 'data.csv', 300, 5);
  const cacheDir = join(dir, 'cache');
  const [worker] = await startWorkers(cleanup, suite.redis.url, 1, { cacheDir });
  const { composition, runner } = queueComposition(cleanup, tempDir('csv-db'), { url: suite.redis.url });
  const spec = `
name: csv-queue
dataset: { kind: csv, path: data.csv, target: label }
grid: { width: [4, 8], epochs: 3, batchSize: 32 }
validation: { kind: kfold, k: 2 }
`;
  const { experiment } = await composition.coordinator.prepare(spec, { baseDir: dir });
  await runner.whenReady();
  const summary = await withTimeout(composition.coordinator.search(experiment.experimentId), 90_000, 'search');
  assert.equal(summary.experiment.status, 'done');
  assert.ok(composition.storage.runs.list(experiment.experimentId).every((run) => run.status === 'done'));

  assert.deepEqual(readdirSync(cacheDir), [`${csv.sha256}.csv`], 'one verified copy, named by its hash');
  assert.deepEqual(readFileSync(join(cacheDir, `${csv.sha256}.csv`)), readFileSync(csv.path));
  assert.equal(worker!.lines.filter((line) => line.includes('verified and cached')).length, 1, 'fetched once for 4 tasks');
  assert.equal(runner.stats.published, 4);
  await composition.close();
});

/** An ml-100k folder: `users` users rating `items` items, plus a file that must never leave the machine. */
function writeMl100k(dir: string, users: number, items: number): string {
  const rng = createRng(9);
  const folder = join(dir, 'ml-100k');
  mkdirSync(folder);
  const occupations = ['technician', 'other', 'writer', 'engineer'];
  writeFileSync(
    join(folder, 'u.user'),
    Array.from({ length: users }, (_, u) => `${u + 1}|${20 + (u % 40)}|${u % 2 ? 'F' : 'M'}|${occupations[u % 4]}|1000${u}`).join('\n') +
      '\n',
  );
  const flags = (i: number) => Array.from({ length: 19 }, (_, g) => (g === i % 19 ? 1 : 0)).join('|');
  writeFileSync(
    join(folder, 'u.item'),
    Array.from({ length: items }, (_, i) => `${i + 1}|Movie ${i + 1} (199${i % 10})|01-Jan-199${i % 10}||http://x|${flags(i)}`).join('\n') +
      '\n',
  );
  const ratings: string[] = [];
  for (let u = 1; u <= users; u++) {
    for (let i = 1; i <= items; i++) if (rng.next() < 0.5) ratings.push(`${u}\t${i}\t${1 + ((u + i) % 5)}\t${880000000 + u * items + i}`);
  }
  writeFileSync(join(folder, 'u.data'), `${ratings.join('\n')}\n`);
  writeFileSync(join(folder, 'private-notes.txt'), 'not for the workers\n');
  return folder;
}

test('queue: a MovieLens folder travels as a manifest of the files the loader reads, each verified; nothing else of the folder is sent', {
  skip: skip ?? false,
  timeout: 120_000,
}, async () => {
  const dir = tempDir('movielens');
  writeMl100k(dir, 40, 30);
  const cacheDir = join(dir, 'cache');
  const [worker] = await startWorkers(cleanup, suite.redis.url, 1, { cacheDir });
  const { composition, runner } = queueComposition(cleanup, tempDir('movielens-db'), { url: suite.redis.url });
  const spec = `
name: movielens-queue
dataset: { kind: movielens, path: ml-100k }
grid: { width: [4, 8], epochs: 2, batchSize: 64 }
validation: { kind: kfold, k: 2 }
`;
  const { experiment } = await composition.coordinator.prepare(spec, { baseDir: dir });
  await runner.whenReady();
  const summary = await withTimeout(composition.coordinator.search(experiment.experimentId), 90_000, 'search');
  assert.equal(summary.experiment.status, 'done');
  assert.ok(composition.storage.runs.list(experiment.experimentId).every((run) => run.status === 'done'));
  const [folder] = readdirSync(cacheDir);
  assert.match(folder ?? '', /^[0-9a-f]{64}$/, 'the cached folder is named by its manifest hash');
  assert.deepEqual(readdirSync(join(cacheDir, folder!)).sort(), ['u.data', 'u.item', 'u.user']);
  for (const name of ['u.data', 'u.item', 'u.user'])
    assert.deepEqual(readFileSync(join(cacheDir, folder!, name)), readFileSync(join(dir, 'ml-100k', name)));
  assert.equal(worker!.lines.filter((line) => line.includes('verified and cached')).length, 1);
  await composition.close();
});

test('queue: a worker refuses a tampered dataset, a dataset path (file or folder) that is not a content address, and a refit task', {
  skip: skip ?? false,
  timeout: 120_000,
}, async () => {
  const dir = tempDir('refuse');
  const cacheDir = join(dir, 'cache');
  await startWorkers(cleanup, suite.redis.url, 1, { cacheDir });
  const queueName = queueNameFor(CODE_VERSION);
  const queue = cleanup.add(new Queue(queueName, { connection: { url: suite.redis.url } }), (q) => q.close());
  const events = cleanup.add(new QueueEvents(queueName, { connection: { url: suite.redis.url } }), (e) => e.close());
  await events.waitUntilReady();
  const client = cleanup.add(new Redis(suite.redis.url), (c) => c.disconnect());

  // What a broken or hostile publisher could put on the queue.
  const submit = async (name: string, task: Task): Promise<JobReturn> => {
    const data: JobData = { version: CODE_VERSION, owner: 'test', scope: 'hostile', task };
    const job = await queue.add('task', data, { jobId: `hostile.${name}` });
    return (await job.waitUntilFinished(events, 60_000)) as JobReturn;
  };
  const csvSpec = (path: string) =>
    specSchema.parse({ name: 'hostile', dataset: { kind: 'csv', path, target: 'label' }, validation: { kind: 'kfold', k: 2 } });

  const genuine = writeCsv(dir, 'genuine.csv', 200, 11);
  const other = writeCsv(dir, 'other.csv', 200, 12);
  await client.set(KEYS.data(genuine.sha256), readFileSync(other.path));
  const tampered = await submit('tampered', searchTask(csvSpec(csvAddress(genuine.sha256))));
  assert.equal(tampered.status, 'failed');
  assert.match(
    tampered.status === 'failed' ? tampered.message : '',
    /refused dataset sha256:[0-9a-f]{12}…: the bytes in Redis hash to [0-9a-f]{12}… \(tampered or corrupted\)/,
  );

  const elsewhere = await submit('elsewhere', searchTask(csvSpec('/etc/passwd')));
  assert.equal(elsewhere.status, 'failed');
  assert.match(elsewhere.status === 'failed' ? elsewhere.message : '', /dataset\.path "\/etc\/passwd" is not a content address/);

  const folder = specSchema.parse({ name: 'hostile', dataset: { kind: 'movielens', path: '/root' }, validation: { kind: 'kfold', k: 2 } });
  const folderElsewhere = await submit('folder-elsewhere', searchTask(folder, { taskKind: 'regression' }));
  assert.equal(folderElsewhere.status, 'failed');
  assert.match(folderElsewhere.status === 'failed' ? folderElsewhere.message : '', /dataset\.path "\/root" is not a content address/);

  const fraud = specSchema.parse({ name: 'hostile', dataset: { kind: 'fraud', rows: 200 } });
  const refit = await submit('refit', searchTask(fraud, { kind: 'refit', refit: { epochs: 1, modelDir: join(dir, 'planted-model') } }));
  assert.equal(refit.status, 'failed');
  assert.match(refit.status === 'failed' ? refit.message : '', /refused refit task/);
  assert.ok(!existsSync(join(dir, 'planted-model')), 'nothing was written where the task said');
  assert.ok(!existsSync(join(cacheDir, `${genuine.sha256}.csv`)), 'the tampered bytes were not cached');
});
