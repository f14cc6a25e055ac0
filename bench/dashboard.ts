/**
 * Dashboard speed with a large experiment, seeded through the stores:
 * - by default 500 runs × 5 folds × 50 epochs over a grid (6 metrics an epoch, 750,000 points);
 * - `--runs 10000`: a random search over a `space` (so the search views have ranges to plot),
 *   10,000 runs × 5 folds × 20 epochs (6,000,000 points), a few runs tagged.
 * Measures, as medians of several requests after 2 warm-ups:
 * - the experiment page rendered on the server (Server-Timing: queries + handlebars) and in full,
 * - the leaderboard API: its first page, a page sorted by another column and filtered, and the
 *   charts' sample of it; /api curves for 10 runs; the trials of the search views,
 * - the experiments list (page and JSON),
 * - the browser's time from navigation to every chart drawn (Chromium),
 * and writes the `dashboard` section of BENCHMARKS.md (`dashboard-10000` with `--runs 10000`).
 *
 *   node --import tsx bench/dashboard.ts [--runs 10000] [--samples 20] [--no-browser] [--no-write]
 *
 * `--no-write` prints the section instead of writing it: for looking for hot spots on a busy
 * machine, whose figures are not the benchmark's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { launchChromium, waitForCharts, CHROMIUM } from '../test/helpers/browser.js';
import { startTestDashboard } from '../test/helpers/dashboard-server.js';
import { PacedRunner } from '../test/helpers/paced-runner.js';
import { seedExperiment, type SeededExperiment } from '../test/helpers/seed-db.js';
import { CHART_SAMPLE, WHOLE_LEADERBOARD } from '../server/services/leaderboard-page.js';
import { machineLine, median, writeSection } from './report.js';

type Options = { runs: number; samples: number; browser: boolean; write: boolean };

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { runs: 500, samples: 20, browser: true, write: true };
  const usage = 'expected --runs N, --samples N, --no-browser, --no-write';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const count = () => {
      const text = argv[++i];
      const value = Number(text);
      if (!Number.isInteger(value) || value <= 0) throw new Error(`${arg}: expected a positive whole number, got ${text ?? 'nothing'}`);
      return value;
    };
    if (arg === '--runs') options.runs = count();
    else if (arg === '--samples') options.samples = count();
    else if (arg === '--no-browser') options.browser = false;
    else if (arg === '--no-write') options.write = false;
    else throw new Error(`unknown argument ${arg}; ${usage}`);
  }
  return options;
}

let options: Options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

const RUNS = options.runs;
// Past the grid's 500 runs: a sampled search, with fewer epochs so the seed stays a minute or so.
const SAMPLED = RUNS > 500;
const FOLDS = 5;
const EPOCHS = SAMPLED ? 20 : 50;
const SAMPLES = options.samples;
const BROWSER_LOADS = 5;
/** Runs tagged `bench-tag` (every 97th), for the filtered leaderboard request. */
const TAG_EVERY = 97;
const PAGE_SIZE = 50;

const round = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
const kB = (bytes: number) => `${bytes < 10_240 ? (bytes / 1024).toFixed(1) : Math.round(bytes / 1024)} kB`;

let seeded!: SeededExperiment;
let seedMs = 0;
const dash = await startTestDashboard({
  runner: new PacedRunner(),
  seed: (storage, { dataDir }) => {
    const started = performance.now();
    seeded = seedExperiment(storage, {
      name: `bench-${RUNS}`,
      runs: RUNS,
      folds: FOLDS,
      epochs: EPOCHS,
      sampled: SAMPLED,
      modelDataDir: dataDir,
      failed: 3,
    });
    storage.batch(() =>
      seeded.runIds.forEach((runId, index) => {
        if (index % TAG_EVERY === 0) storage.notes.setRun(runId, { note: '', tags: ['bench-tag'] });
      }),
    );
    seedMs = performance.now() - started;
  },
});

/** Times of `count` requests after 2 warm-ups, and of the first (the server's caches cold: templates, statements, run snapshots). */
type Timed = { readonly total: number[]; readonly server: number[]; readonly bytes: number; readonly first: number };

/** The handler's own time from a page's Server-Timing header (page-routes.ts), or null where it sends none. */
function serverTimeMs(response: Response): number | null {
  const timing = /dur=([\d.]+)/.exec(response.headers.get('server-timing') ?? '');
  return timing ? Number(timing[1]) : null;
}

async function timeRequests(url: string, count: number): Promise<Timed> {
  const total: number[] = [];
  const server: number[] = [];
  let bytes = 0;
  let first = 0;
  for (let i = 0; i < count + 2; i++) {
    const started = performance.now();
    const response = await fetch(url);
    const body = await response.arrayBuffer();
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${Buffer.from(body).toString().slice(0, 200)}`);
    if (i === 0) first = elapsed;
    if (i < 2) continue; // warm-up: template compilation, statement caches
    total.push(elapsed);
    const serverMs = serverTimeMs(response);
    if (serverMs !== null) server.push(serverMs);
    bytes = body.byteLength;
  }
  return { total, server, bytes, first };
}

try {
  const id = seeded.experimentId;
  const api = `${dash.url}/api/experiments/${id}`;
  const pageUrl = `${dash.url}/experiments/${id}`;
  // Storage keeps its handle private: count through a read-only handle of our own.
  const reader = new Database(join(dash.dataDir, 'foldwise.db'), { readonly: true });
  const points = (reader.prepare('SELECT count(*) AS n FROM metric_points').get() as { n: number }).n;
  reader.close();
  const shape = `${RUNS.toLocaleString('en-US')} runs × ${FOLDS} folds × ${EPOCHS} epochs${SAMPLED ? ' (random search over a space)' : ''}`;
  console.log(`seeded ${shape} (${points.toLocaleString('en-US')} points) in ${round(seedMs)} ms`);

  // Thunks: the curves' URL reads the top runs, which would warm the server before the page's first request.
  const top10 = () => dash.services.queries.page(id, { ...WHOLE_LEADERBOARD, page: 1, pageSize: 10 }, null).runs.map((run) => run.runId);
  const requests: [label: string, url: string | (() => string)][] = [
    ['Experiment page', pageUrl],
    [`\`/api/…/runs?pageSize=${PAGE_SIZE}\` leaderboard, first page`, `${api}/runs?page=1&pageSize=${PAGE_SIZE}`],
    [
      '`/api/…/runs` page 3 sorted by parameters, done runs only',
      `${api}/runs?page=3&pageSize=${PAGE_SIZE}&sort=paramCount&order=desc&status=done`,
    ],
    ['`/api/…/runs?tag=` leaderboard filtered by a tag', `${api}/runs?page=1&pageSize=${PAGE_SIZE}&tag=bench-tag`],
    [`\`/api/…/runs?sample=${CHART_SAMPLE}\` the charts' sample`, `${api}/runs?sample=${CHART_SAMPLE}`],
    ['`/api/…/curves` for the top 10 runs (loss, val_auc)', () => `${api}/curves?runs=${top10().join(',')}&names=loss,val_auc`],
    ['`/api/…/trials` the search views', `${api}/trials`],
    ['Experiments list page', `${dash.url}/`],
    ['`/api/experiments` the experiments list', `${dash.url}/api/experiments`],
  ];
  const timed = new Map<string, Timed>();
  for (const [label, url] of requests) {
    const times = await timeRequests(typeof url === 'string' ? url : url(), SAMPLES);
    timed.set(label, times);
    const server = times.server.length > 0 ? `server ${round(median(times.server))} ms, ` : '';
    console.log(`${label}: ${server}response ${round(median(times.total))} ms (first ${round(times.first)} ms), ${kB(times.bytes)}`);
  }

  // A live search changes the runs with every fold it finishes, and the next read rebuilds the
  // snapshot (runs and folds read, selection and rows derived). Raise the counter as a writer's
  // trigger does, without changing a row, and time the page's server side after each raise.
  const writer = new Database(join(dash.dataDir, 'foldwise.db'));
  const raise = writer.prepare('UPDATE experiments SET runs_version = runs_version + 1 WHERE experiment_id = ?');
  const afterChange: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    raise.run(id);
    const response = await fetch(pageUrl);
    await response.arrayBuffer();
    const serverMs = serverTimeMs(response);
    if (serverMs !== null) afterChange.push(serverMs);
  }
  writer.close();
  console.log(`Experiment page after a change to the runs: server ${round(median(afterChange))} ms`);

  const chartTimes: number[] = [];
  if (options.browser && existsSync(CHROMIUM)) {
    const browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto(pageUrl); // first load fills the cache with echarts.min.js, as for any returning user
    await waitForCharts(page, 60_000);
    for (let i = 0; i < BROWSER_LOADS; i++) {
      await page.goto(pageUrl);
      await waitForCharts(page, 60_000);
      chartTimes.push(await page.evaluate(() => (window as unknown as { __foldwise: { chartsReadyAt: number } }).__foldwise.chartsReadyAt));
    }
    await browser.close();
    console.log(
      `charts drawn in the browser: ${round(median(chartTimes))} ms after navigation (loads: ${chartTimes.map(round).join(', ')})`,
    );
  } else {
    console.log(options.browser ? `no Chromium at ${CHROMIUM}: browser timing skipped` : 'browser timing skipped (--no-browser)');
  }

  const verdict = (value: number, limit: number) => (value <= limit ? `✓ ≤ ${limit} ms` : `✗ over ${limit} ms`);
  const page = timed.get('Experiment page')!;
  const rows = [
    ['Experiment page, server (handler: queries + handlebars)', `${round(median(page.server))} ms`, verdict(median(page.server), 300)],
    [
      'Experiment page, full response on loopback',
      `${round(median(page.total))} ms (${kB(page.bytes)} HTML)`,
      verdict(median(page.total), 300),
    ],
    [
      'Experiment page, server, after a change to the runs (snapshot rebuilt, as during a live search)',
      `${round(median(afterChange))} ms`,
      verdict(median(afterChange), 300),
    ],
    ['Experiment page, first request of the process (runs read and ranked, templates compiled)', `${round(page.first)} ms`, ''],
    ...requests.slice(1).map(([label]) => [label, `${round(median(timed.get(label)!.total))} ms (${kB(timed.get(label)!.bytes)})`, '']),
    ...(chartTimes.length > 0
      ? [['Browser: navigation → all charts drawn', `${round(median(chartTimes))} ms`, verdict(median(chartTimes), 2000)]]
      : [['Browser: navigation → all charts drawn', 'not measured', '']]),
  ];
  const command = `node --import tsx bench/dashboard.ts${RUNS === 500 ? '' : ` --runs ${RUNS}`}`;
  const markdown = [
    `## Dashboard${RUNS === 500 ? '' : `, ${RUNS.toLocaleString('en-US')} runs`}`,
    '',
    machineLine(),
    '',
    `One experiment of ${shape}: ${points.toLocaleString('en-US')} metric points, seeded through the stores in ` +
      `${(seedMs / 1000).toFixed(1)} s, served by \`createApp\` from a file database. Medians of ${SAMPLES} requests ` +
      `(after 2 warm-ups)${chartTimes.length > 0 ? ` and of ${BROWSER_LOADS} page loads in Chromium ` : ''}` +
      `${chartTimes.length > 0 ? '(echarts.min.js cached after the first)' : ''}. ` +
      `The page renders one leaderboard page of ${PAGE_SIZE} rows and fetches curves only for the runs it plots. \`${command}\`.`,
    '',
    '| measure | median | target |',
    '|---|---|---|',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  if (options.write) writeSection(RUNS === 500 ? 'dashboard' : `dashboard-${RUNS}`, markdown);
  console.log(`\n${markdown}`);
} finally {
  await dash.close();
}
