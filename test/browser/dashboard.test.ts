import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchChromium, openPage as openBrowserPage, waitForCharts } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { GatedRunner } from '../helpers/gated-runner.js';
import { PacedRunner } from '../helpers/paced-runner.js';
import { seedExperiment, type SeededExperiment } from '../helpers/seed-db.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);

const XSS_NAME = '<script>window.__pwned=1</script>';
const CSV_COLUMN = '<script>alert(1)</script>';

// A scripted runner (real curves' shapes, no TensorFlow) paced at 20 ms an epoch, behind a gate so
// the page is open before anything trains. Real training in the browser: real-training.test.ts.
const LIVE_SPEC = `name: live-sine
description: Tiny sine regression started from the browser.
dataset: { kind: sine, rows: 400 }
task: regression
grid: { width: [4, 8, 16], epochs: 25 }
validation: { kind: holdout, earlyStopping: { monitor: val_loss, patience: 25 } }
selection: { metric: rmse }
seed: 3
`;

describe('dashboard in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  let grid: SeededExperiment;
  const gate = new GatedRunner(new PacedRunner({ epochDelayMs: 20, concurrency: 2 }));

  /** A fresh page; relaunches Chromium if something outside the test ended it. */
  async function openPage(_browser: Browser) {
    if (!browser.isConnected()) browser = await launchChromium();
    return openBrowserPage(browser);
  }

  before(async () => {
    dash = await startTestDashboard({
      runner: gate,
      seed: (storage, { dataDir, experimentsDir }) => {
        grid = seedExperiment(storage, { name: 'grid', runs: 24, folds: 3, epochs: 12, earlyStop: true, failed: 1, modelDataDir: dataDir });
        seedExperiment(storage, {
          name: 'xss',
          rowName: XSS_NAME,
          description: '<img src=x onerror=alert(2)>',
          csvTarget: CSV_COLUMN,
          runs: 2,
          folds: 2,
          epochs: 3,
        });
        writeFileSync(join(experimentsDir, 'live-sine.yaml'), LIVE_SPEC);
        const rows = Array.from({ length: 80 }, (_, i) => `${(i % 7) / 7},${(i % 5) / 5},${((i % 7) + (i % 5)) / 12}`);
        writeFileSync(join(experimentsDir, 'scripted.csv'), [`a,b,${CSV_COLUMN}`, ...rows].join('\n'));
      },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test('the list opens an experiment whose page draws its curves, parallel coordinates and complexity chart', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/`);
    await page.getByRole('link', { name: 'grid', exact: true }).click();
    await page.waitForURL(`${dash.url}/experiments/${grid.experimentId}`);
    await waitForCharts(page);
    for (const id of ['chart-train', 'chart-val', 'chart-parallel', 'chart-complexity']) {
      assert.equal(await page.locator(`#${id} canvas`).count(), 1, `${id} drew a canvas`);
    }
    assert.match((await page.locator('#curve-caption').textContent()) ?? '', /top 5 runs/);
    assert.equal(await page.locator('#leaderboard-rows .swatch').count(), 5, 'the plotted runs carry their colour');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('the leaderboard sorts by any column, both ways, on the server', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${grid.experimentId}`);
    await waitForCharts(page);
    const header = () => page.locator('#leaderboard-head th', { hasText: 'Parameters' });
    const index = await header().evaluate((th) => (th as HTMLTableCellElement).cellIndex);
    const counts = async () =>
      (
        await page.$$eval(
          '#leaderboard-rows tr',
          (rows, i) => rows.map((row) => (row as HTMLTableRowElement).cells[i]!.textContent!),
          index,
        )
      )
        .filter((text) => text !== '—')
        .map((text) => Number(text.replaceAll(',', '')));
    await header().locator('a.sort').click();
    await page.waitForFunction(() => document.querySelector('#leaderboard-head th[aria-sort]')?.textContent?.includes('Parameters'));
    const ascending = await counts();
    assert.deepEqual(
      ascending,
      [...ascending].sort((a, b) => a - b),
    );
    assert.equal(await header().getAttribute('aria-sort'), 'ascending');
    assert.match(page.url(), /\?sort=paramCount#leaderboard-card$/, 'the address keeps the sort');
    await header().locator('a.sort').click();
    await page.waitForFunction(() => document.querySelector('#leaderboard-head th[aria-sort]')?.getAttribute('aria-sort') === 'descending');
    assert.deepEqual(
      await counts(),
      [...ascending].sort((a, b) => b - a),
    );
    // The score column sorts best first on the first click.
    await page.locator('#leaderboard-head th', { hasText: 'mean ± std' }).locator('a.sort').click();
    await page.waitForURL(/sort=score/);
    assert.equal(await page.locator('#leaderboard-rows tr').first().getAttribute('data-run-id'), String(grid.bestRunId));
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('pick two runs: their curves are plotted, then Compare shows them side by side', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${grid.experimentId}`);
    await waitForCharts(page);
    const [a, b] = [grid.runIds[3]!, grid.runIds[7]!];
    await page.locator(`#leaderboard-rows tr[data-run-id="${a}"] .run-select`).check();
    await page.locator(`#leaderboard-rows tr[data-run-id="${b}"] .run-select`).check();
    await page.waitForFunction(() => /2 runs ticked/.test(document.querySelector('#curve-caption')?.textContent ?? ''));
    assert.equal(await page.locator('#leaderboard-rows .swatch').count(), 2);
    const link = page.locator('#compare-link');
    assert.equal(await link.textContent(), 'Compare 2 runs');
    await link.click();
    await page.waitForURL(/\/compare\?runs=/);
    assert.ok(page.url().endsWith(`/experiments/${grid.experimentId}/compare?runs=${a},${b}`));
    await waitForCharts(page);
    assert.equal(await page.locator('#compare-table thead th').count(), 3);
    assert.ok((await page.locator('#compare-table tr.differs').count()) >= 1);
    await page.locator('#only-diff').check();
    assert.equal(await page.locator('#compare-table tr.same').first().isVisible(), false);
    assert.equal(await page.locator('#chart-train canvas').count(), 1);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a run page shows hyperparameters, per-fold curves with best and stopping epochs, and its folds', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${grid.experimentId}`);
    await page.locator(`#leaderboard-rows a[href$="/runs/${grid.bestRunId}"]`).click();
    await page.waitForURL(`${dash.url}/experiments/${grid.experimentId}/runs/${grid.bestRunId}`);
    await waitForCharts(page);
    assert.match((await page.locator('h1').textContent()) ?? '', new RegExp(`Run #${grid.bestRunId}`));
    assert.equal(await page.locator('#fold-table tbody tr').count(), 3);
    assert.equal(await page.locator('#metric-select').inputValue(), 'val_auc');
    assert.equal(await page.locator('#chart-loss canvas').count(), 1);
    await page.locator('#metric-select').selectOption('val_accuracy');
    assert.equal(await page.locator('#metric-caption').textContent(), 'validation accuracy');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('start an experiment from a spec file and watch its table fill in live; then its best is refitted with a test score', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/new`);
    await page.locator('#specFile').selectOption('live-sine.yaml');
    await page.waitForFunction(() => !document.querySelector('#spec-preview')?.hasAttribute('hidden'));
    assert.match((await page.locator('#spec-preview').textContent()) ?? '', /name: live-sine/);
    await page.getByRole('button', { name: 'Validate and start' }).click();
    await page.waitForURL(/\/experiments\/\d+$/, { timeout: 30_000 });
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    await page.waitForFunction(() => document.documentElement.dataset.live === 'connected');
    assert.equal(await page.locator('#leaderboard-rows tr').count(), 3);
    assert.equal(await page.locator('#leaderboard-rows .badge-done').count(), 0, 'nothing trained yet: the gate holds the tasks');
    assert.match((await page.locator('#best-card').textContent()) ?? '', /No run has finished yet/);
    gate.open();
    await page.waitForFunction(() => document.querySelectorAll('#leaderboard-rows .badge-done').length === 3, null, { timeout: 90_000 });
    await page.waitForFunction(() => /^\d\.\d{4}$/.test(document.querySelector('#best-score')?.textContent ?? ''), null, { timeout: 5000 });
    await page.waitForFunction(
      () => document.querySelector('#chart-train canvas') !== null && document.querySelector('#chart-parallel canvas') !== null,
      null,
      { timeout: 5000 },
    );
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true, 'filled in without a reload');
    assert.equal(await page.locator('#leaderboard-rows tr.is-best').count(), 1);

    // As `foldwise run` does, a search started here refits its best run at the end: no click needed.
    const testScore = page.locator('#refit .model-card .test-metric[data-metric="rmse"]');
    await testScore.waitFor({ timeout: 60_000 });
    assert.match((await testScore.textContent()) ?? '', /^\d+\.\d{4}$/);
    // Beside the validation estimate, which a holdout gives without a spread: one split, no "± 0.0000".
    const estimates = await page.locator('#refit .metrics-table tbody td:nth-child(2)').allTextContents();
    assert.ok(estimates.length > 0 && estimates.every((text) => /^-?\d+\.\d{4}$/.test(text.trim())), estimates.join(' | '));
    const download = page.locator('#refit a', { hasText: 'model.json' });
    const response = await page.request.get(new URL((await download.getAttribute('href'))!, dash.url).href);
    assert.equal(response.status(), 200);
    assert.match(await response.text(), /modelTopology|weightsManifest/);
    assert.match((await page.locator('#best-card .model-where').textContent()) ?? '', /Refit model in/);
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a name or a CSV column containing <script> shows as text and runs nothing', async () => {
    gate.open();
    const { page, problems, dialogs } = await openPage(browser);
    await page.goto(`${dash.url}/`);
    assert.equal(await page.getByRole('link', { name: XSS_NAME }).count(), 1);
    await page.getByRole('link', { name: XSS_NAME }).click();
    await waitForCharts(page);
    assert.equal(await page.locator('h1').textContent(), XSS_NAME);
    assert.match((await page.locator('.facts').textContent()) ?? '', /target <script>alert\(1\)<\/script>/);

    // A real CSV whose target column is called <script>…, started from pasted YAML.
    await page.goto(`${dash.url}/experiments/new`);
    await page.locator('input[name=source][value=text]').check();
    await page
      .locator('#specText')
      .fill(
        `name: scripted-column\ndataset: { kind: csv, path: scripted.csv, target: "${CSV_COLUMN}" }\ntask: ` +
          `regression\ngrid: { width: [4], epochs: 3 }\nvalidation: { kind: holdout }\n`,
      );
    await page.getByRole('button', { name: 'Validate and start' }).click();
    await page.waitForURL(/\/experiments\/\d+$/, { timeout: 30_000 });
    assert.match((await page.locator('.facts').textContent()) ?? '', /target <script>alert\(1\)<\/script>/);
    await page.waitForFunction(() => document.querySelectorAll('#leaderboard-rows .badge-done').length === 1, null, { timeout: 60_000 });

    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.deepEqual(dialogs, [], 'no alert() ran');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('screenshots of every page (saved for a look, not compared)', async () => {
    const { page, problems } = await openPage(browser);
    const shots: [string, string][] = [
      ['experiments', '/'],
      ['experiment', `/experiments/${grid.experimentId}`],
      ['run', `/experiments/${grid.experimentId}/runs/${grid.bestRunId}`],
      ['compare', `/experiments/${grid.experimentId}/compare?runs=${grid.runIds.slice(0, 3).join(',')}`],
      ['new-experiment', '/experiments/new'],
    ];
    for (const [name, path] of shots) {
      await page.goto(dash.url + path);
      if (name !== 'experiments' && name !== 'new-experiment') await waitForCharts(page);
      await page.screenshot({ path: join(process.env.FOLDWISE_SCREENSHOTS ?? '/tmp', `foldwise-${name}.png`), fullPage: true });
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
});
