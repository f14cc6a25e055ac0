import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { browserSkipReason, launchChromium, openPage, waitForCharts } from '../helpers/browser.js';
import { startTestDashboard, type TestDashboard } from '../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../helpers/seed-db.js';

const skip = browserSkipReason();
if (skip) console.log(`# SKIP browser tests: ${skip}`);

const ROWS = Array.from({ length: 60 }, (_, i) => `${20 + i},${1000 * i},c${i % 3},${i % 2}`);
const CSV = `age,income,<b>city</b>,churned\n${ROWS.join('\n')}\n`;
/** Chromium logs every 4xx answer as a console error; these tests ask for some on purpose. */
const unexpected = (problems: string[]) => problems.filter((problem) => !/the server responded with a status of 400/.test(problem));
const screenshot = (name: string) => join(process.env.FOLDWISE_SCREENSHOTS ?? '/tmp', `foldwise-${name}.png`);

describe('uploads and downloads in Chromium', { skip: skip ?? false }, () => {
  let dash: TestDashboard;
  let browser: Browser;
  let grid: SeededExperiment;

  before(async () => {
    dash = await startTestDashboard({
      seed: (storage, { dataDir }) => {
        grid = seedExperiment(storage, { name: 'grid', runs: 6, folds: 3, epochs: 6, modelDataDir: dataDir });
      },
    });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await dash?.close();
  });

  test('a CSV uploaded on the New experiment page is listed, written into the spec, and starts an experiment', async () => {
    const { page, problems, dialogs } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/new`);
    assert.match((await page.locator('#upload-list').textContent()) ?? '', /Nothing uploaded yet/);
    assert.match((await page.locator('#data-folders').textContent()) ?? '', /resolved against the experiments folder/);

    await page
      .locator('#upload-file')
      .setInputFiles({ name: 'customers.csv', mimeType: 'application/vnd.ms-excel', buffer: Buffer.from(CSV) });
    const row = page.locator('#upload-list tr[data-sha256]');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.match((await row.textContent()) ?? '', /customers\.csv/);
    const path = (await row.getAttribute('data-path'))!;
    assert.ok(path.startsWith(join(dash.dataDir, 'uploads')), path);
    assert.match(
      (await page.locator('#upload-status').textContent()) ?? '',
      /Stored customers\.csv; its dataset is in the pasted spec above/,
    );
    // The empty box became a starter spec with the stored path and the last column as target.
    assert.equal(await page.locator('input[name=source][value=text]').isChecked(), true);
    const spec = await page.locator('#specText').inputValue();
    assert.match(spec, /^name: customers\n/);
    assert.ok(spec.includes(`  kind: csv\n  path: ${path}\n  target: churned\n`), spec);
    await page.screenshot({ path: screenshot('new-experiment-uploaded'), fullPage: true });

    // Another target from the header: the spec follows. A column named like markup stays text.
    const options = await row.locator('.upload-target option').allTextContents();
    assert.deepEqual(options, ['age', 'income', '<b>city</b>', 'churned']);
    await row.locator('.upload-target').selectOption('<b>city</b>');
    assert.ok((await page.locator('#specText').inputValue()).includes('  target: "<b>city</b>"\n'));
    await row.locator('.upload-target').selectOption('churned');

    // The same file again is reused, not stored twice.
    await page.locator('#upload-file').setInputFiles({ name: 'again.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await page.waitForFunction(() => /uploaded before/.test(document.querySelector('#upload-status')?.textContent ?? ''));
    assert.equal(await row.count(), 1);

    await page.getByRole('button', { name: 'Validate and start' }).click();
    await page.waitForURL(/\/experiments\/\d+$/, { timeout: 30_000 });
    assert.equal(await page.locator('h1').textContent(), 'customers');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('"Use in spec" swaps the dataset block of a pasted YAML spec and keeps the rest; a binary file is refused', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/new`);
    await page.locator('input[name=source][value=text]').check();
    await page.locator('#specText').fill('name: mine\ndataset:\n  kind: sine\n  rows: 300\n\ngrid: { width: [8] }\nseed: 7\n');
    const row = page.locator('#upload-list tr[data-sha256]').first();
    await row.locator('.use-upload').click();
    const spec = await page.locator('#specText').inputValue();
    assert.equal(
      spec,
      `name: mine\ndataset:\n  kind: csv\n  path: ${await row.getAttribute('data-path')}\n  target: churned\n` +
        '\ngrid: { width: [8] }\nseed: 7\n',
    );

    // A JSON spec keeps its keys and gets the dataset as a key.
    await page.locator('#specText').fill('{"name": "json-spec", "dataset": {"kind": "sine"}, "seed": 3}');
    await row.locator('.use-upload').click();
    assert.deepEqual(JSON.parse(await page.locator('#specText').inputValue()), {
      name: 'json-spec',
      dataset: { kind: 'csv', path: await row.getAttribute('data-path'), target: 'churned' },
      seed: 3,
    });

    await page
      .locator('#upload-file')
      .setInputFiles({ name: 'book.xlsx', mimeType: 'application/octet-stream', buffer: Buffer.from([80, 75, 3, 4, 0, 0]) });
    await page.waitForFunction(() => document.querySelector('#upload-status')?.classList.contains('error'));
    assert.match((await page.locator('#upload-status').textContent()) ?? '', /^Not uploaded: body: expected a CSV file in UTF-8 text/);
    assert.equal(await page.locator('#upload-list tr[data-sha256]').count(), 1);
    assert.deepEqual(unexpected(problems), []);
    await page.close();
  });

  test('a pasted spec reading outside the allowed folders says which folders and how the path was resolved', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/new`);
    await page.locator('input[name=source][value=text]').check();
    await page.locator('#specText').fill('name: outside\ndataset: { kind: csv, path: ../elsewhere.csv, target: y }\n');
    await page.getByRole('button', { name: 'Validate and start' }).click();
    await page.locator('#specText-errors').waitFor();
    const message = (await page.locator('#specText-errors').textContent()) ?? '';
    assert.ok(message.includes(`relative to the experiments folder, so ${join(dash.experimentsDir, '..', 'elsewhere.csv')}`), message);
    assert.ok(message.includes(dash.dataDir), message);
    await page.screenshot({ path: screenshot('new-experiment-path-error'), fullPage: true });
    // The form's answer is at /experiments: an upload from there still refreshes the list.
    await page.locator('#upload-file').setInputFiles({ name: 'second.csv', mimeType: 'text/csv', buffer: Buffer.from('p,q\n1,2\n') });
    await page.locator('#upload-list tr[data-name="second.csv"]').waitFor();
    assert.match(await page.locator('#specText').inputValue(), /^name: outside\ndataset:\n {2}kind: csv\n/);
    assert.deepEqual(unexpected(problems), []);
    await page.close();
  });

  test('the leaderboard links its CSV, JSON and curves; a run with a refit model links its ONNX file, others do not', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${dash.url}/experiments/${grid.experimentId}`);
    await waitForCharts(page);
    const id = grid.experimentId;
    const links = page.locator('#results-downloads a');
    assert.deepEqual(await links.allTextContents(), ['Download CSV', 'JSON', 'Curves CSV']);
    assert.deepEqual(await links.evaluateAll((as) => as.map((a) => a.getAttribute('href'))), [
      `/api/experiments/${id}/runs.csv`,
      `/api/experiments/${id}/runs.json`,
      `/api/experiments/${id}/curves.csv`,
    ]);
    for (const href of await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')!))) {
      const response = await page.request.get(new URL(href, dash.url).href);
      assert.equal(response.status(), 200, href);
      assert.match(response.headers()['content-disposition'] ?? '', /attachment/, href);
    }
    await page.locator('#leaderboard-card').screenshot({ path: screenshot('leaderboard-downloads') });

    await page.goto(`${dash.url}/experiments/${id}/runs/${grid.bestRunId}`);
    const onnx = page.locator('#run-models a', { hasText: 'Download ONNX' });
    assert.equal(await onnx.count(), 1);
    assert.equal(await onnx.getAttribute('href'), `/api/experiments/${id}/runs/${grid.refitRunId}/model.onnx`);
    await page.locator('#run-models').screenshot({ path: screenshot('run-onnx') });

    const other = grid.runIds.find((runId) => runId !== grid.bestRunId)!;
    await page.goto(`${dash.url}/experiments/${id}/runs/${other}`);
    assert.equal(await page.locator('a', { hasText: 'Download ONNX' }).count(), 0, 'no refit model, no link');
    assert.deepEqual(problems, []);
    await page.close();
  });
});
