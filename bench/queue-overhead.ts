/**
 * Per-task overhead of the Redis queue against the local pool: a search of tiny tasks (1 epoch on
 * 200 rows) trained by one worker either way, timed around each `TaskRunner.run` call as the
 * coordinator makes it. Overhead = wall time of the call − the worker's own training time.
 * A benchmark, not a test (DESIGN.md): run it by hand and copy the figures into docs/scale-out.md.
 *
 *   node --import tsx bench/queue-overhead.ts [--tasks 40] [--rounds 3]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../server/config.js';
import { compose } from '../server/compose.js';
import { WorkerPool } from '../server/coordinator/worker-pool.js';
import { QueueRunner } from '../server/queue/queue-runner.js';
import type { EpochListener, TaskOutcome, TaskRunner } from '../server/coordinator/task-runner.js';
import type { DatasetInfo, ExperimentSpec, Task } from '../worker/contract/protocol.js';
import { TestRedis } from '../test/server/queue/redis-server.js';
import { WorkerCommand, tempDir } from '../test/server/queue/helpers.js';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '40' }, rounds: { type: 'string', default: '3' } } });
const TASKS = Number(values.tasks);
const ROUNDS = Number(values.rounds);

type Timing = { readonly wallMs: number; readonly trainMs: number };

/** Times every run() call of the runner it wraps. */
class TimedRunner implements TaskRunner {
  readonly timings: Timing[] = [];
  constructor(readonly inner: TaskRunner) {}
  get concurrency(): number {
    return this.inner.concurrency;
  }
  async run(task: Task, onEpoch: EpochListener, signal?: AbortSignal): Promise<TaskOutcome> {
    const started = performance.now();
    const outcome = await this.inner.run(task, onEpoch, signal);
    if (outcome.status !== 'done') throw new Error(`task ${task.taskId} ${outcome.reason}: ${outcome.message}`);
    this.timings.push({ wallMs: performance.now() - started, trainMs: outcome.result.trainMs });
    return outcome;
  }
  describe(spec: ExperimentSpec): Promise<DatasetInfo> {
    return this.inner.describe(spec);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const spec = (name: string, tasks: number) => `
name: ${name}
dataset: { kind: sine, rows: 200 }
grid: { width: [${Array.from({ length: tasks }, (_, i) => i + 2).join(', ')}], epochs: 1, batchSize: 64 }
validation: { kind: holdout, fraction: 0.2 }
`;

async function measure(
  label: string,
  runner: TimedRunner,
): Promise<{ label: string; wallMs: number[]; overheadMs: number[]; searchMs: number[] }> {
  const composition = compose(loadConfig({ dataDir: tempDir(`overhead-${label}`) }), { runner });
  const result = { label, wallMs: [] as number[], overheadMs: [] as number[], searchMs: [] as number[] };
  try {
    // Warm-up: JIT, wasm compile, first connections.
    const warm = await composition.coordinator.prepare(spec(`warm-${label}`, 5), { baseDir: '.' });
    await composition.coordinator.search(warm.experiment.experimentId);
    for (let round = 0; round < ROUNDS; round++) {
      runner.timings.length = 0;
      const { experiment } = await composition.coordinator.prepare(spec(`overhead-${label}-${round}`, TASKS), { baseDir: '.' });
      const summary = await composition.coordinator.search(experiment.experimentId);
      result.searchMs.push(summary.wallMs);
      result.wallMs.push(...runner.timings.map((t) => t.wallMs));
      result.overheadMs.push(...runner.timings.map((t) => t.wallMs - t.trainMs));
    }
  } finally {
    await composition.close();
  }
  return result;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.ceil(at)]! - sorted[low]!) * (at - low);
}

const env = { FOLDWISE_BACKEND: 'wasm' };
process.env.FOLDWISE_BACKEND = 'wasm';
const load = loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
const local = await measure('local', new TimedRunner(new WorkerPool({ size: 1, env })));

const redis = await TestRedis.start();
const worker = new WorkerCommand(redis.url);
await worker.waitForLine(/: ready on /);
const queueRunner = new QueueRunner({ url: redis.url, dataDir: tempDir('overhead-q'), slots: 1, localEnv: env, log: () => undefined });
await queueRunner.whenReady();
const queued = await measure('queue', new TimedRunner(queueRunner));
await worker.stop();
await redis.stopServer();

console.log(`load average at start: ${load}; ${TASKS} tasks × ${ROUNDS} rounds, one worker, sine 200 rows, 1 epoch, wasm`);
console.log('| runner | median wall per task | p90 | median overhead (wall − train) | p90 overhead | search wall / task |');
console.log('|---|---|---|---|---|---|');
for (const r of [local, queued]) {
  const perTask = r.searchMs.reduce((a, b) => a + b, 0) / (TASKS * ROUNDS);
  console.log(
    `| ${r.label === 'local' ? 'local pool (IPC)' : 'Redis queue (BullMQ)'} | ` +
      `${quantile(r.wallMs, 0.5).toFixed(1)} ms | ${quantile(r.wallMs, 0.9).toFixed(1)} ms | ` +
      `${quantile(r.overheadMs, 0.5).toFixed(1)} ms | ${quantile(r.overheadMs, 0.9).toFixed(1)} ms | ${perTask.toFixed(1)} ms |`,
  );
}
console.log(
  `queue − local, median overhead: ${(quantile(queued.overheadMs, 0.5) - quantile(local.overheadMs, 0.5)).toFixed(1)} ms per task`,
);
