/**
 * The search views and notes in Chromium (issue 12 item 6): a TPE experiment's page draws the
 * optimisation history (trial or time), slices with log axes for log ranges, and the importance
 * bars; notes and tags written on a run's page show in the leaderboard, and the tag filter narrows
 * it. Screenshots with FOLDWISE_SCREENSHOTS=DIR.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium, openPage, waitForCharts } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { searchTpe, tpeRunner } from '../helpers/tpe-experiment.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);
const SHOTS = process.env.FOLDWISE_SCREENSHOTS ?? null;

type Drawn = { xAxes: { type: string; name: string }[]; series: { name: string; type: string; points: number }[] } | null;

/** What an ECharts instance draws: its x axes and its series with their point counts. */
function drawn(page: Page, id: string): Promise<Drawn> {
  return page.evaluate((elementId) => {
    const instance = (window as any).echarts.getInstanceByDom(document.getElementById(elementId));
    if (!instance) return null;
    const option = instance.getOption();
    return {
      xAxes: option.xAxis.map((a: any) => ({ type: a.type, name: a.name })),
      series: option.series.map((s: any) => ({ name: s.name, type: s.type, points: s.data.length })),
    };
  }, id);
}

const viewsReady = (page: Page) =>
  page.waitForFunction(() => document.documentElement.dataset.searchViewsReady === 'true', null, { timeout: 10_000 });

describe('search views and notes in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  let id: number;

  before(async () => {
    dash = await startTestDashboard({ runner: tpeRunner(), copyExperiments: false });
    id = await searchTpe(dash.coordinator);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test('a TPE experiment page shows the optimisation history, the slices and the importance', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${id}`);
    await waitForCharts(page);
    await viewsReady(page);
    const trials = dash.storage.runs.list(id).filter((run) => run.kind === 'search');
    const pruned = trials.filter((run) => run.status === 'pruned').length;

    const history = (await drawn(page, 'chart-history'))!;
    assert.deepEqual(
      history.series.map((s) => [s.name, s.points]),
      [
        ['trial', trials.length - pruned],
        ['pruned', pruned],
        ['best so far', trials.length - pruned + 1],
      ],
    );
    assert.equal(history.xAxes[0]!.name, 'trial');
    await page.click('#search-views [data-x="time"]');
    await page.waitForFunction(() => {
      const chart = (window as any).echarts.getInstanceByDom(document.getElementById('chart-history'));
      return chart.getOption().xAxis[0].name === 'time since the search started';
    });
    assert.equal(await page.getAttribute('#search-views [data-x="time"]', 'aria-pressed'), 'true');

    const slices = (await drawn(page, 'chart-slices'))!;
    const axes = Object.fromEntries(slices.xAxes.map((a) => [a.name, a.type]));
    assert.deepEqual(axes, { 'width (log)': 'log', activation: 'category', dropout: 'value', 'learning rate (log)': 'log' });
    assert.equal(slices.series.filter((s) => s.name === 'trial').length, 4, 'one panel per searched hyperparameter');

    const importance = (await drawn(page, 'chart-importance'))!;
    assert.equal(importance.series[0]!.points, 4);
    assert.match((await page.textContent('#importance-caption'))!, /PED-ANOVA \(as Optuna\) over \d+ complete trials/);
    assert.equal(await page.locator('#search-views .chart-message, #slices-card .chart-message').count(), 0);
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'foldwise-search-views.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('notes and tags written on run pages show in the leaderboard, and the tag filter narrows it', async () => {
    const { page, problems, dialogs } = await openPage(browser);
    const board = dash.services.queries.leaderboard(id).runs;
    const [first, second] = [board[0]!, board[1]!];
    for (const [run, tags] of [
      [first, 'keep, <b>x</b>'],
      [second, 'keep wide'],
    ] as const) {
      await page.goto(`${dash.url}/experiments/${id}/runs/${run.runId}`);
      await page.click('#notes summary');
      await page.fill('#notes textarea[name=note]', `looked at run ${run.number} <img src=x onerror=alert(1)>`);
      await page.fill('#notes input[name=tags]', tags);
      await page.click('#notes button[type=submit]');
      if (tags.includes('<b>')) {
        // A bad tag: the message names the field, the field is marked, nothing is saved.
        await page.waitForSelector('#notes .notes-status.error');
        assert.match((await page.textContent('#notes .notes-status'))!, /^tags: "<b>x<\/b>" is not a tag/);
        assert.equal(await page.getAttribute('#notes input[name=tags]', 'aria-invalid'), 'true');
        await page.fill('#notes input[name=tags]', 'keep');
        await page.click('#notes button[type=submit]');
      }
      await page.waitForSelector('#notes .note-tags .tag');
      assert.match((await page.textContent('#notes .note-text'))!, /looked at run \d+ <img src=x onerror=alert\(1\)>/);
    }
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'foldwise-run-notes.png'), fullPage: true });

    await page.goto(`${dash.url}/experiments/${id}`);
    await waitForCharts(page);
    const rows = () => page.$$eval('#leaderboard-rows tr', (trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.runId)));
    assert.equal((await rows()).length, board.length);
    assert.equal(await page.locator(`#leaderboard-rows tr[data-run-id="${first.runId}"] .user-tag`).textContent(), 'keep');
    await page.selectOption('#leaderboard-filter select[name=tag]', 'wide');
    await page.waitForURL(/\?tag=wide#leaderboard-card$/);
    assert.deepEqual(await rows(), [second.runId]);
    await page.selectOption('#leaderboard-filter select[name=tag]', 'keep');
    await page.waitForURL(/\?tag=keep/);
    assert.deepEqual((await rows()).sort(), [first.runId, second.runId].sort());
    assert.match((await page.textContent('.tag-filter-note'))!, new RegExp(`2 of ${board.length} runs tagged keep`));
    if (SHOTS) await page.locator('#leaderboard-card').screenshot({ path: join(SHOTS, 'foldwise-tag-filter.png') });
    assert.deepEqual(dialogs, []);
    // The one failed request is the bad tag's 400.
    assert.deepEqual(problems, ['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    await page.close();
  });
});
