import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { maskRedisUrl } from '../../worker/contract/redis-connection.js';
import { ValidationError } from '../errors.js';

const QUEUE_WORKER_ENTRY = fileURLToPath(new URL('../../worker/queue-worker.ts', import.meta.url));
const EXIT_REFUSED = 2;
/** More crashes than this within CRASH_WINDOW_MS and the supervisor gives up. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;
const RESTART_DELAY_MS = 1_000;

export type QueueWorkerSettings = {
  /** Queue URL; handed to the workers through their environment, never their argv. */
  readonly url: string;
  /** Worker processes, each training one task at a time. */
  readonly count: number;
  /** Folder for verified dataset copies. @default $XDG_CACHE_HOME/foldwise/datasets */
  readonly cacheDir?: string;
  /** BullMQ lock of a job in training: a worker silent this long loses its task. @default 30000 */
  readonly lockMs?: number;
  /** How often workers look for stalled jobs. @default 15000 */
  readonly stalledMs?: number;
  /** Extra environment (e.g. FOLDWISE_BACKEND). */
  readonly env?: NodeJS.ProcessEnv;
  /** V8 heap limit per worker. @default 4096 */
  readonly maxOldSpaceMb?: number;
};

export type QueueWorkerSupervisorOptions = QueueWorkerSettings & {
  /** 'inherit': the workers write to this terminal (`foldwise worker`); 'pipe': only their errors reach `log`. */
  readonly output: 'inherit' | 'pipe';
  readonly log?: (line: string) => void;
};

/**
 * Runs `count` queue worker processes (worker/queue-worker.ts) and restarts one that crashes.
 * A worker that exits with code 2 was refused (another code version, bad settings): then every
 * worker stops and `exited` resolves with 2.
 */
export class QueueWorkerSupervisor {
  /** Resolves with the exit code once every worker has stopped for good. */
  readonly exited: Promise<number>;
  readonly #options: QueueWorkerSupervisorOptions;
  readonly #children = new Set<ChildProcess>();
  readonly #crashes: number[] = [];
  #stopping = false;
  #exitCode = 0;
  #resolveExited!: (code: number) => void;

  constructor(options: QueueWorkerSupervisorOptions) {
    if (!Number.isInteger(options.count) || options.count < 1) {
      throw new ValidationError(`expected a worker count from 1 up, got ${options.count}`);
    }
    this.#options = options;
    this.exited = new Promise((resolveExited) => (this.#resolveExited = resolveExited));
    for (let i = 0; i < options.count; i++) this.#spawn();
  }

  /** True once the workers were told to stop (or gave up). */
  get stopped(): boolean {
    return this.#stopping;
  }

  get pids(): number[] {
    return [...this.#children].map((child) => child.pid ?? -1);
  }

  #spawn(): void {
    const options = this.#options;
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, FOLDWISE_QUEUE_URL: options.url };
    if (options.cacheDir !== undefined) env.FOLDWISE_QUEUE_CACHE_DIR = options.cacheDir;
    if (options.lockMs !== undefined) env.FOLDWISE_QUEUE_LOCK_MS = String(options.lockMs);
    if (options.stalledMs !== undefined) env.FOLDWISE_QUEUE_STALLED_MS = String(options.stalledMs);
    const child = fork(QUEUE_WORKER_ENTRY, [], {
      execArgv: ['--import', 'tsx', `--max-old-space-size=${options.maxOldSpaceMb ?? 4096}`],
      env,
      stdio: options.output === 'inherit' ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.#children.add(child);
    if (options.output === 'pipe') {
      let partial = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) options.log?.(line);
      });
    }
    child.on('error', () => undefined);
    child.on('exit', (code, signal) => {
      this.#children.delete(child);
      if (this.#stopping) return this.#maybeExited();
      if (code === EXIT_REFUSED) {
        this.#exitCode = EXIT_REFUSED;
        void this.stop();
        return;
      }
      const now = Date.now();
      this.#crashes.push(now);
      while (this.#crashes.length > 0 && now - this.#crashes[0]! > CRASH_WINDOW_MS) this.#crashes.shift();
      if (this.#crashes.length > MAX_CRASHES) {
        options.log?.(`queue workers on ${maskRedisUrl(options.url)} keep crashing (${this.#crashes.length} in a minute); giving up`);
        this.#exitCode = 1;
        void this.stop();
        return;
      }
      options.log?.(`queue worker ${child.pid} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; starting another`);
      // Not unref'd: with no child left, this timer is what keeps `foldwise worker` alive.
      setTimeout(() => {
        if (!this.#stopping) this.#spawn();
        else this.#maybeExited();
      }, RESTART_DELAY_MS);
    });
  }

  #maybeExited(): void {
    if (this.#children.size === 0) this.#resolveExited(this.#exitCode);
  }

  /** Asks every worker to hand its task back and exit; kills those still there after 10 s. */
  async stop(): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      for (const child of this.#children) {
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }
      this.#maybeExited();
    }
    await this.exited;
  }
}
