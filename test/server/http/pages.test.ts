import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../../helpers/seed-db.js';
import { waitFor } from '../../helpers/wait-for.js';

let dash: TestDashboard;
let grid: SeededExperiment;
let xss: SeededExperiment;

const XSS_NAME = '<script>window.__pwned=1</script>';
const XSS_TARGET = '<script>alert("csv")</script>';
const XSS_DESCRIPTION = '<img src=x onerror=alert(1)>';

before(async () => {
  dash = await startTestDashboard({
    seed: (storage, { dataDir }) => {
      grid = seedExperiment(storage, {
        name: 'grid',
        description: 'A seeded grid & more',
        runs: 12,
        folds: 3,
        epochs: 6,
        failed: 1,
        modelDataDir: dataDir,
      });
      xss = seedExperiment(storage, {
        name: 'xss',
        rowName: XSS_NAME,
        description: XSS_DESCRIPTION,
        csvTarget: XSS_TARGET,
        runs: 2,
        folds: 2,
        epochs: 3,
      });
    },
  });
});
after(() => dash.close());

async function page(path: string, init?: RequestInit) {
  const response = await fetch(dash.url + path, { redirect: 'manual', ...init });
  return { status: response.status, html: await response.text(), headers: response.headers };
}
const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
  redirect: 'manual' as const,
});
const count = (html: string, needle: RegExp) => (html.match(needle) ?? []).length;

test('GET / lists the experiments with status, runs and best score', async () => {
  const { status, html, headers } = await page('/');
  assert.equal(status, 200);
  assert.match(headers.get('content-type') ?? '', /text\/html/);
  assert.match(html, /<h1>Experiments<\/h1>/);
  assert.match(html, new RegExp(`href="/experiments/${grid.experimentId}">grid</a>`));
  assert.match(html, /11 \/ 12|12 \/ 12/);
  assert.match(html, /class="badge badge-done"/);
  assert.match(html, /A seeded grid &amp; more/);
  assert.match(html, /href="\/experiments\/new"/);
});

test('GET /experiments redirects to the list', async () => {
  const { status, headers } = await page('/experiments');
  assert.equal(status, 301);
  assert.equal(headers.get('location'), '/');
});

test('GET /experiments/:id renders the leaderboard, best run, refit panel and chart slots', async () => {
  const { status, html } = await page(`/experiments/${grid.experimentId}`);
  assert.equal(status, 200);
  assert.match(html, /<h1>grid<\/h1>/);
  assert.equal(count(html, /<tr data-run-id=/g), 12);
  assert.equal(count(html, /class="is-best /g), 1);
  assert.match(html, new RegExp(`<tr data-run-id="${grid.bestRunId}" class="is-best`));
  for (const header of ['depth', 'width', 'Chosen epochs', 'Parameters', 'Train time', 'Status']) assert.ok(html.includes(header), header);
  assert.match(html, /<b>0\.\d{4}<\/b> <small>± 0\.\d{4}<\/small>/);
  assert.match(
    html,
    new RegExp(
      /<link rel="preload" as="fetch" crossorigin href="\/api\/experiments\/\d+\/curves/.source + /\?runs(=|&#x3D;)[\d,]+">/.source,
    ),
  );
  assert.match(html, /Refit best \(#\d+\)/);
  assert.match(html, /\/api\/models\/\d+\/files\/model\.json/);
  assert.match(html, /\/api\/models\/\d+\/files\/preprocessing\.json/);
  for (const id of ['chart-train', 'chart-val', 'chart-parallel', 'chart-complexity']) assert.ok(html.includes(`id="${id}"`), id);
  assert.match(html, /<script defer src="\/static\/vendor\/echarts\.min\.js"><\/script>/);
  assert.equal(count(html, /\{\{/g), 0, 'no unrendered handlebars');
  const data = /data-page="([^"]*)"/
    .exec(html)![1]!
    .replace(/&quot;/g, '"')
    .replace(/&#x3D;/g, '=')
    .replace(/&amp;/g, '&');
  assert.equal(JSON.parse(data).experimentId, grid.experimentId);
  assert.match(html, /badge badge-failed/);
});

test('GET /experiments/:id?fragment=… renders only those partials, for live refreshes', async () => {
  const { status, html } = await page(`/experiments/${grid.experimentId}?fragment=leaderboard-rows,best-card`);
  assert.equal(status, 200);
  assert.match(html, /^<template data-fragment="leaderboard-rows"><tbody id="leaderboard-rows">/);
  assert.match(html, /<template data-fragment="best-card"><section class="card best-card" id="best-card">/);
  assert.ok(!html.includes('<html'));
  assert.equal((await page(`/experiments/${grid.experimentId}?fragment=layout`)).status, 400);
});

test('unknown or malformed ids give an error page, 404 and 400', async () => {
  const missing = await page('/experiments/999999');
  assert.equal(missing.status, 404);
  assert.match(missing.html, /class="card error-page"/);
  assert.match(missing.html, /no experiment with id 999999/);
  const malformed = await page('/experiments/nine');
  assert.equal(malformed.status, 400);
  assert.match(malformed.html, /expected a whole number/);
  assert.equal((await page(`/experiments/${grid.experimentId}/runs/888888`)).status, 404);
  assert.equal((await page(`/experiments/${xss.experimentId}/runs/${grid.runIds[0]}`)).status, 404, 'a run of another experiment');
  assert.equal((await page('/no/such/page')).status, 404);
});

test('GET /experiments/:id/runs/:runId shows hyperparameters, folds, result and a refit button', async () => {
  const { status, html } = await page(`/experiments/${grid.experimentId}/runs/${grid.runIds[0]}`);
  assert.equal(status, 200);
  assert.match(html, new RegExp(`<h1>Run #${grid.runIds[0]}</h1>`));
  assert.match(html, /<tr class="searched"><th>depth<\/th>/);
  assert.match(html, /learning rate/);
  assert.equal(count(html, /<td class="num">[123]<\/td>\s*<td><span class="badge badge-done"/g), 3, 'one row per fold');
  assert.match(html, /Refit this run/);
  assert.match(html, /<dt>Backend<\/dt><dd>tensorflow<\/dd>/);
  assert.match(html, /worker-1/);
  for (const id of ['chart-loss', 'chart-metric']) assert.ok(html.includes(`id="${id}"`));
});

test('a failed run page shows its error text; a refit run page shows the model and test metrics', async () => {
  const failedId = grid.runIds[11]!;
  const failed = await page(`/experiments/${grid.experimentId}/runs/${failedId}`);
  assert.match(failed.html, /badge badge-failed/);
  assert.match(failed.html, /<pre class="error-text">diverged: loss became NaN/);
  assert.ok(!failed.html.includes('Refit this run'));
  const refit = await page(`/experiments/${grid.experimentId}/runs/${grid.refitRunId}`);
  assert.equal(refit.status, 200);
  assert.match(refit.html, /Refit run #\d+/);
  assert.match(refit.html, /Model and test score/);
  assert.match(refit.html, /class="num strong test-metric" data-metric="auc">0\.\d{4}</);
  const best = await page(`/experiments/${grid.experimentId}/runs/${grid.bestRunId}`);
  assert.match(best.html, /Refits of this run/);
  assert.match(best.html, /<span class="tag best">best<\/span>/);
});

test('GET /experiments/:id/compare shows the runs side by side with differing hyperparameters highlighted', async () => {
  const [a, b, c] = grid.runIds;
  const { status, html } = await page(`/experiments/${grid.experimentId}/compare?runs=${a},${b},${c}`);
  assert.equal(status, 200);
  assert.match(html, /Comparing 3 runs/);
  assert.match(html, /<tr class="differs"><th>width <span class="tag diff">differs<\/span>/);
  assert.match(html, /<tr class="same"><th>depth<\/th>/);
  for (const id of [a, b, c]) assert.ok(html.includes(`>Run #${id}</a>`));
  assert.equal((await page(`/experiments/${grid.experimentId}/compare?runs=${a}`)).status, 400);
  assert.equal((await page(`/experiments/${grid.experimentId}/compare`)).status, 400);
});

test(
  "pages list only the hyperparameters the experiment's families read: " + 'no factors on an MLP experiment, factors on a recsys one',
  async () => {
    const [a, b, c] = grid.runIds;
    const mlpPages = [
      `/experiments/${grid.experimentId}`,
      `/experiments/${grid.experimentId}/runs/${a}`,
      `/experiments/${grid.experimentId}/compare?runs=${a},${b},${c}`,
    ];
    for (const path of mlpPages) {
      const { status, html } = await page(path);
      assert.equal(status, 200, path);
      assert.ok(!/>factors\b/.test(html), `no factors in ${path}`);
      assert.ok(!/>useDotTerm\b/.test(html), `no useDotTerm in ${path}`);
    }
    assert.match((await page(mlpPages[0]!)).html, /Fixed for every run: .*<span class="pill">max epochs <b>6<\/b><\/span>/);
    assert.match((await page(mlpPages[2]!)).html, /1 of 12 hyperparameters differ/); // classWeight is the 12th

    const specText =
      'name: recsys-params\ndataset: { kind: ratings, users: 20, items: 10 }\ntask: regression\n' +
      'model: { family: ncf }\ngrid: { width: [4, 8], epochs: 2 }\nvalidation: { kind: holdout }\n';
    const started = await page('/experiments', form({ source: 'text', specText }));
    assert.equal(started.status, 303);
    const id = Number(started.headers.get('location')!.split('/').pop());
    await waitFor(() => dash.storage.experiments.get(id).status === 'done', 'the recsys search to finish');
    const [first, second] = dash.storage.runs.list(id).map((run) => run.runId);
    const experiment = await page(`/experiments/${id}`);
    assert.match(experiment.html, /<span class="pill">factors <b>16<\/b><\/span>/);
    assert.match(experiment.html, /<span class="pill">useDotTerm <b>false<\/b><\/span>/);
    assert.match((await page(`/experiments/${id}/runs/${first}`)).html, /<tr class=""><th>factors<\/th><td class="num">16<\/td><\/tr>/);
    const compare = await page(`/experiments/${id}/compare?runs=${first},${second}`);
    assert.match(compare.html, /<tr class="same"><th>factors<\/th>/);
    assert.match(compare.html, /1 of 13 hyperparameters differ/);
  },
);

test('GET /experiments/new lists spec files by name and can preselect one', async () => {
  const { status, html } = await page('/experiments/new?spec=iris-multiclass.yaml');
  assert.equal(status, 200);
  assert.match(html, /<option value="default\.yaml" >default\.yaml — fraud-default<\/option>/);
  assert.match(html, /<option value="iris-multiclass\.yaml" selected>/);
  assert.match(html, /<textarea name="specText"/);
  // Issue 15: the page names the folders a spec may read data from (and so where uploads go).
  assert.match(html, new RegExp(`id="data-folders".*${dash.experimentsDir}.*${dash.dataDir}`, 's'));
});

test('POST /experiments with pasted YAML starts the search and redirects to its page', async () => {
  const specText =
    'name: form-started\ndataset: { kind: sine, rows: 200 }\ntask: regression\ngrid: { width: [4, 8], epochs: 2 ' +
    '}\nvalidation: { kind: holdout }\n';
  const { status, headers } = await page('/experiments', form({ source: 'text', specText, specFile: 'default.yaml' }));
  assert.equal(status, 303);
  const location = headers.get('location')!;
  assert.match(location, /^\/experiments\/\d+$/);
  await waitFor(async () => (await page(location)).html.includes('<h1>form-started</h1>'), 'the new experiment page');
  await waitFor(async () => !dash.services.background.isSearching(Number(location.split('/').pop())), 'the search to finish');
});

test('POST /experiments with an invalid spec shows each error next to the field, keeps the text, writes nothing', async () => {
  const before = dash.storage.experiments.list().length;
  const specText = 'name: has space\ndataset: { kind: sine, rows: 3 }\n<b>oops</b>: 1\n';
  const { status, html } = await page('/experiments', form({ source: 'text', specText }));
  assert.equal(status, 400);
  assert.match(html, /<ul class="field-errors" id="specText-errors" role="alert">/);
  assert.match(html, /<code class="path">name<\/code>/);
  assert.match(html, /<code class="path">dataset\.rows<\/code>/);
  assert.match(html, /unknown key &quot;&lt;b&gt;oops&lt;\/b&gt;&quot;/);
  assert.match(html, /<textarea[^>]*>name: has space\ndataset: \{ kind: sine, rows: 3 \}\n&lt;b&gt;oops&lt;\/b&gt;: 1\n<\/textarea>/);
  assert.match(html, /aria-invalid="true"/);
  assert.equal(dash.storage.experiments.list().length, before);
});

test('POST /experiments with a bad spec file name shows the error beside the file field', async () => {
  const { status, html } = await page('/experiments', form({ source: 'file', specFile: '../../etc/passwd' }));
  assert.equal(status, 400);
  assert.match(html, /id="specFile-errors"/);
});

test('POST /experiments/:id/refit (form) starts a refit and redirects back', async () => {
  const { status, headers } = await page(`/experiments/${xss.experimentId}/refit`, form({}));
  assert.equal(status, 303);
  assert.equal(headers.get('location'), `/experiments/${xss.experimentId}#refit`);
  await waitFor(() => dash.services.background.latestRefit(xss.experimentId)?.state === 'done', 'the refit');
  const fromRun = await page(`/experiments/${grid.experimentId}/refit`, form({ runId: String(grid.runIds[1]), from: 'run' }));
  assert.equal(fromRun.status, 303);
  assert.equal(fromRun.headers.get('location'), `/experiments/${grid.experimentId}/runs/${grid.runIds[1]}`);
  await waitFor(() => dash.services.background.latestRefit(grid.experimentId)?.state === 'done', 'the second refit');
  const runPage = await page(`/experiments/${grid.experimentId}/runs/${grid.runIds[1]}`);
  assert.match(runPage.html, /Refits of this run/);
});

test('user strings are escaped everywhere: experiment name, description, CSV target column', async () => {
  for (const path of [
    '/',
    `/experiments/${xss.experimentId}`,
    `/experiments/${xss.experimentId}/runs/${xss.runIds[0]}`,
    `/experiments/${xss.experimentId}/compare?runs=${xss.runIds.join(',')}`,
  ]) {
    const { status, html } = await page(path);
    assert.equal(status, 200, path);
    assert.ok(!html.includes('<script>window.__pwned'), `raw name in ${path}`);
    assert.ok(!html.includes('<script>alert'), `raw CSV column in ${path}`);
    assert.ok(!html.includes('<img src=x'), `raw description in ${path}`);
    assert.ok(html.includes('&lt;script&gt;window.__pwned&#x3D;1&lt;/script&gt;'), `escaped name in ${path}`);
  }
  const { html } = await page(`/experiments/${xss.experimentId}`);
  assert.ok(html.includes('target &lt;script&gt;alert(&quot;csv&quot;)&lt;/script&gt;'));
  const deleted = await page('/?deleted=%3Cscript%3Ealert(1)%3C%2Fscript%3E');
  assert.ok(!deleted.html.includes('<script>alert(1)'));
  assert.ok(deleted.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
});

test('pages send a Content-Security-Policy that forbids inline script', async () => {
  const { headers } = await page('/');
  const csp = headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(headers.get('x-content-type-options'), 'nosniff');
});

test('static files: styles, page modules and ECharts from the installed package', async () => {
  const css = await fetch(`${dash.url}/static/css/dashboard.css`);
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type') ?? '', /text\/css/);
  const js = await fetch(`${dash.url}/static/js/experiment.js`);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  const echarts = await fetch(`${dash.url}/static/vendor/echarts.min.js`);
  assert.equal(echarts.status, 200);
  assert.ok((await echarts.text()).length > 500_000);
  assert.equal((await fetch(`${dash.url}/static/js/missing.js`)).status, 404);
});

test('POST /experiments/:id/delete (form): a wrong name is refused, the right one deletes and says so', async () => {
  const wrong = await page(`/experiments/${grid.experimentId}/delete`, form({ confirm: 'nope' }));
  assert.equal(wrong.status, 400);
  assert.match(wrong.html, /type the experiment&#x27;s name/);
  const { status, headers } = await page(`/experiments/${grid.experimentId}/delete`, form({ confirm: 'grid' }));
  assert.equal(status, 303);
  assert.equal(headers.get('location'), '/?deleted=grid');
  const list = await page('/?deleted=grid');
  assert.match(list.html, /Deleted “grid”/);
  assert.equal((await page(`/experiments/${grid.experimentId}`)).status, 404);
});
