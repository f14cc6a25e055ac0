/**
 * The experiment page's best card at a glance in Chromium (issue 11 item 5): the tied-with-best group,
 * the selected configuration's estimate beside its test score, and a nested CV's outer estimate.
 * Screenshots go to FOLDWISE_SCREENSHOTS (default /tmp) to be looked at.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchChromium, openPage, waitForCharts } from '../helpers/browser.js';
import type { TestDashboard } from '../helpers/dashboard-server.js';
import { startGlanceDashboard } from '../helpers/glance-dashboard.js';
import type { SeededExperiment } from '../helpers/seed-db.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);
const SHOTS = process.env.FOLDWISE_SCREENSHOTS ?? '/tmp';

describe('experiment page at a glance in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  let seeded: SeededExperiment;
  let nestedId: number;

  before(async () => {
    ({ dash, seeded, nestedId } = await startGlanceDashboard(24));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test('the tied group, the estimate against the test score, and (nested CV) the outer estimate, readable in the best card', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${seeded.experimentId}`);
    await waitForCharts(page);
    const glance = page.locator('#estimate-glance');
    assert.match((await glance.locator('#glance-tied').textContent()) ?? '', /Tied with the best\s+\d+\s+of 24/);
    assert.match(
      (await glance.locator('#glance-optimism').textContent()) ?? '',
      /0\.\d{4} → 0\.\d{4}\s+the estimate looked 0\.0100 better/,
    );
    await page.locator('#best-card').screenshot({ path: join(SHOTS, 'foldwise-estimate-glance.png') });
    // The compare link opens the tied runs side by side.
    await glance.locator('a', { hasText: 'compare them' }).click();
    await page.waitForURL(/\/compare\?runs=/);

    await page.goto(`${dash.url}/experiments/${nestedId}`);
    await waitForCharts(page);
    assert.match((await page.locator('#glance-nested').textContent()) ?? '', /the whole procedure, scored on 3 outer folds of 3/);
    await page.locator('#best-card').screenshot({ path: join(SHOTS, 'foldwise-estimate-glance-nested.png') });
    assert.deepEqual(problems, []);
  });
});
