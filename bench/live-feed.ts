/**
 * The cross-process live feed's cost (issue 13): a `foldwise run` search timed alone, and timed
 * while a `foldwise serve` on the same data directory has 20 SSE clients following it; and the
 * latency from an epoch's write (the change feed's created_at, stamped when the coordinator
 * announces the committed epoch) to its arrival at each client (median and p90). Each variant
 * runs ROUNDS times, alternating; medians are quoted. Writes the `live-feed` section of BENCHMARKS.md.
 *
 *   node --import tsx bench/live-feed.ts [--rounds 5] [--no-write]
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startCli, tempDir, writeFile } from '../test/helpers/cli.js';
import { openSse, type SseClient } from '../test/helpers/sse-client.js';
import { waitFor } from '../test/helpers/wait-for.js';
import { machineLine, median, writeSection } from './report.js';

const CLIENTS = 20;
const roundsFlag = process.argv.indexOf('--rounds');
const ROUNDS = roundsFlag > 0 ? Number(process.argv[roundsFlag + 1]) : 5;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds: expected a whole number ≥ 1');
const WORKERS = 2;
const SPEC = `
name: live-bench
dataset: { kind: fraud, rows: 6000, features: 16, positiveRate: 0.1 }
model: { learningRate: 0.01, batchSize: 64 }
grid: { depth: [1, 2, 3], width: [16, 32, 64], epochs: 25 }
validation: { kind: kfold, k: 5 }
seed: 3
`;
const write = !process.argv.includes('--no-write');

type Variant = 'alone' | 'followed';
type Round = {
  readonly variant: Variant;
  readonly wallMs: number;
  readonly searchMs: number;
  readonly latencies: number[];
  /** The 1-minute load average when the round started. */
  readonly load: number;
};

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function experimentId(dataDir: string): number | undefined {
  try {
    const db = new Database(join(dataDir, 'foldwise.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT experiment_id FROM experiments').get() as { experiment_id: number } | undefined)?.experiment_id;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * The feed's epoch rows as they pass (they are pruned after a minute): (run:fold:epoch) → created_at.
 * Read every second through a read-only handle, as a second dashboard would.
 */
function recordFeed(dataDir: string): { written: Map<string, number>; stop(): void } {
  const db = new Database(join(dataDir, 'foldwise.db'), { readonly: true });
  const read = db.prepare(`SELECT seq, payload, created_at FROM live_feed WHERE seq > ? AND type = 'epoch' ORDER BY seq`);
  const written = new Map<string, number>();
  let seq = 0;
  const tick = () => {
    for (const row of read.all(seq) as { seq: number; payload: string; created_at: number }[]) {
      const e = JSON.parse(row.payload) as { runId: number; foldIndex: number; epoch: number };
      written.set(`${e.runId}:${e.foldIndex}:${e.epoch}`, row.created_at);
      seq = row.seq;
    }
  };
  const timer = setInterval(tick, 1000);
  return {
    written,
    stop() {
      clearInterval(timer);
      tick();
      db.close();
    },
  };
}

async function round(variant: Variant): Promise<Round> {
  const dir = tempDir('foldwise-live-bench-');
  const spec = writeFile(dir, 'live-bench.yaml', SPEC);
  const dataDir = join(dir, 'data');
  // The same first step in both variants: a run that records the experiment and is stopped at once,
  // so that the clients can subscribe to it before the timed run resumes it from the start.
  const first = startCli(['run', spec, '--workers', '1', '--no-refit'], dataDir);
  await waitFor(() => experimentId(dataDir), 'the experiment row', 120_000);
  first.child.kill('SIGINT');
  await first.finished;
  const id = experimentId(dataDir)!;

  let serve: ReturnType<typeof startCli> | null = null;
  const clients: SseClient[] = [];
  const feed = variant === 'followed' ? recordFeed(dataDir) : null;
  if (variant === 'followed') {
    serve = startCli(['serve', '--workers', '1'], dataDir, { FOLDWISE_PORT: '0', FOLDWISE_EXPERIMENTS_DIR: dir });
    const url = await waitFor(() => /Dashboard: (http:\/\/\S+)/.exec(serve!.output())?.[1], 'the dashboard URL', 60_000);
    for (let i = 0; i < CLIENTS; i++) clients.push(openSse(`${url}/api/experiments/${id}/events`));
    await Promise.all(clients.map((client) => client.ready));
  }
  const load = loadavg()[0]!;
  const started = Date.now();
  const run = await startCli(['run', spec, '--workers', String(WORKERS), '--no-refit'], dataDir).finished;
  const wallMs = Date.now() - started;
  if (run.code !== 0) throw new Error(`foldwise run exited ${run.code}: ${run.stderr}`);
  const searchMs = Number(/Search finished in ([\d.]+) s/.exec(run.stdout)?.[1] ?? Number.NaN) * 1000;
  // The last events reach the clients within a second.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  feed?.stop();
  const latencies: number[] = [];
  for (const client of clients) {
    for (const event of client.events) {
      if (event.type !== 'epoch') continue;
      const e = event.data as { runId: number; foldIndex: number; epoch: number };
      const at = feed?.written.get(`${e.runId}:${e.foldIndex}:${e.epoch}`);
      if (at !== undefined) latencies.push(event.at - at);
    }
    client.close();
  }
  if (serve) {
    serve.child.kill('SIGINT');
    await serve.finished;
  }
  console.log(
    `${variant}: ${(wallMs / 1000).toFixed(1)} s wall (search ${(searchMs / 1000).toFixed(1)} s)` +
      (latencies.length > 0 ? `, ${latencies.length} epoch events, latency median ${median(latencies).toFixed(0)} ms` : ''),
  );
  return { variant, wallMs, searchMs, latencies, load };
}

const rounds: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  // Alternate the order, so drift of the shared machine falls on both.
  for (const variant of (i % 2 === 0 ? ['alone', 'followed'] : ['followed', 'alone']) as Variant[]) rounds.push(await round(variant));
}

const of = (variant: Variant) => rounds.filter((r) => r.variant === variant);
const alone = median(of('alone').map((r) => r.searchMs));
const followed = median(of('followed').map((r) => r.searchMs));
const latencies = of('followed').flatMap((r) => r.latencies);
const overhead = ((followed - alone) / alone) * 100;
const lines = [
  '## Live feed across processes',
  '',
  machineLine(),
  '',
  `A \`foldwise run\` search (9 runs × 5 folds × up to 25 epochs, fraud 6000 × 16, ${WORKERS} workers, fast engine), ` +
    `timed alone and while a \`foldwise serve\` on the same data directory streams it to ${CLIENTS} SSE clients; ` +
    `median of ${ROUNDS} rounds each, alternating.`,
  '',
  '| | search wall time |',
  '| --- | --- |',
  `| alone | ${(alone / 1000).toFixed(2)} s |`,
  `| followed by ${CLIENTS} clients | ${(followed / 1000).toFixed(2)} s (${overhead >= 0 ? '+' : ''}${overhead.toFixed(1)} %) |`,
  '',
  `Latency from an epoch's write to its event at a client, over ${latencies.length.toLocaleString('en-US')} events: ` +
    `median ${median(latencies).toFixed(0)} ms, p90 ${quantile(latencies, 0.9).toFixed(0)} ms ` +
    '(feed batches every 100 ms, the serve polls every 250 ms, SSE batches every 100 ms).',
  '',
  `Target (issue 13): ≤ 5 % — ${overhead <= 5 ? 'met' : '**not met**'} in this run.`,
  '',
  `Rounds (search seconds, in run order; 1-minute load average at the start): ${rounds
    .map((r) => `${r.variant} ${(r.searchMs / 1000).toFixed(1)} (${r.load.toFixed(2)})`)
    .join(', ')}. Command: \`node --import tsx bench/live-feed.ts --rounds ${ROUNDS}\`.`,
];
console.log(`\n${lines.join('\n')}`);
if (write) writeSection('live-feed', lines.join('\n'));
