import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  parseFromWorker,
  type BackendName,
  type DatasetInfo,
  type ExperimentSpec,
  type FromWorker,
  type Task,
  type TaskResult,
  type ToWorker,
} from '../../worker/contract/protocol.js';
import { ValidationError, describeFailureError, taskFailureReason } from '../errors.js';
import type { DoneOutcome, EpochListener, HorizonListener, TaskOutcome, TaskRunner } from './task-runner.js';

const WORKER_ENTRY = fileURLToPath(new URL('../../worker/main.ts', import.meta.url));
// Resolved from this file, not the working directory, so foldwise runs from any folder.
const TSX_LOADER = import.meta.resolve('tsx');

/** Node flags for a worker process: the TypeScript loader and a heap limit. */
export function workerExecArgv(maxOldSpaceMb = 4096): string[] {
  return ['--import', TSX_LOADER, `--max-old-space-size=${maxOldSpaceMb}`];
}
const OUTPUT_TAIL_CHARS = 4000;
const MAX_STARTUP_FAILURES = 3;

export type WorkerPoolOptions = {
  /** Worker processes. */
  readonly size: number;
  /** Extra environment for the workers (e.g. FOLDWISE_BACKEND). */
  readonly env?: NodeJS.ProcessEnv;
  /** V8 heap limit per worker, so a runaway task fails alone instead of swapping the machine. @default 4096 */
  readonly maxOldSpaceMb?: number;
  /** Called with each worker's backend once it is ready. */
  readonly onReady?: (workerName: string, backend: BackendName) => void;
};

type Listener = (message: FromWorker) => void;

/** One long-lived child process. It loads TensorFlow.js once and trains one task at a time. */
class WorkerProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<{ backend: BackendName; workerName: string }>;
  backend: BackendName | null = null;
  workerName: string;
  busy = false;
  exited = false;
  #outputTail = '';
  #listeners = new Set<Listener>();
  #exitListeners = new Set<(code: number | null, signal: NodeJS.Signals | null) => void>();

  constructor(options: WorkerPoolOptions) {
    this.child = fork(WORKER_ENTRY, [], {
      execArgv: workerExecArgv(options.maxOldSpaceMb),
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.workerName = `pid:${this.child.pid}`;
    const keepTail = (chunk: Buffer) => {
      this.#outputTail = (this.#outputTail + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
    };
    this.child.stdout?.on('data', keepTail);
    this.child.stderr?.on('data', keepTail);
    this.ready = new Promise((resolve, reject) => {
      const onReady: Listener = (message) => {
        if (message.type !== 'ready') return;
        this.#listeners.delete(onReady);
        this.backend = message.backend;
        this.workerName = message.workerName;
        resolve(message);
      };
      this.#listeners.add(onReady);
      this.onExit((code, signal) =>
        reject(new Error(`worker exited before it was ready (${signal ?? `code ${code}`}): ${this.outputTail()}`)),
      );
    });
    this.ready.catch(() => undefined);
    this.child.on('message', (raw) => {
      let message: FromWorker;
      try {
        message = parseFromWorker(raw);
      } catch (error) {
        // A malformed message is a bug in the worker: end it, its task fails as crashed.
        keepTail(Buffer.from(`\nmalformed message from worker: ${(error as Error).message}\n`));
        this.child.kill('SIGKILL');
        return;
      }
      for (const listener of [...this.#listeners]) listener(message);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      for (const listener of [...this.#exitListeners]) listener(code, signal);
    });
    // Writes to a dead child's channel raise EPIPE on the child object; the exit handler reports the failure.
    this.child.on('error', () => undefined);
  }

  outputTail(): string {
    return this.#outputTail.trim().split('\n').slice(-15).join('\n');
  }

  send(message: ToWorker): void {
    if (!this.exited && this.child.connected) this.child.send(message);
  }

  listen(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): () => void {
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }
}

/**
 * N worker processes, each training one task at a time. A worker that dies is replaced at
 * once, so the pool stays at full size; the task it held ends as `crashed`.
 */
export class WorkerPool implements TaskRunner {
  readonly concurrency: number;
  readonly answersHorizons = true;
  readonly #options: WorkerPoolOptions;
  readonly #workers = new Set<WorkerProcess>();
  /** Callers waiting for an idle worker; given null when the pool breaks. */
  readonly #waiting: ((worker: WorkerProcess | null) => void)[] = [];
  #closed = false;
  #started = false;
  #describeCounter = 0;
  /** Workers that died before announcing `ready`, in a row; past MAX_STARTUP_FAILURES the pool gives up. */
  #startupFailures = 0;
  #broken: Error | null = null;
  /** The spec being described: workers that become ready meanwhile load its data too (#warm). */
  #warmSpec: ExperimentSpec | null = null;

  constructor(options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new ValidationError(`expected workers to be a whole number from 1 up, got ${options.size}`);
    }
    this.concurrency = options.size;
    this.#options = options;
  }

  /** Workers start on first use, so `foldwise serve` costs no processes until a search starts. */
  #ensureStarted(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (let i = 0; i < this.#options.size; i++) this.#spawn();
  }

  /** Resolves when every worker has loaded TensorFlow.js; returns their backends. */
  async whenReady(): Promise<BackendName[]> {
    this.#ensureStarted();
    const ready = await Promise.all([...this.#workers].map((worker) => worker.ready));
    return ready.map((r) => r.backend);
  }

  get workerCount(): number {
    return this.#workers.size;
  }

  /** Process ids of the live workers (tests kill one to check recovery). */
  get pids(): number[] {
    return [...this.#workers].map((worker) => worker.child.pid ?? -1);
  }

  /** Process ids of the workers training a task right now. */
  get busyPids(): number[] {
    return [...this.#workers].filter((worker) => worker.busy).map((worker) => worker.child.pid ?? -1);
  }

  #spawn(): WorkerProcess {
    const worker = new WorkerProcess(this.#options);
    this.#workers.add(worker);
    worker.ready.then(
      (ready) => {
        this.#startupFailures = 0;
        this.#options.onReady?.(ready.workerName, ready.backend);
        if (this.#warmSpec !== null) this.#warm(worker, this.#warmSpec);
        this.#release(worker);
      },
      (error: Error) => {
        // A worker that cannot even start (bad install, no memory) would be respawned forever.
        if (++this.#startupFailures >= MAX_STARTUP_FAILURES && !this.#closed) this.#breakPool(error);
      },
    );
    worker.onExit(() => {
      this.#workers.delete(worker);
      if (!this.#closed && this.#broken === null) this.#spawn();
    });
    return worker;
  }

  #breakPool(error: Error): void {
    this.#broken = new Error(
      `worker processes cannot start (${MAX_STARTUP_FAILURES} in a row died before they were ready): ${error.message}`,
    );
    for (const waiter of this.#waiting.splice(0)) waiter(null);
  }

  #release(worker: WorkerProcess): void {
    if (worker.exited || this.#closed) return;
    worker.busy = false;
    const next = this.#waiting.shift();
    if (next) {
      worker.busy = true;
      next(worker);
    }
  }

  async #acquire(): Promise<WorkerProcess> {
    if (this.#broken) throw this.#broken;
    this.#ensureStarted();
    for (const worker of this.#workers) {
      if (!worker.busy && !worker.exited && worker.backend !== null) {
        worker.busy = true;
        return worker;
      }
    }
    const worker = await new Promise<WorkerProcess | null>((resolve) => this.#waiting.push(resolve));
    if (worker === null) throw this.#broken ?? new Error('worker pool closed');
    return worker;
  }

  async run(task: Task, onEpoch: EpochListener, signal?: AbortSignal, onHorizon?: HorizonListener): Promise<TaskOutcome> {
    if (signal?.aborted) return { status: 'failed', reason: 'interrupted', message: 'stopped before it started', workerName: null };
    let worker: WorkerProcess;
    try {
      worker = await this.#acquire();
    } catch (error) {
      return { status: 'failed', reason: signal?.aborted ? 'interrupted' : 'crashed', message: (error as Error).message, workerName: null };
    }
    return new Promise<TaskOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: TaskOutcome) => {
        if (settled) return;
        settled = true;
        stopListening();
        stopExitWatch();
        signal?.removeEventListener('abort', onAbort);
        if (outcome.status === 'done' || outcome.reason === 'diverged' || outcome.reason === 'error') this.#release(worker);
        resolve(outcome);
      };
      const done = (result: TaskResult): DoneOutcome => ({
        status: 'done',
        result,
        workerName: worker.workerName,
        backend: worker.backend ?? 'cpu',
      });
      const stopListening = worker.listen((message) => {
        if (!('taskId' in message) || message.taskId !== task.taskId) return;
        if (message.type === 'epoch') {
          if (onEpoch(message.epoch, message.metrics) === 'stop') worker.send({ type: 'stop', taskId: task.taskId });
        } else if (message.type === 'horizon') onHorizon?.(message.runId, done(message.result));
        else if (message.type === 'done') finish(done(message.result));
        else if (message.type === 'failed')
          finish({ status: 'failed', reason: taskFailureReason(message.kind), message: message.message, workerName: worker.workerName });
      });
      const stopExitWatch = worker.onExit((code, exitSignal) => {
        const how = exitSignal ? `killed by ${exitSignal}` : `exited with code ${code}`;
        const tail = worker.outputTail();
        finish({
          status: 'failed',
          reason: signal?.aborted ? 'interrupted' : 'crashed',
          message: `worker ${worker.workerName} ${how}${tail ? `: ${tail}` : ''}`,
          workerName: worker.workerName,
        });
      });
      // Stopping a task mid-epoch: the process is the unit we can stop at once; the pool replaces it.
      const onAbort = () => worker.child.kill('SIGKILL');
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.send({ type: 'task', task });
    });
  }

  async describe(spec: ExperimentSpec): Promise<DatasetInfo> {
    const worker = await this.#acquire();
    this.#warmSpec = spec;
    for (const other of this.#workers) if (other !== worker && !other.busy && other.backend !== null) this.#warm(other, spec);
    const requestId = `describe-${++this.#describeCounter}`;
    return new Promise<DatasetInfo>((resolve, reject) => {
      const stopListening = worker.listen((message) => {
        if (message.type === 'described' && message.requestId === requestId) {
          cleanup();
          resolve(message.info);
        } else if (message.type === 'describe-failed' && message.requestId === requestId) {
          cleanup();
          reject(describeFailureError(message.kind, message.message));
        }
      });
      const stopExitWatch = worker.onExit(() => {
        cleanup();
        reject(new Error(`worker died while reading the dataset: ${worker.outputTail()}`));
      });
      const cleanup = () => {
        stopListening();
        stopExitWatch();
        this.#warmSpec = null;
        this.#release(worker);
      };
      worker.send({ type: 'describe', request: { requestId, spec } });
    });
  }

  /**
   * Has an idle worker load a described spec's data while one describes it (its answer is ignored):
   * the worker keeps the table (task-data.ts), so its first task of the search that follows trains at
   * once instead of reading the file then. A task sent meanwhile waits in the worker behind it.
   */
  #warm(worker: WorkerProcess, spec: ExperimentSpec): void {
    worker.send({ type: 'describe', request: { requestId: `warm-${++this.#describeCounter}`, spec } });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter(null);
    const exits = [...this.#workers].map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.exited) return resolve();
          const timer = setTimeout(() => worker.child.kill('SIGKILL'), 2000);
          worker.onExit(() => {
            clearTimeout(timer);
            resolve();
          });
          if (worker.busy) worker.child.kill('SIGKILL');
          else worker.send({ type: 'shutdown' });
        }),
    );
    await Promise.all(exits);
  }
}
