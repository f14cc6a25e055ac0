/**
 * Dashboard speed with a large experiment: 500 runs × 5 folds × 50 epochs (6 metrics an epoch,
 * 750,000 metric points), seeded through the stores. Measures
 * - the experiment page rendered on the server (median of 20; Server-Timing and full response),
 * - /api curves for 10 runs (median of 20),
 * - the browser's time from navigation to every chart drawn (median of 5 loads, Chromium),
 * and writes the `dashboard` section of BENCHMARKS.md.
 *
 *   node --import tsx bench/dashboard.ts
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { launchChromium, waitForCharts, CHROMIUM } from '../test/helpers/browser.js';
import { startTestDashboard } from '../test/helpers/dashboard-server.js';
import { PacedRunner } from '../test/helpers/paced-runner.js';
import { seedExperiment, type SeededExperiment } from '../test/helpers/seed-db.js';
import { machineLine, median, writeSection } from './report.js';

const RUNS = 500;
const FOLDS = 5;
const EPOCHS = 50;
const SAMPLES = 20;
const BROWSER_LOADS = 5;

const round = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));

let seeded!: SeededExperiment;
let seedMs = 0;
const dash = await startTestDashboard({
  runner: new PacedRunner(),
  seed: (storage, { dataDir }) => {
    const started = performance.now();
    seeded = seedExperiment(storage, { name: 'bench-500', runs: RUNS, folds: FOLDS, epochs: EPOCHS, modelDataDir: dataDir, failed: 3 });
    seedMs = performance.now() - started;
  },
});

try {
  const pageUrl = `${dash.url}/experiments/${seeded.experimentId}`;
  // Storage keeps its handle private: count through a read-only handle of our own.
  const reader = new Database(join(dash.dataDir, 'foldwise.db'), { readonly: true });
  const points = (reader.prepare('SELECT count(*) AS n FROM metric_points').get() as { n: number }).n;
  reader.close();
  console.log(`seeded ${RUNS} runs × ${FOLDS} folds × ${EPOCHS} epochs (${points.toLocaleString('en-US')} points) in ${round(seedMs)} ms`);

  async function timeRequests(url: string, count: number): Promise<{ total: number[]; server: number[]; bytes: number }> {
    const total: number[] = [];
    const server: number[] = [];
    let bytes = 0;
    for (let i = 0; i < count + 2; i++) {
      const started = performance.now();
      const response = await fetch(url);
      const body = await response.arrayBuffer();
      const elapsed = performance.now() - started;
      if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
      if (i < 2) continue; // warm-up: template compilation, statement caches
      total.push(elapsed);
      const timing = /dur=([\d.]+)/.exec(response.headers.get('server-timing') ?? '');
      if (timing) server.push(Number(timing[1]));
      bytes = body.byteLength;
    }
    return { total, server, bytes };
  }

  const pageTimes = await timeRequests(pageUrl, SAMPLES);
  const top10 = dash.services.queries
    .leaderboard(seeded.experimentId)
    .runs.slice(0, 10)
    .map((run) => run.runId);
  const curveTimes = await timeRequests(
    `${dash.url}/api/experiments/${seeded.experimentId}/curves?runs=${top10.join(',')}&names=loss,val_auc`,
    SAMPLES,
  );
  const boardTimes = await timeRequests(`${dash.url}/api/experiments/${seeded.experimentId}/runs`, SAMPLES);
  console.log(
    `experiment page: server ${round(median(pageTimes.server))} ms, response ${round(median(pageTimes.total))} ` +
      `ms, ${Math.round(pageTimes.bytes / 1024)} kB`,
  );
  console.log(`curves of 10 runs: ${round(median(curveTimes.total))} ms, ${Math.round(curveTimes.bytes / 1024)} kB`);
  console.log(`leaderboard JSON: ${round(median(boardTimes.total))} ms, ${Math.round(boardTimes.bytes / 1024)} kB`);

  const chartTimes: number[] = [];
  if (existsSync(CHROMIUM)) {
    const browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto(pageUrl); // first load fills the cache with echarts.min.js, as for any returning user
    await waitForCharts(page);
    for (let i = 0; i < BROWSER_LOADS; i++) {
      await page.goto(pageUrl);
      await waitForCharts(page, 20_000);
      chartTimes.push(await page.evaluate(() => (window as unknown as { __foldwise: { chartsReadyAt: number } }).__foldwise.chartsReadyAt));
    }
    await browser.close();
    console.log(
      `charts drawn in the browser: ${round(median(chartTimes))} ms after navigation (loads: ${chartTimes.map(round).join(', ')})`,
    );
  } else {
    console.log(`no Chromium at ${CHROMIUM}: browser timing skipped`);
  }

  const verdict = (value: number, limit: number) => (value < limit ? `✓ < ${limit} ms` : `✗ over ${limit} ms`);
  const rows = [
    [
      'Experiment page, server (handler: queries + handlebars)',
      `${round(median(pageTimes.server))} ms`,
      verdict(median(pageTimes.server), 300),
    ],
    [
      'Experiment page, full response on loopback',
      `${round(median(pageTimes.total))} ms (${Math.round(pageTimes.bytes / 1024)} kB HTML)`,
      verdict(median(pageTimes.total), 300),
    ],
    [
      '`/api/…/curves` for the top 10 runs (loss, val_auc)',
      `${round(median(curveTimes.total))} ms (${Math.round(curveTimes.bytes / 1024)} kB)`,
      '',
    ],
    [
      '`/api/…/runs` leaderboard JSON (all 500 runs)',
      `${round(median(boardTimes.total))} ms (${Math.round(boardTimes.bytes / 1024)} kB)`,
      '',
    ],
    ...(chartTimes.length > 0
      ? [['Browser: navigation → all four charts drawn', `${round(median(chartTimes))} ms`, verdict(median(chartTimes), 2000)]]
      : [['Browser: navigation → all four charts drawn', 'not measured (no Chromium)', '']]),
  ];
  const markdown = [
    '## Dashboard',
    '',
    machineLine(),
    '',
    `One experiment of ${RUNS} runs × ${FOLDS} folds × ${EPOCHS} epochs (${points.toLocaleString('en-US')} metric ` +
      `points, seeded through the stores in ${(seedMs / 1000).toFixed(1)} s), ` +
      `served by \`createApp\` from a file database. Medians of ${SAMPLES} requests (after 2 warm-ups) and of ` +
      `${BROWSER_LOADS} page loads in Chromium (echarts.min.js cached after the first). ` +
      'The page fetches curves only for the 10 runs it plots. `node --import tsx bench/dashboard.ts`.',
    '',
    '| measure | median | target |',
    '|---|---|---|',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  writeSection('dashboard', markdown);
  console.log(`\n${markdown}`);
} finally {
  await dash.close();
}
