/**
 * The experiment page's charts read at a glance (issue 11 item 5): the learning curves show one
 * metric on the training rows beside the same metric on the validation folds, on one scale, for
 * the top 5 runs by default; hovering a row picks its run out; parallel coordinates carry a score
 * legend and a log axis for values that span decades; the complexity chart has one quantity per
 * axis with its points in parameter order. A holdout's scores show no "± 0.0000" on any page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium, openPage, waitForCharts } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../helpers/seed-db.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);

type ChartSummary = {
  readonly yAxes: { readonly min: unknown; readonly max: unknown; readonly type: string; readonly inverse: boolean }[];
  readonly xAxes: { readonly type: string }[];
  readonly legend: string[];
  readonly series: { readonly id: string; readonly name: string; readonly type: string; readonly data: unknown[] }[];
  readonly parallelAxes: { readonly name: string; readonly type: string; readonly min: unknown; readonly max: unknown }[];
  readonly visualMap: { readonly type: string; readonly pieces: number }[];
};

/** What an ECharts instance on the page draws, read from its option. */
function chartSummary(page: Page, id: string): Promise<ChartSummary | null> {
  return page.evaluate((elementId) => {
    const instance = (window as any).echarts.getInstanceByDom(document.getElementById(elementId));
    if (!instance) return null;
    const option = instance.getOption();
    return {
      yAxes: (option.yAxis ?? []).map((a: any) => ({ min: a.min ?? null, max: a.max ?? null, type: a.type, inverse: Boolean(a.inverse) })),
      xAxes: (option.xAxis ?? []).map((a: any) => ({ type: a.type })),
      legend: (option.legend?.[0]?.data ?? []).map((d: any) => (typeof d === 'string' ? d : d.name)),
      series: option.series.map((s: any) => ({ id: String(s.id ?? ''), name: s.name, type: s.type, data: s.data })),
      parallelAxes: (option.parallelAxis ?? []).map((a: any) => ({ name: a.name, type: a.type, min: a.min ?? null, max: a.max ?? null })),
      visualMap: (option.visualMap ?? []).map((v: any) => ({ type: v.type, pieces: v.pieces?.length ?? 0 })),
    };
  }, id);
}

describe('readable charts in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  let grid: SeededExperiment;
  let holdout: SeededExperiment;

  before(async () => {
    dash = await startTestDashboard({
      copyExperiments: false,
      seed: (storage, { dataDir }) => {
        // 40 runs: depth × width × learning rate (0.001 … 0.03, a log axis), 3 folds each.
        grid = seedExperiment(storage, { name: 'grid', runs: 40, folds: 3, epochs: 12, earlyStop: true, modelDataDir: dataDir });
        holdout = seedExperiment(storage, { name: 'holdout', runs: 6, folds: 1, epochs: 8, modelDataDir: dataDir, seed: 5 });
      },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test('learning curves: one metric on both charts and one scale, the top 5 runs, a picker, a row picks its run out', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${grid.experimentId}`);
    await waitForCharts(page);
    const train = (await chartSummary(page, 'chart-train'))!;
    const val = (await chartSummary(page, 'chart-val'))!;
    assert.equal(await page.locator('#curve-train-caption').textContent(), 'Training loss');
    assert.equal(await page.locator('#curve-val-caption').textContent(), 'Validation loss');
    assert.equal(train.legend.length, 5, 'five runs by default');
    assert.deepEqual(val.legend, train.legend);
    assert.equal(await page.locator('#leaderboard-rows .swatch').count(), 5);
    assert.deepEqual([train.yAxes[0]!.min, train.yAxes[0]!.max], [val.yAxes[0]!.min, val.yAxes[0]!.max], 'one y scale');
    assert.equal(typeof train.yAxes[0]!.min, 'number');

    // The lines are the training and the validation curves of the same metric: the API's means.
    const runId = grid.bestRunId!;
    const api = (await (await fetch(`${dash.url}/api/experiments/${grid.experimentId}/curves?runs=${runId}`)).json()) as any;
    const mean = (summary: ChartSummary) => summary.series.find((s) => s.id === `${runId}-mean`)!.data;
    assert.deepEqual(mean(train), api.runs[0].metrics.loss.mean);
    assert.deepEqual(mean(val), api.runs[0].metrics.val_loss.mean);

    const options = await page.$$eval('#curve-metric option', (list) => list.map((o) => (o as HTMLOptionElement).value));
    assert.deepEqual(options.slice(0, 2), ['loss', 'auc'], 'loss, then the selection metric');
    assert.ok(options.includes('accuracy'));
    await page.selectOption('#curve-metric', 'accuracy');
    await page.waitForFunction(() => document.querySelector('#curve-val-caption')?.textContent === 'Validation accuracy');
    assert.deepEqual(mean((await chartSummary(page, 'chart-train'))!), api.runs[0].metrics.accuracy.mean);
    assert.deepEqual(mean((await chartSummary(page, 'chart-val'))!), api.runs[0].metrics.val_accuracy.mean);
    // AUC is measured on the validation folds only: one chart, no training chart beside it.
    await page.selectOption('#curve-metric', 'auc');
    await page.waitForFunction(() => /^Validation AUC/.test(document.querySelector('#curve-val-caption')?.textContent ?? ''));
    assert.equal(await page.locator('#curve-train-figure').isVisible(), false);
    assert.deepEqual(mean((await chartSummary(page, 'chart-val'))!), api.runs[0].metrics.val_auc.mean);

    // Hovering a plotted run's row highlights that run (line and band) in the curves.
    await page.evaluate(() => {
      const chart = (window as any).echarts.getInstanceByDom(document.getElementById('chart-val'));
      chart.on('highlight', (event: any) => ((window as any).__picked = event.seriesName ?? null));
    });
    const number = await page.locator(`#leaderboard-rows tr[data-run-id="${runId}"] td:nth-child(3) a`).textContent();
    await page.locator(`#leaderboard-rows tr[data-run-id="${runId}"] td:nth-child(4)`).hover();
    await page.waitForFunction(() => (window as any).__picked !== undefined, null, { timeout: 2000 });
    assert.equal(await page.evaluate(() => (window as any).__picked), number);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('parallel coordinates have a score legend and a log learning-rate axis; complexity: parameters × score, in order', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${grid.experimentId}`);
    await waitForCharts(page);
    const parallel = (await chartSummary(page, 'chart-parallel'))!;
    assert.equal(parallel.visualMap[0]?.type, 'piecewise');
    assert.ok(parallel.visualMap[0]!.pieces >= 2, 'score bands that separate good from bad');
    const axis = (name: string) => parallel.parallelAxes.find((a) => a.name === name);
    assert.equal(axis('learning rate')?.type, 'log', 'learning rates span decades');
    assert.equal(axis('depth')?.type, 'category');
    const score = parallel.parallelAxes[parallel.parallelAxes.length - 1]!;
    assert.deepEqual([score.min, score.max], [null, null], 'the score axis picks round bounds: its end labels do not collide');

    const complexity = (await chartSummary(page, 'chart-complexity'))!;
    assert.equal(complexity.yAxes.length, 1, 'one quantity on y');
    assert.equal(complexity.xAxes[0]!.type, 'log');
    for (const series of complexity.series) {
      const xs = (series.data as number[][]).map((point) => point[0]!);
      assert.deepEqual(
        xs,
        [...xs].sort((a, b) => a - b),
        `${series.name}: in parameter order`,
      );
    }
    const frontier = complexity.series.find((s) => s.name === 'best at each size')!;
    const runs = (await (await fetch(`${dash.url}/api/experiments/${grid.experimentId}/runs`)).json()) as any;
    const sizes = new Set(runs.runs.filter((r: any) => r.rank !== null).map((r: any) => r.paramCount));
    assert.equal(frontier.data.length, sizes.size, 'one point per parameter count');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a holdout shows its scores without "± 0.0000": leaderboard, best card, run page, compare', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${holdout.experimentId}`);
    await waitForCharts(page);
    const scoreHeader = page.locator('#leaderboard thead th').filter({ hasText: 'AUC' });
    assert.doesNotMatch((await scoreHeader.textContent()) ?? '', /±/);
    assert.doesNotMatch((await page.locator('#leaderboard-rows').textContent()) ?? '', /±/);
    assert.match((await page.locator('#leaderboard-rows').textContent()) ?? '', /0\.\d{4}/);
    assert.doesNotMatch((await page.locator('#best-card .big-score').textContent()) ?? '', /±/);
    assert.doesNotMatch((await page.locator('#refit .metrics-table').textContent()) ?? '', /±/);

    await page.goto(`${dash.url}/experiments/${holdout.experimentId}/runs/${holdout.bestRunId}`);
    await waitForCharts(page);
    assert.match((await page.locator('#run-result').textContent()) ?? '', /on the one holdout split/);
    assert.doesNotMatch((await page.locator('#run-result').textContent()) ?? '', /±/);

    const [a, b] = holdout.runIds;
    await page.goto(`${dash.url}/experiments/${holdout.experimentId}/compare?runs=${a},${b}`);
    await waitForCharts(page);
    assert.doesNotMatch((await page.locator('#compare-table').textContent()) ?? '', /±/);

    // And k-fold runs keep their spread.
    await page.goto(`${dash.url}/experiments/${grid.experimentId}/runs/${grid.bestRunId}`);
    assert.match((await page.locator('#run-result .big-score').textContent()) ?? '', /± \d\.\d{4}/);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
