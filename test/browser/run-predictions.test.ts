/**
 * The run page's prediction charts in Chromium (issue 11 item 5): binary ROC and PR curves with the
 * folds' band and the refit's test curve, the operating threshold marked, the reliability diagram and
 * the threshold slider; multiclass confusion matrices labelled with the classes; regression scatters.
 * Screenshots go to FOLDWISE_SCREENSHOTS (default /tmp) to be looked at.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium, openPage, waitForCharts } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../helpers/seed-db.js';
import { IRIS_CLASSES, seedPredictions, type SeededPredictions } from '../helpers/seed-predictions.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);
const SHOTS = process.env.FOLDWISE_SCREENSHOTS ?? '/tmp';

type Drawn = { readonly series: { name: string; type: string; length: number }[]; readonly xLabels: unknown[]; readonly legend: string[] };

/** What the ECharts instance in `id` draws: its series (name, type, points), its first x axis's categories and its legend. */
function drawn(page: Page, id: string): Promise<Drawn | null> {
  return page.evaluate((elementId) => {
    const instance = (window as any).echarts.getInstanceByDom(document.getElementById(elementId));
    if (!instance) return null;
    const option = instance.getOption();
    return {
      series: option.series.map((s: any) => ({ name: String(s.name), type: s.type, length: s.data?.length ?? 0 })),
      xLabels: option.xAxis?.[0]?.data ?? [],
      legend: (option.legend?.[0]?.data ?? []).map((d: any) => (typeof d === 'string' ? d : d.name)),
    };
  }, id);
}

const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';

describe('run page prediction charts in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  const seeded: Partial<Record<'binary' | 'multiclass' | 'regression', SeededPredictions>> = {};
  let old: SeededExperiment;

  before(async () => {
    dash = await startTestDashboard({
      copyExperiments: false,
      seed: (storage) => {
        seeded.binary = seedPredictions(storage, 'binary', { name: 'churn' });
        seeded.multiclass = seedPredictions(storage, 'multiclass', { name: 'iris' });
        seeded.regression = seedPredictions(storage, 'regression', { name: 'sine' });
        old = seedExperiment(storage, { name: 'old', runs: 2, folds: 3, epochs: 3 });
      },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  async function open(s: { experimentId: number }, runId: number, shot: string) {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${s.experimentId}/runs/${runId}`);
    await waitForCharts(page);
    await page.locator('#predictions-card').screenshot({ path: join(SHOTS, `foldwise-${shot}.png`) });
    if (shot === 'run-predictions-binary') await page.screenshot({ path: join(SHOTS, 'foldwise-run-page-binary.png'), fullPage: true });
    return { page, problems };
  }

  test('binary: ROC and PR with every fold, their band and mean, the test curve, the threshold marked on each', async () => {
    const s = seeded.binary!;
    const { page, problems } = await open(s, s.runIds[0]!, 'run-predictions-binary');
    for (const id of ['chart-roc', 'chart-pr']) {
      const chart = (await drawn(page, id))!;
      const names = chart.series.map((series) => series.name);
      assert.equal(names.filter((name) => name === 'each fold').length, 3, `${id}: three faint folds`);
      assert.ok(names.includes("folds' min–max"), `${id}: the band`);
      assert.ok(
        names.some((name) => /^folds' mean \((AUC|AP) 0\.\d{3}\)$/.test(name)),
        names.join(' | '),
      );
      assert.ok(
        names.some((name) => /^test, refit #3 \((AUC|AP) 0\.\d{3}\)$/.test(name)),
        names.join(' | '),
      );
      const t = s.threshold!.toFixed(3);
      assert.ok(names.includes(`t = ${t}, out-of-fold`) && names.includes(`t = ${t}, test, refit #3`), names.join(' | '));
    }
    const calibration = (await drawn(page, 'chart-calibration'))!;
    assert.deepEqual(calibration.legend, ['out-of-fold', 'test, refit #3']);
    assert.equal(calibration.series.find((series) => series.type === 'bar')?.length, 10, 'rows per bin');
    assert.deepEqual(problems, []);
  });

  test('binary: the slider starts at the operating threshold and shows precision, recall, F1 and the confusion matrix', async () => {
    const s = seeded.binary!;
    const { page, problems } = await open(s, s.runIds[0]!, 'run-predictions-binary-slider');
    assert.equal(await text(page, '#threshold-value'), s.threshold!.toFixed(4));
    assert.match(await text(page, '#threshold-note'), /frozen by refit #3: the best F1 on the pooled out-of-fold predictions/);
    const count = async (key: string) => Number((await text(page, `#threshold-${key}`)).replace(/,/g, ''));
    const counts = async () => ({ tp: await count('tp'), fp: await count('fp'), tn: await count('tn'), fn: await count('fn') });
    const atStart = await counts();
    assert.equal(atStart.tp + atStart.fp + atStart.tn + atStart.fn, 3 * s.foldRows);
    assert.equal(await page.locator('#threshold-reset').isDisabled(), true);
    // Ten stops lower: more rows positive, the same positives in all.
    const slider = page.locator('#threshold-slider');
    await slider.focus();
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowLeft');
    const lower = await counts();
    assert.ok(lower.tp + lower.fp > atStart.tp + atStart.fp, 'a lower threshold takes more rows positive');
    assert.equal(lower.tp + lower.fn, atStart.tp + atStart.fn);
    assert.ok(Number(await text(page, '#threshold-value')) < s.threshold!);
    const recall = Number(await text(page, '#threshold-recall'));
    assert.ok(Math.abs(recall - lower.tp / (lower.tp + lower.fn)) < 1e-3, `recall ${recall}`);
    await page.locator('#chart-roc').screenshot({ path: join(SHOTS, 'foldwise-run-predictions-roc-slider.png') });
    await page.locator('#threshold-reset').click();
    assert.equal(await text(page, '#threshold-value'), s.threshold!.toFixed(4));
    assert.deepEqual(await counts(), atStart);
    assert.deepEqual(await page.locator('.confusion-table .class-positive').first().textContent(), '1');
    assert.deepEqual(problems, []);
  });

  test('binary: the runner-up without a refit draws no test curve and says why', async () => {
    const s = seeded.binary!;
    const { page, problems } = await open(s, s.runIds[1]!, 'run-predictions-binary-unrefitted');
    const roc = (await drawn(page, 'chart-roc'))!;
    assert.ok(!roc.series.some((series) => series.name.includes('test')));
    assert.match(await text(page, '#predictions-message'), /Test split not drawn: not refitted yet/);
    assert.match(
      await text(page, '#threshold-note'),
      /on these pooled out-of-fold predictions \(selection\.threshold\); a refit freezes it/,
    );
    assert.deepEqual(problems, []);
  });

  test('multiclass: the out-of-fold and test confusion matrices, axes labelled with the classes', async () => {
    const s = seeded.multiclass!;
    const { page, problems } = await open(s, s.runIds[0]!, 'run-predictions-multiclass');
    for (const id of ['chart-confusion', 'chart-confusion-test']) {
      const chart = (await drawn(page, id))!;
      assert.deepEqual(chart.xLabels, IRIS_CLASSES);
      assert.equal(chart.series[0]!.type, 'heatmap');
      assert.equal(chart.series[0]!.length, 9);
    }
    assert.deepEqual(problems, []);
  });

  test('regression: predicted against actual, out-of-fold sampled to 2,000 points, the test split beside it', async () => {
    const s = seeded.regression!;
    const { page, problems } = await open(s, s.refitRunId, 'run-predictions-regression');
    const oof = (await drawn(page, 'chart-scatter'))!;
    assert.deepEqual(oof.legend, ['out-of-fold (2,000 of 2,700 rows)']);
    assert.equal(oof.series.find((series) => series.type === 'scatter')?.length, 2000);
    const test = (await drawn(page, 'chart-scatter-test'))!;
    assert.equal(test.series.find((series) => series.type === 'scatter')?.length, s.testRows);
    assert.deepEqual(problems, []);
  });

  test('a run recorded before predictions were kept: the reason, and no empty chart frames', async () => {
    const { page, problems } = await open(old, old.runIds[0]!, 'run-predictions-none');
    assert.match(await text(page, '#predictions-message'), /trained before foldwise kept out-of-fold predictions: search again/);
    assert.equal(await page.locator('#predictions-body').isHidden(), true);
    assert.deepEqual(problems, []);
  });
});
