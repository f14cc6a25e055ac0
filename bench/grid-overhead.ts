/**
 * Issue 14 item 2 (faster whole grids): the issue-6 benchmark grid trained in full, through the
 * real CLI, by this checkout (B) and by another revision (A, default HEAD), interleaved A B, B A,
 * A B, … so that both see the same machine. Per run: the whole command's wall, the search's wall as
 * the database records it (first dispatch to last result), the sum of the folds' training time
 * (`trainMs`: epochs and their validation), the share of worker time outside it, and a task's
 * fixed cost (dispatch to result, less its training) after and at each worker's first. Ratios are
 * medians of the per-pair ratios B ÷ A. Prints a Markdown table; writes nothing to BENCHMARKS.md.
 *
 *   node --import tsx bench/grid-overhead.ts [--base REV | --base-dir DIR] [--repeat 3] [--grid issue6|scaling] [--workers 2]
 *
 * REV is exported with `git archive` into bench/out/grid-overhead-base (its node_modules are this
 * checkout's); --base-dir names a tree to compare with instead. The data is bench/out/fraud.csv,
 * written by bench/export-fraud.ts when missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage } from '../server/storage/storage.js';
import { DEFAULT_CSV, exportFraud } from './export-fraud.js';
import { machineLine, median } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = fileURLToPath(new URL('./out', import.meta.url));

const GRIDS = {
  issue6: 'depth: [1, 2, 3]\n  width: [32, 64]\n  batchSize: [64, 128]\n  epochs: [10, 20]',
  scaling: 'depth: [1, 2]\n  width: [32, 64]\n  batchSize: [64, 128]\n  epochs: 10',
} as const;
type GridName = keyof typeof GRIDS;

const specYaml = (grid: GridName) => `
name: grid-overhead
dataset: { kind: csv, path: ${DEFAULT_CSV}, target: label }
task: binary
testSplit: { fraction: 0.2 }
model: { optimizer: adam, learningRate: 0.001, widthSchedule: halve, activation: relu }
grid:
  ${GRIDS[grid]}
validation: { kind: kfold, k: 5, stratified: true }
selection: { metric: auc }
seed: 42
`;

type Measured = {
  readonly wallS: number;
  readonly searchWallS: number;
  readonly trainS: number;
  /** 1 − Σ trainMs ÷ (workers × search wall). */
  readonly outside: number;
  /** Median over the folds after each worker's first of (finished − dispatched − trainMs): a task's fixed cost. */
  readonly taskMs: number;
  /** The same for each worker's first fold of the search (it used to read the data). */
  readonly firstTaskMs: number;
  readonly bestCvAuc: number | null;
  readonly load1: number;
};

function runOnce(tree: string, label: string, index: number, grid: GridName, workers: number): Measured {
  const dataDir = join(OUT, `grid-overhead-${label}-${index}`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const specPath = join(dataDir, 'spec.yaml');
  writeFileSync(specPath, specYaml(grid));
  const load1 = loadavg()[0]!;
  const started = process.hrtime.bigint();
  const bin = join(tree, 'bin', 'foldwise.js');
  const result = spawnSync(process.execPath, [bin, '--data-dir', dataDir, 'run', specPath, '--workers', String(workers)], {
    encoding: 'utf8',
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${label}: foldwise run failed (${result.status}): ${result.stderr}`);
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const [experiment] = storage.experiments.list();
    const runs = storage.runs.list(experiment!.experimentId);
    const folds = runs.flatMap((run) => storage.runs.folds(run.runId));
    const trainMs = folds.reduce((sum, fold) => sum + (fold.trainMs ?? 0), 0);
    const fixed = (fold: (typeof folds)[number]) => fold.finishedAt! - fold.startedAt! - fold.trainMs!;
    const byWorker = new Map<string | null, typeof folds>();
    for (const fold of folds.filter((f) => f.trainMs !== null).sort((a, b) => a.startedAt! - b.startedAt!))
      byWorker.set(fold.workerName, [...(byWorker.get(fold.workerName) ?? []), fold]);
    const firsts = [...byWorker.values()].map((list) => list[0]!);
    const searchWallS = (experiment!.finishedAt! - experiment!.startedAt!) / 1000;
    const best = Math.max(...runs.map((run) => run.scoreMean ?? Number.NEGATIVE_INFINITY));
    return {
      wallS,
      searchWallS,
      trainS: trainMs / 1000,
      outside: 1 - trainMs / 1000 / (workers * searchWallS),
      taskMs: median([...byWorker.values()].flatMap((list) => list.slice(1)).map(fixed)),
      firstTaskMs: median(firsts.map(fixed)),
      bestCvAuc: Number.isFinite(best) ? best : null,
      load1,
    };
  } finally {
    storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The revision's files in a folder of their own, with this checkout's node_modules. */
function exportRevision(rev: string): string {
  const dir = join(OUT, 'grid-overhead-base');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['-C', ROOT, 'archive', '--format=tar', rev], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function option(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const rev = option(args, '--base', 'HEAD');
  const repeat = Number(option(args, '--repeat', '3'));
  const workers = Number(option(args, '--workers', '2'));
  const grid = option(args, '--grid', 'issue6') as GridName;
  if (!(grid in GRIDS)) throw new Error(`--grid must be one of ${Object.keys(GRIDS).join(', ')}`);
  mkdirSync(OUT, { recursive: true });
  if (!existsSync(DEFAULT_CSV)) await exportFraud();
  const baseDir = option(args, '--base-dir', '');
  const trees = { A: baseDir === '' ? exportRevision(rev) : baseDir, B: ROOT };
  const before = loadavg();
  const pairs: { A: Measured; B: Measured }[] = [];
  for (let i = 0; i < repeat; i++) {
    // A B, B A, A B, …: a drift in the machine's load does not favour one side.
    const first = i % 2 === 0 ? 'A' : 'B';
    const one = runOnce(trees[first], first, i, grid, workers);
    const other = runOnce(trees[first === 'A' ? 'B' : 'A'], first === 'A' ? 'B' : 'A', i, grid, workers);
    const [A, B] = first === 'A' ? [one, other] : [other, one];
    pairs.push({ A, B });
    const line = (m: Measured) =>
      `${m.wallS.toFixed(1)} s (search ${m.searchWallS.toFixed(1)}, training ${m.trainS.toFixed(1)}, ` +
      `outside ${(100 * m.outside).toFixed(1)} %, task ${m.taskMs.toFixed(0)} ms, first ${m.firstTaskMs.toFixed(0)} ms, ` +
      `load ${m.load1.toFixed(2)})`;
    console.error(`#${i + 1} (${first} first): A ${line(A)}; B ${line(B)}`);
  }
  const after = loadavg();
  const med = (f: (m: Measured) => number, side: 'A' | 'B') => median(pairs.map((pair) => f(pair[side])));
  const ratio = (f: (m: Measured) => number) => median(pairs.map((pair) => f(pair.B) / f(pair.A)));
  const rows: [string, (m: Measured) => number, (v: number) => string][] = [
    ['whole command (s)', (m) => m.wallS, (v) => v.toFixed(1)],
    ['search wall (s)', (m) => m.searchWallS, (v) => v.toFixed(1)],
    ['Σ fold training (s)', (m) => m.trainS, (v) => v.toFixed(1)],
    ['outside training', (m) => m.outside, (v) => `${(100 * v).toFixed(1)} %`],
    ['a task beyond its training (ms, median)', (m) => m.taskMs, (v) => v.toFixed(0)],
    ["each worker's first task beyond its training (ms)", (m) => m.firstTaskMs, (v) => v.toFixed(0)],
  ];
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');
  console.log(`${machineLine()} · load ${load(before)} before, ${load(after)} after (1 / 5 / 15 min)`);
  console.log(`grid ${grid}, ${workers} workers, ${repeat} pairs; A = ${baseDir || rev}, B = this checkout\n`);
  console.log('| measure | A (median) | B (median) | B ÷ A (median of pairs) |\n|---|---|---|---|');
  for (const [name, f, fmt] of rows) console.log(`| ${name} | ${fmt(med(f, 'A'))} | ${fmt(med(f, 'B'))} | ${ratio(f).toFixed(3)} |`);
  const auc = (side: 'A' | 'B') => pairs.map((pair) => pair[side].bestCvAuc?.toFixed(4) ?? '—').join(', ');
  console.log(`\nbest CV AUC: A ${auc('A')}; B ${auc('B')}`);
}

await main();
