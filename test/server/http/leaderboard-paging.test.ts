/**
 * The leaderboard a page at a time (issue 12 item 7): GET /api/experiments/:id/runs with page,
 * pageSize, sort, order, status and tag (order, bounds, a bad parameter 400 naming it), the charts'
 * sample (?sample=N), and the experiment page, which renders one page of rows however many runs
 * there are, its fragments the same page as the address asks for.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../../helpers/seed-db.js';

let dash: TestDashboard;
let mid: SeededExperiment;
let large: SeededExperiment;
const TAGGED_EVERY = 7;

before(async () => {
  dash = await startTestDashboard({
    seed: (storage) => {
      mid = seedExperiment(storage, { name: 'mid', runs: 64, folds: 3, epochs: 4, failed: 2, queued: 3 });
      storage.batch(() => {
        for (const [i, runId] of mid.runIds.entries())
          if (i % TAGGED_EVERY === 0) storage.notes.setRun(runId, { note: '', tags: ['keep'] });
      });
      large = seedExperiment(storage, { name: 'large', runs: 1200, folds: 2, epochs: 2, sampled: true });
    },
  });
});
after(() => dash.close());

const json = async (path: string) => {
  const response = await fetch(dash.url + path);
  return { status: response.status, body: (await response.json()) as any };
};
const runsOf = (experiment: SeededExperiment, query: string) => json(`/api/experiments/${experiment.experimentId}/runs?${query}`);
const ids = (body: any) => body.runs.map((run: any) => run.runId);
/** A page's HTML with the entities Handlebars writes in attributes (= and &) read back. */
const page = async (path: string) => {
  const response = await fetch(dash.url + path);
  return { status: response.status, html: (await response.text()).replaceAll('&#x3D;', '=').replaceAll('&amp;', '&') };
};

test('GET …/runs pages the leaderboard in its order: page and pageSize, the last page short, a page past the end clamped', async () => {
  const whole = (await runsOf(mid, '')).body;
  assert.equal(whole.runs.length, 64, 'no paging parameter: every row, as before');
  assert.deepEqual([whole.page, whole.pages, whole.total, whole.runsTotal], [1, 1, 64, 64]);
  const second = (await runsOf(mid, 'page=2&pageSize=10')).body;
  assert.deepEqual(ids(second), ids(whole).slice(10, 20));
  assert.deepEqual([second.page, second.pageSize, second.pages, second.total], [2, 10, 7, 64]);
  assert.equal(typeof second.runs[0].valScore, 'number', 'the rows of a page carry their metrics at the chosen epoch');
  const last = (await runsOf(mid, 'page=7&pageSize=10')).body;
  assert.deepEqual(ids(last), ids(whole).slice(60));
  const past = (await runsOf(mid, 'page=500&pageSize=10')).body;
  assert.equal(past.page, 7);
  assert.deepEqual(ids(past), ids(last));
  const byDefault = (await runsOf(mid, 'page=2')).body;
  assert.deepEqual([byDefault.pageSize, byDefault.pages, byDefault.runs.length], [50, 2, 14]);
});

test('GET …/runs sorts by any column, either way, empty cells last; the score best first by default', async () => {
  const up = (await runsOf(mid, 'sort=paramCount&order=asc')).body.runs;
  const counts = up.map((run: any) => run.paramCount);
  const known = counts.filter((c: number | null) => c !== null);
  assert.deepEqual(
    known,
    [...known].sort((a: number, b: number) => a - b),
  );
  assert.ok(
    counts.slice(known.length).every((c: unknown) => c === null),
    'runs without a count come last',
  );
  const down = (await runsOf(mid, 'sort=paramCount&order=desc&page=1&pageSize=20')).body.runs.map((run: any) => run.paramCount);
  assert.deepEqual(down, [...known].sort((a: number, b: number) => b - a).slice(0, 20));
  const best = (await runsOf(mid, 'sort=score&pageSize=5')).body;
  assert.equal(best.order, 'desc', 'AUC: higher first unless asked otherwise');
  assert.equal(best.runs[0].runId, mid.bestRunId);
  const lr = (await runsOf(mid, 'sort=learningRate&order=desc')).body.runs.map((run: any) => run.params.learningRate);
  assert.deepEqual(
    lr,
    [...lr].sort((a: number, b: number) => b - a),
  );
  const numbers = (await runsOf(mid, 'sort=number&order=desc&pageSize=3')).body.runs.map((run: any) => run.number);
  assert.deepEqual(numbers, [64, 63, 62]);
});

test('GET …/runs filters by status (one or several) and by tag, before paging; ranks stay the experiment’s', async () => {
  const failed = (await runsOf(mid, 'status=failed')).body;
  assert.deepEqual(
    failed.runs.map((run: any) => run.status),
    ['failed', 'failed'],
  );
  assert.deepEqual([failed.total, failed.runsTotal], [2, 64]);
  const some = (await runsOf(mid, 'status=failed,queued&sort=number')).body;
  assert.deepEqual(
    some.runs.map((run: any) => run.status),
    ['failed', 'failed', 'queued', 'queued', 'queued'],
  );
  const tagged = (await runsOf(mid, 'tag=keep&page=2&pageSize=4')).body;
  assert.equal(tagged.total, Math.ceil(64 / TAGGED_EVERY));
  assert.equal(tagged.tag, 'keep');
  const whole = (await runsOf(mid, '')).body.runs;
  const keep = new Set(mid.runIds.filter((_, i) => i % TAGGED_EVERY === 0));
  assert.deepEqual(
    ids(tagged),
    whole
      .filter((run: any) => keep.has(run.runId))
      .slice(4, 8)
      .map((run: any) => run.runId),
  );
  assert.ok(
    tagged.runs
      .filter((run: any) => run.rank !== null)
      .every((run: any) => run.rank === whole.find((w: any) => w.runId === run.runId).rank),
  );
});

test('GET …/runs: a bad parameter is a 400 naming it', async () => {
  const bad: [string, string][] = [
    ['page=0', 'page'],
    ['page=-1', 'page'],
    ['page=two', 'page'],
    ['page=1&page=2', 'page'],
    ['pageSize=501', 'pageSize'],
    ['pageSize=0', 'pageSize'],
    ['pageSize=1.5', 'pageSize'],
    ['sort=l2', 'sort'],
    ['sort=scoreMean', 'sort'],
    ['order=up', 'order'],
    ['status=finished', 'status'],
    ['status=done,', 'status'],
    [`tag=${encodeURIComponent('two words')}`, 'tag'],
    ['sample=0', 'sample'],
    ['sample=5001', 'sample'],
    ['sample=10&page=2', 'page'],
    ['sample=10&sort=number', 'sort'],
  ];
  for (const [query, path] of bad) {
    const { status, body } = await runsOf(mid, query);
    assert.equal(status, 400, query);
    assert.equal(body.error.code, 'invalid_argument', query);
    assert.equal(body.error.path, path, query);
    assert.match(body.error.message, new RegExp(`^${path}: `), query);
  }
  assert.equal((await json('/api/experiments/424242/runs?page=1')).status, 404);
});

test('GET …/runs?sample=N: the finished runs the charts draw, then the leading unfinished ones', async () => {
  const all = (await runsOf(mid, 'sample=800')).body;
  assert.deepEqual(all.sample, { shown: 59, finished: 59, top: 59, sampled: false });
  assert.equal(all.runs.filter((run: any) => run.rank !== null).length, 59);
  const sampled = (await runsOf(large, 'sample=300')).body;
  const ranked = sampled.runs.filter((run: any) => run.rank !== null);
  assert.deepEqual(sampled.sample, { shown: ranked.length, finished: 1200, top: 200, sampled: true });
  assert.ok(ranked.length === 300 || ranked.length === 301, `300 runs, and the selected one: ${ranked.length}`);
  assert.deepEqual(
    ranked.slice(0, 200).map((run: any) => run.rank),
    Array.from({ length: 200 }, (_, i) => i + 1),
    'every one of the best 200',
  );
  assert.equal(ranked.at(-1).rank, 1200, 'the spread reaches the worst');
  assert.ok(ranked.some((run: any) => run.selected));
  assert.equal(sampled.runs[0].trainLoss, undefined, 'no curve metrics: the charts do not read them');
});

test(
  'the experiment page renders one page of rows (50) of a 1,200-run experiment, ' + 'with the count, the page and links to the others',
  async () => {
    const { status, html } = await page(`/experiments/${large.experimentId}`);
    assert.equal(status, 200);
    assert.equal(html.match(/<tr data-run-id=/g)?.length, 50);
    assert.ok(html.length < 200_000, `the page stays small: ${html.length} characters`);
    assert.match(html, /Rows <b>1–50<\/b> of 1,200/);
    assert.match(html, /page 1 of 24/);
    assert.match(html, /href="\/experiments\/\d+\?page=2#leaderboard-card" rel="next"/);
    assert.match(html, /<th class="num" aria-sort="ascending"><a class="sort" href="\/experiments\/\d+\?order=desc#leaderboard-card">#/);
    assert.match(html, /rel="preload" as="fetch" crossorigin href="\/api\/experiments\/\d+\/runs\?sample=800"/);

    const page3 = (await page(`/experiments/${large.experimentId}?page=3&sort=number&order=desc`)).html;
    const numbers = [...page3.matchAll(/aria-label="Select run (\d+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(
      numbers,
      Array.from({ length: 50 }, (_, i) => 1200 - 100 - i),
    );
    assert.match(page3, /aria-sort="descending"><a class="sort" href="\/experiments\/\d+\?sort=number#leaderboard-card">Run/);

    // A live refresh asks for the fragments with the address's parameters: the same rows.
    const fragment = (
      await page(`/experiments/${large.experimentId}?page=3&sort=number&order=desc&fragment=leaderboard-rows,leaderboard-pager`)
    ).html;
    assert.deepEqual(
      [...fragment.matchAll(/aria-label="Select run (\d+)"/g)].map((m) => Number(m[1])),
      numbers,
    );
    assert.match(fragment, /Rows <b>101–150<\/b> of 1,200/);
    const bad = await page(`/experiments/${large.experimentId}?page=nope`);
    assert.equal(bad.status, 400);
    assert.match(bad.html, /page: expected a whole number/);
  },
);

test('the page filters by status, its filter form carrying the sort; an empty result says so', async () => {
  const { html } = await page(`/experiments/${mid.experimentId}?status=failed&sort=paramCount`);
  assert.equal(html.match(/<tr data-run-id=/g)?.length, 2);
  assert.match(html, /Rows <b>1–2<\/b> of 2 \(of 64 runs\)/);
  assert.match(html, /<option value="failed" selected>failed<\/option>/);
  assert.match(html, /<input type="hidden" name="sort" value="paramCount">/);
  const none = (await page(`/experiments/${mid.experimentId}?status=pruned`)).html;
  assert.equal(none.match(/<tr data-run-id=/g), null);
  assert.match(none, /No runs \(of 64 runs\) · page 1 of 1/);
});
