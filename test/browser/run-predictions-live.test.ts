/**
 * The run page's prediction charts follow the run live (issue 11 item 5): opened while the run is
 * queued they say when they will appear, draw themselves once its folds finish, and add the test
 * curve once it is refitted from the page, without a reload.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { encodeOutOfFold, type EpochMetrics, type ExperimentSpec, type Task } from '../../worker/contract/protocol.js';
import type { TaskOutcome, TaskRunner } from '../../server/coordinator/task-runner.js';
import { browserSkipReason, launchChromium, openPage, waitForCharts } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { FakeRunner } from '../helpers/fake-runner.js';
import { GatedRunner } from '../helpers/gated-runner.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);

const SPEC = `
name: live-predictions
dataset: { kind: fraud, rows: 300 }
grid: { width: [8] }
validation: { kind: kfold, k: 3 }
selection: { metric: auc }
`;

/** Binary rows whose scores rank positives higher, with some overlap: 40 rows, the task's fold (or refit) shifting them. */
function someRows(shift: number) {
  const targets = Float32Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? 1 : 0));
  const predictions = targets.map((y, i) => Math.min(0.99, Math.max(0.01, (y ? 0.6 : 0.3) + (((i * 7 + shift) % 10) - 5) / 20)));
  return encodeOutOfFold(targets, predictions, 1, ['0', '1']);
}

/** A FakeRunner whose folds send out-of-fold predictions and whose refits send test predictions, as real workers do. */
class PredictingRunner implements TaskRunner {
  readonly #inner = new FakeRunner(() => ({ curve: [0.6, 0.7] }));
  readonly concurrency = 1;
  async run(task: Task, onEpoch: (epoch: number, metrics: EpochMetrics) => void, signal?: AbortSignal): Promise<TaskOutcome> {
    const outcome = await this.#inner.run(task, onEpoch, signal);
    if (outcome.status !== 'done') return outcome;
    const predictions = task.kind === 'search' ? { outOfFold: someRows(task.foldIndex) } : { testPredictions: someRows(5) };
    return { ...outcome, result: { ...outcome.result, ...predictions } };
  }
  describe(spec: ExperimentSpec) {
    return this.#inner.describe(spec);
  }
  close() {
    return this.#inner.close();
  }
}

function seriesNames(page: Page, id: string): Promise<string[]> {
  return page.evaluate((elementId) => {
    const instance = (window as any).echarts.getInstanceByDom(document.getElementById(elementId));
    return instance ? instance.getOption().series.map((s: any) => String(s.name)) : [];
  }, id);
}

describe('run page prediction charts, live', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  let gate: GatedRunner;

  before(async () => {
    gate = new GatedRunner(new PredictingRunner());
    dash = await startTestDashboard({ runner: gate, copyExperiments: false });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test('queued: says when it draws; folds finish: drawn; refitted: the test curve added', async () => {
    const { experiment } = await dash.coordinator.prepare(SPEC, { baseDir: dash.experimentsDir });
    const id = experiment.experimentId;
    const [run] = dash.storage.runs.list(id);
    const searched = dash.coordinator.search(id);
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${id}/runs/${run!.runId}`);
    await waitForCharts(page);
    assert.match((await page.locator('#predictions-message').textContent()) ?? '', /Drawn when a fold has finished/);
    assert.equal(await page.locator('#predictions-body').isHidden(), true);

    gate.open();
    await searched;
    await page.waitForFunction(() => document.querySelector('#predictions-body')?.hasAttribute('hidden') === false, null, {
      timeout: 15_000,
    });
    await page.waitForFunction(
      () => (window as any).echarts.getInstanceByDom(document.getElementById('chart-roc'))?.getOption().series.length > 0,
      null,
      { timeout: 15_000 },
    );
    assert.equal((await seriesNames(page, 'chart-roc')).filter((name) => name === 'each fold').length, 3);
    assert.ok(!(await seriesNames(page, 'chart-roc')).some((name) => name.includes('test')));

    // Refit from the page, as a person does.
    await page.locator('.refit-form button').click();
    await page.waitForFunction(
      () =>
        (window as any).echarts
          .getInstanceByDom(document.getElementById('chart-roc'))
          ?.getOption()
          .series.some((s: any) => String(s.name).startsWith('test, refit #2')),
      null,
      { timeout: 15_000 },
    );
    assert.match((await page.locator('#predictions-message').textContent()) ?? '', /Test split: 40 rows, scored once by refit #2/);
    assert.deepEqual(problems, []);
  });
});
