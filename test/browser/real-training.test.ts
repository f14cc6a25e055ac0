// End to end with real training: worker processes, TensorFlow.js, a tiny sine spec and a tiny CSV.
// The gate holds tasks until the page is connected, so the table is seen filling in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { WorkerPool } from '../../server/coordinator/worker-pool.js';
import { browserSkipReason, launchChromium, openPage } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { GatedRunner } from '../helpers/gated-runner.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);

const CSV_COLUMN = '<script>alert(1)</script>';
const SINE_SPEC = `name: real-sine
dataset: { kind: sine, rows: 200 }
task: regression
grid: { width: [4, 8], epochs: 3 }
validation: { kind: holdout }
selection: { metric: rmse }
`;

describe('real training in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  const gate = new GatedRunner(new WorkerPool({ size: 1 }));

  before(async () => {
    dash = await startTestDashboard({
      runner: gate,
      seed: (_storage, { experimentsDir }) => {
        const rows = Array.from({ length: 60 }, (_, i) => `${(i % 7) / 7},${(i % 5) / 5},${((i % 7) + (i % 5)) / 12}`);
        writeFileSync(join(experimentsDir, 'scripted.csv'), [`a,b,${CSV_COLUMN}`, ...rows].join('\n'));
      },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test('paste a tiny spec, watch it train live and refit its best, and download its model', async () => {
    const { page, problems, dialogs } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/new`);
    await page.locator('input[name=source][value=text]').check();
    await page.locator('#specText').fill(SINE_SPEC);
    await page.getByRole('button', { name: 'Validate and start' }).click();
    await page.waitForURL(/\/experiments\/\d+$/, { timeout: 60_000 });
    await page.waitForFunction(() => document.documentElement.dataset.live === 'connected');
    assert.equal(await page.locator('#leaderboard-rows .badge-done').count(), 0);
    gate.open();
    await page.waitForFunction(
      () => document.querySelectorAll('#leaderboard-rows .badge-done, #leaderboard-rows .badge-failed').length === 2,
      null,
      { timeout: 90_000 },
    );
    const errors = await page.locator('#leaderboard-rows .error-hint').evaluateAll((hints) => hints.map((h) => h.getAttribute('title')));
    assert.equal(await page.locator('#leaderboard-rows .badge-done').count(), 2, `runs failed: ${errors.join('; ')}`);
    await page.waitForFunction(() => document.querySelector('#chart-train canvas') !== null);

    // As `foldwise run` does, a search started here refits its best run at the end: no click needed.
    const testScore = page.locator('#refit .model-card .test-metric[data-metric="rmse"]');
    await testScore.waitFor({ timeout: 90_000 });
    assert.match((await testScore.textContent()) ?? '', /^\d+\.\d{4}$/);
    const href = await page.locator('#refit a', { hasText: 'model.json' }).getAttribute('href');
    const model = await page.request.get(new URL(href!, dash.url).href);
    assert.equal(model.status(), 200);
    const json = JSON.parse(await model.text());
    assert.ok(json.modelTopology && json.weightsManifest, 'a TensorFlow.js layers model');
    for (const name of ['preprocessing.json']) assert.equal(await page.locator('#refit a', { hasText: name }).count(), 1);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a CSV whose target column is named <script>… trains and shows the name as text', async () => {
    gate.open();
    const { page, problems, dialogs } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/new`);
    await page.locator('input[name=source][value=text]').check();
    await page
      .locator('#specText')
      .fill(
        `name: scripted-column\ndataset: { kind: csv, path: scripted.csv, target: "${CSV_COLUMN}" }\ntask: ` +
          `regression\ngrid: { width: [4], epochs: 3 }\nvalidation: { kind: holdout }\n`,
      );
    await page.getByRole('button', { name: 'Validate and start' }).click();
    await page.waitForURL(/\/experiments\/\d+$/, { timeout: 60_000 });
    assert.match((await page.locator('.facts').textContent()) ?? '', /target <script>alert\(1\)<\/script>/);
    await page.waitForFunction(() => document.querySelectorAll('#leaderboard-rows .badge-done').length === 1, null, { timeout: 90_000 });
    assert.deepEqual(dialogs, []);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
