import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueRunner } from '../../../server/queue/queue-runner.js';
import { DEFAULT_PARAMS, specSchema } from '../../../worker/contract/spec.js';
import type { Task } from '../../../worker/contract/protocol.js';
import { REDIS_PASSWORD } from './redis-server.js';
import { queueTestSuite, TEST_WORKER_ENV, startWorkers, tempDir, withTimeout } from './helpers.js';

const suite = queueTestSuite();
const { skip, cleanup } = suite;

/** A task long enough (1000 epochs) that only the coordinator's word ends it early. */
function longTask(runId: number): Task {
  const spec = specSchema.parse({
    name: 'control',
    dataset: { kind: 'fraud', rows: 1000, features: 10 },
    validation: { kind: 'kfold', k: 2 },
  });
  return {
    taskId: `${runId}:0:1`,
    runId,
    foldIndex: 0,
    attempt: 1,
    kind: 'search',
    spec,
    taskKind: 'binary',
    params: { ...DEFAULT_PARAMS, depth: 1, width: 8, epochs: 1000, batchSize: 16 },
  };
}

test('queue: a stop verdict (pruning) ends the remote task after that epoch as done; an abort withdraws a running task', {
  skip: skip ?? false,
  timeout: 120_000,
}, async () => {
  const [worker] = await startWorkers(cleanup, suite.redis.url, 1);
  const runner = cleanup.add(new QueueRunner({ url: suite.redis.url, dataDir: tempDir('control'), slots: 1, log: () => undefined }), (r) =>
    r.close(),
  );

  const epochs: number[] = [];
  const stopped = await withTimeout(
    runner.run(longTask(1), (epoch) => {
      epochs.push(epoch);
      return epoch >= 1 ? 'stop' : 'continue';
    }),
    60_000,
    'stopped task',
  );
  assert.equal(stopped.status, 'done');
  if (stopped.status !== 'done') return;
  assert.equal(stopped.result.stoppedByRequest, true);
  // The verdict travels while later epochs train (as over IPC), so it lands a few epochs later; never 1000.
  assert.ok(stopped.result.stoppedEpoch < 150, `stopped long before the end, at epoch ${stopped.result.stoppedEpoch}`);
  assert.deepEqual(
    epochs,
    Array.from({ length: stopped.result.stoppedEpoch + 1 }, (_, i) => i),
  );

  const controller = new AbortController();
  const started = Date.now();
  const withdrawn = await runner.run(
    longTask(2),
    (epoch) => {
      if (epoch === 0) controller.abort();
      return 'continue';
    },
    controller.signal,
  );
  assert.equal(withdrawn.status, 'failed');
  assert.equal(withdrawn.status === 'failed' ? withdrawn.reason : null, 'interrupted');
  await worker!.waitForLine(/task 2:0:1 cancelled by the coordinator/, 30_000);
  assert.ok(Date.now() - started < 30_000);
  await worker!.stop();
});

test('foldwise run --queue --local-workers 2: searches on queue workers of this machine and refits on a local worker into the data dir', {
  skip: skip ?? false,
  timeout: 120_000,
}, async () => {
  const dataDir = tempDir('cli');
  const specPath = join(dataDir, 'spec.yaml');
  writeFileSync(
    specPath,
    'name: queue-cli\ndataset: { kind: sine, rows: 300 }\ngrid: { width: [4, 8], epochs: 3 }\nvalidation: { kind: kfold, k: 2 }\n',
  );
  const cli = fileURLToPath(new URL('../../../bin/foldwise.js', import.meta.url));
  const child = cleanup.add(
    spawn(process.execPath, [cli, '--data-dir', dataDir, 'run', specPath, '--queue', '--local-workers', '2'], {
      env: { ...process.env, ...TEST_WORKER_ENV, FOLDWISE_QUEUE_URL: suite.redis.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    (c) => c.kill('SIGKILL'),
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await withTimeout(new Promise((resolve) => child.once('exit', resolve)), 100_000, 'foldwise run');
  assert.equal(code, 0, output);
  assert.match(output, /\d+ task slots on queue foldwise-v[\d.]+-p\d+ at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(2 of them on this machine\)/);
  assert.match(output, /Search finished/);
  const saved = /Model saved in (\S+)/.exec(output);
  assert.ok(saved, output);
  assert.ok(saved[1]!.startsWith(join(dataDir, 'models')), "the refit model is in the coordinator's data dir");
  assert.ok(existsSync(join(saved[1]!, 'model.json')));
  assert.ok(!output.includes(REDIS_PASSWORD), 'the queue password is never printed');
});
