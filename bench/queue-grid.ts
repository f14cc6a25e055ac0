/**
 * The issue-6 benchmark grid (fraud 20,000 rows exported to CSV, depth {1,2,3} × width {32,64} ×
 * batch {64,128} × epochs {10,20}, 5-fold CV, refit of the best) through the real CLI, with two
 * local workers (`foldwise run --workers 2`) and with two queue workers (`foldwise worker --queue
 * URL --concurrency 2`, started and warm beforehand, then `foldwise run --queue URL --workers 2`).
 * Both on this machine, alternated `--repeat` times. A benchmark, not a test.
 *
 *   node --import tsx bench/queue-grid.ts [--repeat 1] [--depth 1,2,3] [--first local|queue]
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openStorage } from '../server/storage/storage.js';
import { rankRuns } from '../server/selection/ranking.js';
import { TestRedis } from '../test/server/queue/redis-server.js';
import { WorkerCommand, tempDir } from '../test/server/queue/helpers.js';

const { values } = parseArgs({
  options: {
    repeat: { type: 'string', default: '1' },
    depth: { type: 'string', default: '1,2,3' },
    first: { type: 'string', default: 'local' },
  },
});
const CLI = fileURLToPath(new URL('../bin/foldwise.js', import.meta.url));
const SOURCE_CSV = fileURLToPath(new URL('./out/fraud.csv', import.meta.url));

if (!existsSync(SOURCE_CSV)) {
  console.error(`${SOURCE_CSV} is missing: run \`node --import tsx bench/export-fraud.ts\` first`);
  process.exit(2);
}
const dir = tempDir('grid');
copyFileSync(SOURCE_CSV, join(dir, 'fraud.csv'));
const specPath = join(dir, 'spec.yaml');
writeFileSync(
  specPath,
  `name: bench-grid
dataset: { kind: csv, path: fraud.csv, target: label }
task: binary
testSplit: { fraction: 0.2 }
model: { optimizer: adam, learningRate: 0.001, widthSchedule: halve, activation: relu }
grid:
  depth: [${values.depth}]
  width: [32, 64]
  batchSize: [64, 128]
  epochs: [10, 20]
validation: { kind: kfold, k: 5, stratified: true }
selection: { metric: auc }
seed: 42
`,
);

type Result = {
  label: string;
  totalS: number;
  searchS: number;
  trainS: number;
  refitS: number;
  best: string;
  bestAuc: number | null;
  load: string;
  workers: string[];
};

async function run(label: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  const dataDir = tempDir(`grid-${label}`);
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'run', specPath, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const totalS = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${label}: foldwise run exited with ${code}:\n${output}`);
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const [experiment] = storage.experiments.list();
    const runs = storage.runs.list(experiment!.experimentId);
    const [best] = rankRuns(experiment!, runs);
    const starts = runs.map((r) => r.startedAt ?? Infinity);
    const ends = runs.map((r) => r.finishedAt ?? 0);
    const [refit] = storage.runs.list(experiment!.experimentId, 'refit');
    const folds = runs.flatMap((r) => storage.runs.folds(r.runId));
    const workers = [...new Set(folds.map((f) => f.workerName ?? '?'))];
    return {
      label,
      totalS,
      load,
      workers,
      searchS: (Math.max(...ends) - Math.min(...starts)) / 1000,
      trainS: folds.reduce((sum, f) => sum + (f.trainMs ?? 0), 0) / 1000,
      refitS: refit?.startedAt && refit.finishedAt ? (refit.finishedAt - refit.startedAt) / 1000 : NaN,
      best: best!.paramsJson,
      bestAuc: best!.scoreMean,
    };
  } finally {
    storage.close();
  }
}

const env = { FOLDWISE_BACKEND: 'wasm' };
const redis = await TestRedis.start();
// The production lock and stalled-check timings, not the tests' short ones.
const workers = new WorkerCommand(redis.url, {
  concurrency: 2,
  env: { ...env, FOLDWISE_QUEUE_LOCK_MS: '30000', FOLDWISE_QUEUE_STALLED_MS: '15000' },
});
while (workers.lines.filter((line) => line.includes(': ready on ')).length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
const results: Result[] = [];
const variants = { local: ['--workers', '2'], queue: ['--queue', redis.url, '--workers', '2'] } as const;
const order = values.first === 'queue' ? (['queue', 'local'] as const) : (['local', 'queue'] as const);
for (let i = 0; i < Number(values.repeat); i++) {
  for (const label of order) {
    results.push(await run(label, [...variants[label]], env));
    console.error(JSON.stringify(results.at(-1)));
  }
}
await workers.stop();
await redis.stopServer();

console.log(
  `grid: depth {${values.depth}} × width {32,64} × batch {64,128} × epochs {10,20}, 5-fold, fraud 20,000 rows (CSV), wasm backend`,
);
console.log(
  '| workers | load average at start | search wall (first task start → last run end) | training time of the ' +
    'folds / 2 | refit | whole `foldwise run` | best CV AUC |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(
    `| ${r.label === 'local' ? '2 local (pool)' : '2 queue (Redis)'} | ${r.load} | ${r.searchS.toFixed(1)} s | ` +
      `${(r.trainS / 2).toFixed(1)} s (${((100 * r.trainS) / 2 / r.searchS).toFixed(0)} % of the wall) | ` +
      `${r.refitS.toFixed(1)} s | ${r.totalS.toFixed(1)} s | ${r.bestAuc?.toFixed(4)} |`,
  );
}
console.log(`best run (every variant): ${[...new Set(results.map((r) => r.best))].join(' / ')}`);
