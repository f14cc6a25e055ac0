import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchChromium, openPage } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { PacedRunner } from '../helpers/paced-runner.js';

const skip = browserSkipReason();
/** Screenshots of the pages this test changes, for people to look at: FOLDWISE_SCREENSHOTS=DIR. */
const SHOTS = process.env.FOLDWISE_SCREENSHOTS ?? null;

const SPEC = `name: browser-stop
description: Stopped and resumed from the page.
dataset: { kind: fraud, rows: 400, features: 4 }
grid: { depth: [1, 2, 3], width: [4, 8] }
model: { epochs: 30 }
validation: { kind: kfold, k: 3 }
seed: 2
`;

describe('Stop, Resume and the provisional ranking in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;

  before(async () => {
    dash = await startTestDashboard({ runner: new PacedRunner({ epochDelayMs: 25, concurrency: 2 }) });
    browser = await launchChromium();
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test('the list follows a new search live; its page ranks unfinished runs apart, Stop interrupts, Resume finishes, refits', async () => {
    const { page, problems, dialogs } = await openPage(browser);
    await page.goto(`${dash.url}/`);
    await page.waitForFunction(() => document.documentElement.dataset.live === 'connected');

    // Started elsewhere (the API): the list, open already, shows it without a reload of ours.
    const started = await fetch(`${dash.url}/api/experiments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: dash.url },
      body: JSON.stringify({ specText: SPEC }),
    });
    assert.equal(started.status, 201);
    const id = ((await started.json()) as any).experiment.experimentId as number;
    await page.waitForSelector(`#experiment-rows tr[data-experiment-id="${id}"] .badge-running`, { timeout: 10_000 });
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'experiments-live.png'), fullPage: true });

    await page.goto(`${dash.url}/experiments/${id}`);
    // The first wave: unfinished runs ranked in brackets with their folds, a leader named in the best card.
    await page.waitForSelector('#leaderboard-rows .rank .provisional', { timeout: 10_000 });
    await page.waitForSelector('#leading-run', { timeout: 10_000 });
    assert.match(
      (await page.textContent('#leading-run'))!,
      /Leading so far: run #\d+, \d\.\d{4}( ± \d\.\d{4})? \(\d\/3 folds; provisional\)/,
    );
    const firstRank = await page.textContent('#leaderboard-rows tr:first-child .rank');
    assert.ok(firstRank === '(1)' || firstRank === '1', `first row's rank: ${firstRank}`);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'experiment-provisional.png'), fullPage: true });

    await page.click('form[data-action="stop"] button');
    await page.waitForSelector('#experiment-summary .badge-interrupted', { timeout: 10_000 });
    await page.waitForSelector('form[data-action="resume"] button');
    assert.equal(await page.$('form[data-action="stop"]'), null, 'no Stop once stopped');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'experiment-stopped.png'), fullPage: true });

    await page.click('form[data-action="resume"] button');
    await page.waitForSelector('#experiment-summary .badge-done', { timeout: 30_000 });
    // As `foldwise run` does: the best run is refitted at the end, and the panel shows its model.
    await page.waitForSelector('#refit .model-card', { timeout: 30_000 });
    assert.equal(await page.$('form[data-action="resume"]'), null, 'nothing to resume once done');
    await page.waitForFunction(() => document.querySelector('form[data-action="stop"]') === null, null, { timeout: 5000 });
    assert.equal(await page.$('#leaderboard-rows .provisional'), null, 'every run finished: no provisional rank left');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'experiment-resumed.png'), fullPage: true });

    assert.deepEqual(problems, []);
    assert.deepEqual(dialogs, []);
    await page.close();
  });
});
