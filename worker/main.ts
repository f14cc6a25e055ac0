/**
 * Worker process entry, started by the coordinator with
 * `child_process.fork('worker/main.ts', { execArgv: ['--import', 'tsx'] })`.
 *
 * Selects the backend once, announces `ready`, then handles one request at a time: a task
 * streams `epoch` messages (and a `horizon` message per shorter run it answers) and ends with
 * `done` or `failed`; a dataset description ends with `described` or `describe-failed`. A failing
 * request never takes the process down. Exits on `shutdown` or when the coordinator goes away.
 */
import { selectBackend } from './backend.js';
import { describeDataset } from './describe.js';
import { defaultWorkerName, executeTask } from './execute.js';
import { errorMessage, failureOf } from './failures.js';
import {
  parseToWorker,
  type DescribeRequest,
  type EpochMetrics,
  type FromWorker,
  type Task,
  type TaskResult,
  type ToWorker,
} from './contract/protocol.js';
import type { TrainingContext } from './training/types.js';

if (process.send === undefined) {
  process.stderr.write('worker/main.ts is started by the coordinator (child_process.fork); it has no IPC channel here.\n');
  process.exit(2);
}

/** A request from the coordinator waiting for the one in progress to end. */
type PendingRequest = { readonly kind: 'task'; readonly task: Task } | { readonly kind: 'describe'; readonly request: DescribeRequest };

const pending: PendingRequest[] = [];
let context: TrainingContext | null = null;
let running = false;
let currentTaskId: string | null = null;
/** Tasks the coordinator asked to end after their current epoch (pruning). */
const stopRequests = new Set<string>();
/** Aborts the task in progress; the process is about to exit. */
const stopping = new AbortController();

process.on('disconnect', () => exitNow());
process.on('message', (raw: unknown) => {
  let message: ToWorker;
  try {
    message = parseToWorker(raw);
  } catch (error) {
    reportMalformed(raw, error);
    return;
  }
  switch (message.type) {
    case 'shutdown':
      return exitNow();
    case 'stop':
      // Late stops (the task already ended) are dropped, so the set cannot grow without bound.
      if (isRunningOrPending(message.taskId)) stopRequests.add(message.taskId);
      return;
    case 'task':
      pending.push({ kind: 'task', task: message.task });
      return void drain();
    case 'describe':
      pending.push({ kind: 'describe', request: message.request });
      return void drain();
  }
});

try {
  const { tf, backend } = await selectBackend();
  context = { tf, backend };
  send({ type: 'ready', backend, workerName: defaultWorkerName() });
  void drain();
} catch (error) {
  process.stderr.write(`worker ${process.pid}: ${errorMessage(error)}\n`);
  process.exit(1);
}

/** Handles pending requests one after another; a no-op while one is running or the backend is not ready. */
async function drain(): Promise<void> {
  if (running || context === null) return;
  running = true;
  try {
    for (let request = pending.shift(); request !== undefined; request = pending.shift()) {
      if (request.kind === 'task') await runOne(request.task, context);
      else await describeOne(request.request);
    }
  } finally {
    running = false;
  }
}

async function describeOne({ requestId, spec }: DescribeRequest): Promise<void> {
  try {
    send({ type: 'described', requestId, info: await describeDataset(spec) });
  } catch (error) {
    send({ type: 'describe-failed', requestId, ...failureOf(error) });
  }
}

async function runOne(task: Task, ctx: TrainingContext): Promise<void> {
  const { taskId } = task;
  const onEpoch = (epoch: number, metrics: EpochMetrics) => {
    send({ type: 'epoch', taskId, epoch, metrics });
    // A stop sent in answer to an earlier epoch arrives while a later one trains: honoured here.
    return stopRequests.has(taskId) ? 'stop' : 'continue';
  };
  currentTaskId = taskId;
  try {
    const onHorizon = (runId: number, result: TaskResult) => send({ type: 'horizon', taskId, runId, result });
    const outcome = await executeTask(task, ctx, onEpoch, stopping.signal, onHorizon);
    if (outcome.status === 'done') send({ type: 'done', taskId, result: outcome.result });
    else if (outcome.status === 'failed') send({ type: 'failed', taskId, kind: outcome.kind, message: outcome.message });
    // 'aborted': the process is exiting and the coordinator retries the task.
  } finally {
    currentTaskId = null;
    stopRequests.delete(taskId);
  }
}

function isRunningOrPending(taskId: string): boolean {
  return taskId === currentTaskId || pending.some((request) => request.kind === 'task' && request.task.taskId === taskId);
}

function send(message: FromWorker): void {
  // After a disconnect there is nobody to tell; the process is exiting.
  if (process.connected) process.send?.(message, undefined, undefined, exitIfUnsent);
}

/**
 * A write can still fail as the coordinator closes the channel (EPIPE). Without a callback Node makes that an
 * 'error' event on process, an uncaught exception (exit code 1); with it, the worker exits as on a disconnect.
 */
function exitIfUnsent(error: Error | null): void {
  if (error !== null) exitNow();
}

/** A message that fails validation is answered as a failed task when it names one. */
function reportMalformed(raw: unknown, error: unknown): void {
  const taskId =
    typeof raw === 'object' && raw !== null && 'task' in raw && typeof raw.task === 'object' && raw.task !== null && 'taskId' in raw.task
      ? raw.task.taskId
      : undefined;
  const message = `malformed message from the coordinator: ${errorMessage(error)}`;
  if (typeof taskId === 'string') send({ type: 'failed', taskId, kind: 'error', message });
  else process.stderr.write(`worker ${process.pid}: ${message}\n`);
}

function exitNow(): never {
  // Nothing to flush: the coordinator owns all state, and a half-trained task is retried.
  try {
    stopping.abort();
  } finally {
    process.exit(0);
  }
}
