/**
 * The CLI's queue parts: `foldwise run --queue URL [--local-workers N]` and
 * `foldwise worker --queue URL [--concurrency N]`. Kept here so server/cli.ts only wires flags.
 */
import { ValidationError } from '../errors.js';
import { checkRedisUrl, maskRedisUrl } from '../../worker/contract/redis-connection.js';
import { QueueRunner } from './queue-runner.js';
import { QueueWorkerSupervisor } from './worker-supervisor.js';

/** Environment variable read when `--queue` is given without a URL (keeps a password out of `ps`). */
export const QUEUE_URL_ENV_VAR = 'FOLDWISE_QUEUE_URL';

/**
 * The queue URL from `--queue [url]`: the value, or the environment when the flag has none.
 * @throws {ValidationError} when there is no URL or it is not a redis:// URL (the message is masked).
 */
export function queueUrlFrom(flag: string | boolean, env: NodeJS.ProcessEnv = process.env): string {
  const url = typeof flag === 'string' ? flag : (env[QUEUE_URL_ENV_VAR] ?? '');
  if (url === '') throw new ValidationError(`--queue: give a URL (redis://HOST:PORT) or set ${QUEUE_URL_ENV_VAR}`);
  try {
    checkRedisUrl(url);
  } catch (error) {
    throw new ValidationError((error as Error).message);
  }
  return url;
}

export type RunQueueFlags = {
  readonly queue: string | boolean;
  readonly workers?: number;
  readonly localWorkers?: number;
  readonly dataDir: string;
};

/** The runner for `foldwise run --queue`: tasks on the queue, describe and refit on a local worker. */
export function createQueueRunner(flags: RunQueueFlags): QueueRunner {
  return new QueueRunner({
    url: queueUrlFrom(flags.queue),
    dataDir: flags.dataDir,
    slots: flags.workers,
    localWorkers: flags.localWorkers,
    log: (line) => process.stderr.write(`${line}\n`),
  });
}

/** One line for the run header: where tasks go. */
export function describeQueueRunner(runner: QueueRunner, url: string, localWorkers: number): string {
  const local = localWorkers > 0 ? ` (${localWorkers} of them on this machine)` : '';
  return `${runner.concurrency} task slots on queue ${runner.queueName} at ${maskRedisUrl(url)}${local}`;
}

export type WorkerCommandFlags = { readonly queue?: string | boolean; readonly concurrency: number; readonly cacheDir?: string };

/**
 * `foldwise worker`: runs `concurrency` queue worker processes until Ctrl-C or until they are
 * refused. Resolves with the exit code (2 when refused).
 */
export async function runQueueWorkers(flags: WorkerCommandFlags): Promise<number> {
  if (flags.queue === undefined)
    throw new ValidationError(`foldwise worker needs --queue redis://HOST:PORT (or --queue with ${QUEUE_URL_ENV_VAR} set)`);
  const url = queueUrlFrom(flags.queue);
  const supervisor = new QueueWorkerSupervisor({
    url,
    count: flags.concurrency,
    cacheDir: flags.cacheDir,
    output: 'inherit',
    log: (line) => process.stderr.write(`foldwise worker: ${line}\n`),
  });
  const stop = () => void supervisor.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return supervisor.exited;
}
