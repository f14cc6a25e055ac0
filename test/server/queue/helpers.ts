/**
 * Helpers for the queue tests: `foldwise worker` processes with their output captured, and a
 * coordinator wired to a QueueRunner (or to the local pool, for the reference leaderboard).
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../server/config.js';
import { compose, type Composition } from '../../../server/compose.js';
import { QueueRunner, type QueueRunnerOptions } from '../../../server/queue/queue-runner.js';
import type { Run } from '../../../server/storage/run-store.js';
import type { MetricPoint } from '../../../server/storage/metric-store.js';
import { TestRedis, redisMissing } from './redis-server.js';

const CLI = fileURLToPath(new URL('../../../bin/foldwise.js', import.meta.url));

/** Same backend on every side, so scores compare exactly; short locks so a dead worker's task moves on within seconds. */
export const TEST_WORKER_ENV = { FOLDWISE_BACKEND: 'wasm', FOLDWISE_QUEUE_LOCK_MS: '2000', FOLDWISE_QUEUE_STALLED_MS: '1000' } as const;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `foldwise-${prefix}-`));
}

/** One `foldwise worker` command (its worker processes are its children), output captured line by line. */
export class WorkerCommand {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  #listeners = new Set<(line: string) => void>();

  constructor(url: string, options: { concurrency?: number; cacheDir?: string; env?: NodeJS.ProcessEnv } = {}) {
    const args = [
      CLI,
      'worker',
      '--queue',
      '--concurrency',
      String(options.concurrency ?? 1),
      '--cache-dir',
      options.cacheDir ?? tempDir('cache'),
    ];
    // The URL (with its password) travels in the environment, as a user would keep it out of `ps`.
    this.child = spawn(process.execPath, args, {
      env: { ...process.env, ...TEST_WORKER_ENV, ...options.env, FOLDWISE_QUEUE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = '';
      stream?.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString()).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) {
          this.lines.push(line);
          for (const listener of [...this.#listeners]) listener(line);
        }
      });
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first line (seen or to come) that matches. */
  waitForLine(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const match = pattern.exec(line);
      if (match) return Promise.resolve(match);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${this.output}`));
      }, timeoutMs);
      const listener = (line: string) => {
        const match = pattern.exec(line);
        if (!match) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(match);
      };
      this.#listeners.add(listener);
    });
  }

  onLine(listener: (line: string) => void): void {
    this.#listeners.add(listener);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts `count` worker commands and waits until each has a ready worker; `cleanup` stops them. */
export async function startWorkers(
  cleanup: Cleanup,
  url: string,
  count: number,
  options: { cacheDir?: string } = {},
): Promise<WorkerCommand[]> {
  const workers = Array.from({ length: count }, () => cleanup.add(new WorkerCommand(url, options), (worker) => worker.stop()));
  await Promise.all(workers.map((worker) => worker.waitForLine(/: ready on /)));
  return workers;
}

/** A coordinator whose tasks go through Redis; describe runs on a local wasm worker. */
export function queueComposition(
  cleanup: Cleanup,
  dataDir: string,
  options: Omit<QueueRunnerOptions, 'dataDir'>,
  logs: string[] = [],
): { composition: Composition; runner: QueueRunner } {
  const runner = new QueueRunner({
    checkIntervalMs: 1_000,
    localEnv: { FOLDWISE_BACKEND: 'wasm' },
    log: (line) => logs.push(line),
    ...options,
    dataDir,
  });
  const composition = cleanup.add(compose(loadConfig({ dataDir }), { runner }), (c) => c.close());
  return { composition, runner };
}

/** A coordinator with the local pool of `workers` processes. */
export function localComposition(cleanup: Cleanup, dataDir: string, workers: number): Composition {
  return cleanup.add(compose(loadConfig({ dataDir, workers }), { workerEnv: { FOLDWISE_BACKEND: 'wasm' } }), (c) => c.close());
}

/** What the leaderboard says, comparable across databases: params, score, status. */
export function boardOf(runs: readonly Run[]): { params: string; scoreMean: number | null; scoreStd: number | null; status: string }[] {
  return runs.map((run) => ({ params: run.paramsJson, scoreMean: run.scoreMean, scoreStd: run.scoreStd, status: run.status }));
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Things a test file must stop even when a test fails or times out, stopped in reverse order. */
export class Cleanup {
  #steps: (() => Promise<unknown> | unknown)[] = [];

  add<T>(thing: T, stop: (thing: T) => Promise<unknown> | unknown): T {
    this.#steps.push(() => stop(thing));
    return thing;
  }

  async run(): Promise<void> {
    for (const step of this.#steps.reverse()) await Promise.resolve(step()).catch(() => undefined);
    this.#steps = [];
  }
}

/**
 * What every queue test file sets up: a skip message when redis-server is absent, one Redis
 * started before the file's tests, and the cleanup run after them. `redis` is there once `before` ran.
 */
export function queueTestSuite(): { readonly skip: string | null; readonly cleanup: Cleanup; readonly redis: TestRedis } {
  const skip = redisMissing();
  if (skip) console.log(`# ${skip}`);
  const cleanup = new Cleanup();
  let redis: TestRedis | undefined;
  before(async () => {
    if (!skip) redis = cleanup.add(await TestRedis.start(), (server) => server.stopServer());
  });
  after(() => cleanup.run());
  return {
    skip,
    cleanup,
    get redis() {
      if (redis === undefined) throw new Error('Redis is not running: before() has not run, or redis-server is missing');
      return redis;
    },
  };
}

/** Every point of every fold, keyed by the run's params so that two databases compare. */
export function curvesOf(composition: Composition, experimentId: number): Map<string, MetricPoint[]> {
  const { runs, metrics } = composition.storage;
  return new Map(runs.list(experimentId).map((run) => [run.paramsJson, metrics.ofRun(run.runId).map((point) => ({ ...point, runId: 0 }))]));
}

/** Every run and fold is done, and each (run, fold, metric) has exactly the epochs 0..stoppedEpoch, once each. */
export function assertEveryEpochOnce(composition: Composition, experimentId: number): void {
  const { runs, metrics } = composition.storage;
  for (const run of runs.list(experimentId)) {
    assert.equal(run.status, 'done', `run ${run.runId}`);
    const points = metrics.ofRun(run.runId);
    for (const fold of runs.folds(run.runId)) {
      assert.equal(fold.status, 'done', `run ${run.runId} fold ${fold.foldIndex}`);
      const names = new Set(points.filter((p) => p.foldIndex === fold.foldIndex).map((p) => p.name));
      assert.ok(names.has('val_loss') && names.has('loss'), `run ${run.runId} fold ${fold.foldIndex} has curves`);
      for (const name of names) {
        const epochs = points.filter((p) => p.foldIndex === fold.foldIndex && p.name === name).map((p) => p.epoch);
        assert.deepEqual(
          epochs,
          Array.from({ length: fold.stoppedEpoch! + 1 }, (_, i) => i),
          `run ${run.runId} fold ${fold.foldIndex} ${name}`,
        );
      }
    }
  }
}
