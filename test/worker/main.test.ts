import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseFromWorker, type FromWorker, type Task, type ToWorker } from '../../worker/contract/protocol.js';
import { DEFAULT_PARAMS, validateSpec } from '../../worker/contract/spec.js';
import { FAULT_ENV_VAR } from '../../worker/fault-injection.js';

const WORKER_ENTRY = fileURLToPath(new URL('../../worker/main.ts', import.meta.url));

/** A forked worker whose messages are validated with the protocol and queued for the test. */
class WorkerUnderTest {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  #messages: FromWorker[] = [];
  #waiters: (() => void)[] = [];
  stderr = '';

  constructor(env: NodeJS.ProcessEnv = {}) {
    this.child = fork(WORKER_ENTRY, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.on('message', (raw) => {
      this.#messages.push(parseFromWorker(raw));
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  send(message: ToWorker): void {
    this.child.send(message);
  }

  /** Resolves with the next message, failing after `timeoutMs`. */
  async next(timeoutMs = 20_000): Promise<FromWorker> {
    const deadline = Date.now() + timeoutMs;
    while (this.#messages.length === 0) {
      if (Date.now() > deadline) throw new Error(`no message from the worker within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.#messages.shift()!;
  }

  /** Messages up to and including the first one that ends `taskId`. */
  async untilEnd(taskId: string): Promise<FromWorker[]> {
    const seen: FromWorker[] = [];
    for (;;) {
      const message = await this.next();
      seen.push(message);
      if ((message.type === 'done' || message.type === 'failed') && message.taskId === taskId) return seen;
    }
  }
}

function sineTask(taskId: string, overrides: Partial<Task['params']> = {}): Task {
  return {
    taskId,
    runId: 1,
    foldIndex: 1,
    attempt: 1,
    kind: 'search',
    spec: validateSpec({ name: 'ipc-test', dataset: { kind: 'sine', rows: 300 }, validation: { kind: 'kfold', k: 3 } }),
    taskKind: 'regression',
    params: { ...DEFAULT_PARAMS, depth: 1, width: 8, epochs: 3, batchSize: 32, ...overrides },
  };
}

test('worker main: answers ready, trains a task end to end over IPC, survives failing tasks, exits on shutdown', async () => {
  const worker = new WorkerUnderTest();
  try {
    const ready = await worker.next(30_000);
    assert.equal(ready.type, 'ready');
    assert.ok(ready.type === 'ready' && ['wasm', 'tensorflow'].includes(ready.backend), JSON.stringify(ready));
    assert.match(ready.type === 'ready' ? ready.workerName : '', /^.+:\d+$/);

    worker.send({ type: 'task', task: sineTask('1:1:1') });
    const messages = await worker.untilEnd('1:1:1');
    assert.deepEqual(
      messages.map((m) => (m.type === 'epoch' ? `epoch ${m.epoch}` : m.type)),
      ['epoch 0', 'epoch 1', 'epoch 2', 'done'],
    );
    const done = messages.at(-1)!;
    assert.ok(done.type === 'done');
    assert.equal(done.result.stoppedEpoch, 2);
    assert.ok(done.type === 'done' && typeof done.result.bestMetrics.val_rmse === 'number');

    // Divergence (the largest learning rate the spec allows) fails the task, not the worker.
    worker.send({ type: 'task', task: sineTask('2:1:1', { optimizer: 'sgd', learningRate: 10, epochs: 50 }) });
    const diverged = (await worker.untilEnd('2:1:1')).at(-1)!;
    assert.ok(diverged.type === 'failed' && diverged.kind === 'diverged', JSON.stringify(diverged));

    // A task whose data cannot load fails with the data layer's message, as bad data.
    const missing = {
      ...sineTask('3:0:1'),
      spec: validateSpec({ name: 'ipc-test', dataset: { kind: 'csv', path: '/nonexistent/data.csv', target: 'y' } }),
    };
    worker.send({ type: 'task', task: missing });
    const failed = (await worker.untilEnd('3:0:1')).at(-1)!;
    assert.ok(
      failed.type === 'failed' && failed.kind === 'data' && /file not found: \/nonexistent\/data\.csv/.test(failed.message),
      JSON.stringify(failed),
    );

    // A malformed task is answered, not fatal.
    worker.child.send({ type: 'task', task: { taskId: '4:0:1', runId: 'four' } });
    const malformed = await worker.next();
    assert.ok(
      malformed.type === 'failed' && malformed.taskId === '4:0:1' && /malformed message/.test(malformed.message),
      JSON.stringify(malformed),
    );

    // A stop request ends the task after its current epoch, still with `done`.
    worker.send({ type: 'task', task: sineTask('5:1:1', { epochs: 500 }) });
    const first = await worker.next();
    assert.ok(first.type === 'epoch' && first.epoch === 0);
    worker.send({ type: 'stop', taskId: '5:1:1' });
    const stopped = (await worker.untilEnd('5:1:1')).at(-1)!;
    assert.ok(
      stopped.type === 'done' && stopped.result.stoppedByRequest === true && stopped.result.stoppedEpoch < 10,
      JSON.stringify(stopped),
    );

    worker.send({ type: 'describe', request: { requestId: 'd1', spec: sineTask('x').spec } });
    const described = await worker.next();
    assert.ok(
      described.type === 'described' && described.requestId === 'd1' && described.info.task === 'regression',
      JSON.stringify(described),
    );
    // A dataset that cannot load is bad data, with the data layer's message.
    worker.send({ type: 'describe', request: { requestId: 'd2', spec: missing.spec } });
    const undescribed = await worker.next();
    assert.ok(
      undescribed.type === 'describe-failed' &&
        undescribed.requestId === 'd2' &&
        undescribed.kind === 'data' &&
        undescribed.message === 'file not found: /nonexistent/data.csv',
      JSON.stringify(undescribed),
    );

    worker.send({ type: 'shutdown' });
    assert.equal(await worker.exited, 0);
  } finally {
    worker.child.kill();
  }
});

test('worker main: an internal error while describing a dataset is reported as an error, not as bad data', async () => {
  const worker = new WorkerUnderTest({ [FAULT_ENV_VAR]: 'throw:describe' });
  try {
    assert.equal((await worker.next(30_000)).type, 'ready');
    worker.send({ type: 'describe', request: { requestId: 'd1', spec: sineTask('x').spec } });
    const failed = await worker.next();
    assert.deepEqual(failed, { type: 'describe-failed', requestId: 'd1', kind: 'error', message: 'injected fault in describe' });
    worker.send({ type: 'shutdown' });
    assert.equal(await worker.exited, 0);
  } finally {
    worker.child.kill();
  }
});

test('worker main: exits when the coordinator disconnects, even mid-task', async () => {
  const worker = new WorkerUnderTest({ FOLDWISE_BACKEND: 'cpu' });
  try {
    const ready = await worker.next(30_000);
    assert.ok(ready.type === 'ready' && ready.backend === 'cpu');
    worker.send({ type: 'task', task: sineTask('6:1:1', { epochs: 10_000 }) });
    assert.equal((await worker.next()).type, 'epoch');
    worker.child.disconnect();
    assert.equal(await worker.exited, 0, worker.stderr);
  } finally {
    worker.child.kill();
  }
});
