/**
 * The search views of a large random search in Chromium (issue 12 item 7): past 2,000 points the
 * history and the slices draw in ECharts' large mode, every trial still plotted (importance over
 * all of them), the slices' trial-number colours as bands, tooltips still naming their trial.
 * Screenshots with FOLDWISE_SCREENSHOTS=DIR.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchChromium, openPage, waitForCharts } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../helpers/seed-db.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);
const SHOTS = process.env.FOLDWISE_SCREENSHOTS ?? null;
const TRIALS = 2500;

describe('search views of 2,500 trials in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  let seeded: SeededExperiment;

  before(async () => {
    dash = await startTestDashboard({
      copyExperiments: false,
      seed: (storage) => {
        seeded = seedExperiment(storage, { name: 'wide-random', runs: TRIALS, folds: 1, epochs: 2, sampled: true });
      },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test('history and slices draw every trial in large mode; slice colours come in bands of trials; tooltips name the trial', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${seeded.experimentId}`);
    await waitForCharts(page, 30_000);
    await page.waitForFunction(() => document.documentElement.dataset.searchViewsReady === 'true', null, { timeout: 30_000 });
    const series = (id: string) =>
      page.evaluate((elementId) => {
        const option = (window as any).echarts.getInstanceByDom(document.getElementById(elementId)).getOption();
        return option.series.map((s: any) => ({ name: s.name, large: s.large === true, points: s.data.length, color: s.itemStyle?.color }));
      }, id);
    const history = await series('chart-history');
    const trials = history.find((s: any) => s.name === 'trial');
    assert.deepEqual([trials.points, trials.large], [TRIALS, true]);

    const slices = (await series('chart-slices')).filter((s: any) => s.name === 'trial');
    const dimensions = 4;
    assert.equal(
      slices.reduce((sum: number, s: any) => sum + s.points, 0),
      TRIALS * dimensions,
      'every trial in every slice',
    );
    assert.ok(
      slices.every((s: any) => s.large && /^#[0-9a-f]{6}$/.test(s.color)),
      'large series, each a band with its colour',
    );
    assert.equal(new Set(slices.map((s: any) => s.color)).size, slices.length / dimensions, 'one colour per band of trials');

    // A tooltip of the history still names its trial (large mode keeps only arrays: the trial is looked up by index).
    const at = await page.evaluate(() => {
      const element = document.getElementById('chart-history')!;
      const chart = (window as any).echarts.getInstanceByDom(element);
      const point = chart.getOption().series[0].data[0];
      const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, [point[0], point[1]]);
      const box = element.getBoundingClientRect();
      return { x: box.left + x, y: box.top + y };
    });
    await page.mouse.move(at.x, at.y);
    await page.waitForFunction(() => /Trial/.test(document.querySelector('#chart-history')?.textContent ?? ''));
    const tip = await page.locator('#chart-history').textContent();
    assert.match(tip ?? '', /Trial \d+ · run #\d+/);
    const importance = await page.locator('#importance-caption').textContent();
    assert.match(importance ?? '', new RegExp(`over ${TRIALS} complete trials`));
    if (SHOTS) await page.locator('#slices-card').screenshot({ path: join(SHOTS, 'foldwise-slices-2500.png') });
    assert.deepEqual(problems, []);
    await page.close();
  });
});
