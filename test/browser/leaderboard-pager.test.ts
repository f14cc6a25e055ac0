/**
 * The leaderboard a page at a time in Chromium (issue 12 item 7): the pager, the server-side sort
 * and the status filter swap the rows in and keep them in the address (back and forward too);
 * ticked runs stay ticked across pages; a live search refreshes the page on show, never the whole
 * leaderboard's JSON, with the best row, the tied marks and the provisional "(1/2 folds)" ranking.
 * Screenshots with FOLDWISE_SCREENSHOTS=DIR.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium, openPage, waitForCharts } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { GatedRunner } from '../helpers/gated-runner.js';
import { PacedRunner } from '../helpers/paced-runner.js';
import { seedExperiment, type SeededExperiment } from '../helpers/seed-db.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);
const SHOTS = process.env.FOLDWISE_SCREENSHOTS ?? null;

// 60 runs × 2 folds: a second page of 10 rows, and folds that train in waves (a provisional ranking between).
const LIVE_SPEC = `name: live-pages
dataset: { kind: fraud, rows: 300 }
grid: { width: [4, 8, 16, 32, 64], depth: [1, 2, 3], learningRate: [0.001, 0.003, 0.01, 0.03] }
model: { epochs: 3 }
validation: { kind: kfold, k: 2 }
selection: { metric: auc }
seed: 5
`;

/** Every leaderboard JSON the page asks for that is not the charts' sample: there must be none. */
function watchLeaderboardRequests(page: Page): string[] {
  const whole: string[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (/^\/api\/experiments\/\d+\/runs$/.test(url.pathname) && !url.searchParams.has('sample')) whole.push(url.href);
  });
  return whole;
}

const pagerText = async (page: Page) => ((await page.locator('#leaderboard-pager').textContent()) ?? '').replace(/\s+/g, ' ');
const rowIds = (page: Page) => page.$$eval('#leaderboard-rows tr', (trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.runId)));

describe('the leaderboard pager in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  let many: SeededExperiment;
  const gate = new GatedRunner(new PacedRunner({ epochDelayMs: 15, concurrency: 2 }));

  before(async () => {
    dash = await startTestDashboard({
      runner: gate,
      seed: (storage) => {
        many = seedExperiment(storage, { name: 'many', runs: 130, folds: 3, epochs: 4, failed: 3 });
      },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test(
    'next, previous, sort and filter swap the rows in and keep them in the address; ' + 'ticks stay across pages; back goes back',
    async () => {
      const { page, problems } = await openPage(browser);
      const whole = watchLeaderboardRequests(page);
      await page.goto(`${dash.url}/experiments/${many.experimentId}`);
      await waitForCharts(page);
      assert.equal((await rowIds(page)).length, 50);
      assert.match(await pagerText(page), /Rows 1–50 of 130 · page 1 of 3/);
      assert.equal(await page.locator('#leaderboard-rows tr.is-best .tag.best').count(), 1, 'the best row is marked');
      assert.ok((await page.locator('#leaderboard-rows .tag.tied').count()) > 0, 'runs tied with the best are marked');
      const firstPage = await rowIds(page);
      await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));

      await page.locator('#leaderboard-pager a[rel=next]').click();
      await page.waitForFunction(() => /Rows 51–100/.test(document.querySelector('#leaderboard-pager')?.textContent ?? ''));
      assert.match(page.url(), /\?page=2#leaderboard-card$/);
      assert.equal(await page.locator('#leaderboard-rows tr').first().locator('td.rank').textContent(), '51');
      const secondPage = await rowIds(page);
      await page.locator(`#leaderboard-rows tr[data-run-id="${secondPage[0]}"] .run-select`).check();
      await page.locator('#leaderboard-pager a[rel=prev]').click();
      await page.waitForFunction(() => /Rows 1–50/.test(document.querySelector('#leaderboard-pager')?.textContent ?? ''));
      await page.locator(`#leaderboard-rows tr[data-run-id="${firstPage[3]}"] .run-select`).check();
      assert.equal(await page.locator('#compare-link').textContent(), 'Compare 2 runs');
      assert.match((await page.locator('#compare-link').getAttribute('href'))!, new RegExp(`runs=${secondPage[0]},${firstPage[3]}$`));
      await page.locator('#leaderboard-pager a[rel=next]').click();
      await page.waitForFunction(() => /Rows 51–100/.test(document.querySelector('#leaderboard-pager')?.textContent ?? ''));
      assert.equal(await page.locator(`#leaderboard-rows tr[data-run-id="${secondPage[0]}"] .run-select`).isChecked(), true);

      await page.locator('#leaderboard-head th', { hasText: 'Run' }).locator('a.sort').click();
      await page.waitForURL(/\?sort=number#leaderboard-card$/);
      const numbers = await page.$$eval('#leaderboard-rows tr .run-select', (boxes) => boxes.map((box) => box.getAttribute('aria-label')));
      assert.deepEqual(numbers.slice(0, 3), ['Select run 1', 'Select run 2', 'Select run 3'], 'sorted by run number, back on page 1');

      await page.selectOption('#leaderboard-filter select[name=status]', 'failed');
      await page.waitForURL(/status=failed/);
      assert.equal((await rowIds(page)).length, 3);
      assert.match(await pagerText(page), /Rows 1–3 of 3 \(of 130 runs\)/);
      assert.match(page.url(), /sort=number/, 'the filter keeps the sort');
      if (SHOTS) await page.locator('#leaderboard-card').screenshot({ path: join(SHOTS, 'foldwise-leaderboard-failed.png') });

      await page.goBack();
      await page.waitForFunction(() => document.querySelectorAll('#leaderboard-rows tr').length === 50);
      assert.match(page.url(), /\?sort=number#leaderboard-card$/);
      assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), true, 'no reload');
      assert.deepEqual(whole, [], 'the page never asked for the whole leaderboard');
      assert.deepEqual(problems, []);
      await page.close();
    },
  );

  test('a live search refreshes the page on show (its second page), with provisional ranks while folds train in waves', async () => {
    const created = await fetch(`${dash.url}/api/experiments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ specText: LIVE_SPEC }),
    });
    assert.equal(created.status, 201);
    const { experiment } = (await created.json()) as { experiment: { experimentId: number } };
    // Two tabs open before anything trains: the first page and the second.
    const tabs = await Promise.all([openPage(browser), openPage(browser)]);
    const [first, second] = tabs.map((tab) => tab.page) as [Page, Page];
    const whole = [...watchLeaderboardRequests(first), ...watchLeaderboardRequests(second)];
    await first.goto(`${dash.url}/experiments/${experiment.experimentId}`);
    await second.goto(`${dash.url}/experiments/${experiment.experimentId}?page=2`);
    for (const tab of [first, second]) {
      await tab.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
      await tab.waitForFunction(() => document.documentElement.dataset.live === 'connected');
    }
    assert.equal((await rowIds(second)).length, 10);
    assert.match(await pagerText(second), /Rows 51–60 of 60 · page 2 of 2/);

    gate.open();
    // The first wave trains every run's first fold: the runs with one are ranked provisionally, apart from the finished.
    await first.waitForSelector('#leaderboard-rows .provisional .folds', { timeout: 60_000 });
    assert.match((await first.locator('#leaderboard-rows .provisional .folds').first().textContent())!, /^\(1\/2 folds\)$/);
    await second.waitForFunction(() => document.querySelectorAll('#leaderboard-rows .badge-done').length === 10, null, { timeout: 90_000 });
    await second.waitForFunction(() => document.querySelector('#leaderboard-rows td.rank')?.textContent === '51', null, {
      timeout: 10_000,
    });
    const ranks = await second.$$eval('#leaderboard-rows td.rank', (cells) => cells.map((cell) => cell.textContent));
    assert.deepEqual(
      ranks,
      Array.from({ length: 10 }, (_, i) => String(51 + i)),
      'the second page shows ranks 51 to 60 once every run finished',
    );
    assert.match(second.url(), /\?page=2$/);
    for (const tab of [first, second]) {
      assert.equal(
        await tab.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload),
        true,
        'filled in without a reload',
      );
    }
    await first.waitForFunction(() => document.querySelectorAll('#leaderboard-rows tr.is-best').length === 1);
    if (SHOTS) await second.locator('#leaderboard-card').screenshot({ path: join(SHOTS, 'foldwise-leaderboard-live-page-2.png') });
    assert.deepEqual(whole, [], 'live refreshes ask for the rows on show, never the whole leaderboard');
    for (const tab of tabs) {
      assert.deepEqual(tab.problems, []);
      await tab.page.close();
    }
  });
});
