import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../../helpers/seed-db.js';
import { searchTpe, tpeRunner } from '../../helpers/tpe-experiment.js';
import { printLeaderboard } from '../../../server/cli/show.js';
import { MAX_TAGS, NOTE_MAX_CHARS } from '../../../server/services/notes.js';

let dash: TestDashboard;
let grid: SeededExperiment;
let other: SeededExperiment;
let tpeId: number;

before(async () => {
  dash = await startTestDashboard({
    runner: tpeRunner(),
    seed: (storage) => {
      grid = seedExperiment(storage, { name: 'noted', runs: 8, folds: 3, epochs: 5 });
      other = seedExperiment(storage, { name: 'other', runs: 2, folds: 2, epochs: 3 });
    },
  });
  tpeId = await searchTpe(dash.coordinator);
});
after(() => dash.close());

const json = async (path: string, init?: RequestInit) => {
  const response = await fetch(dash.url + path, init);
  return { status: response.status, body: (await response.json()) as any };
};
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  json(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

test('GET /api/experiments/:id/trials of a TPE search: trials in order, states, values, log ranges, PED-ANOVA importance', async () => {
  const { status, body } = await json(`/api/experiments/${tpeId}/trials`);
  assert.equal(status, 200);
  assert.equal(body.strategy, 'tpe');
  assert.deepEqual(
    body.trials.map((t: any) => t.number),
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  assert.ok(
    body.trials.some((t: any) => t.state === 'pruned'),
    'ASHA pruned some trials',
  );
  for (const trial of body.trials) {
    assert.ok(['complete', 'pruned'].includes(trial.state));
    assert.equal(typeof trial.score, 'number');
    assert.deepEqual(Object.keys(trial.values).sort(), ['activation', 'dropout', 'learningRate', 'width']);
    assert.ok(trial.finishedAt >= trial.startedAt);
  }
  const byName = Object.fromEntries(body.dimensions.map((d: any) => [d.name, d]));
  assert.deepEqual(byName.learningRate, { name: 'learningRate', kind: 'float', low: 1e-4, high: 0.1, log: true, step: null });
  assert.equal(byName.width.log, true);
  assert.equal(byName.dropout.log, false);
  assert.deepEqual(byName.activation.choices, ['relu', 'tanh']);
  const importance = body.importance;
  assert.equal(importance.method, 'ped-anova');
  assert.equal(importance.trials, body.trials.filter((t: any) => t.state === 'complete').length, 'complete trials only');
  assert.ok(Math.abs(importance.values.reduce((sum: number, v: any) => sum + v.importance, 0) - 1) < 1e-9);
  assert.equal(importance.values[0].name, 'learningRate', 'the scripted score moves most with the learning rate');
});

test('GET /api/experiments/:id/trials of a grid: its axes as choices, every run a trial; unknown id 404, malformed 400', async () => {
  const { status, body } = await json(`/api/experiments/${grid.experimentId}/trials`);
  assert.equal(status, 200);
  assert.equal(body.strategy, 'grid');
  assert.ok(body.dimensions.length > 0 && body.dimensions.every((d: any) => d.kind === 'categorical'));
  assert.equal(body.trials.length, 8);
  assert.ok(body.importance === null || body.importance.values.length === body.dimensions.length);
  assert.equal((await json('/api/experiments/99999/trials')).status, 404);
  assert.equal((await json('/api/experiments/abc/trials')).status, 400);
});

test('notes on an experiment: saved, read back, one field replaced at a time, cleared; shown on the page', async () => {
  const path = `/api/experiments/${grid.experimentId}/notes`;
  assert.deepEqual((await json(path)).body.notes, { note: '', tags: [], updatedAt: null });
  const saved = await post(path, {
    note: '  Baseline grid.\r\nWidth matters little. <b>bold</b>  ',
    tags: ['baseline', 'grid', 'baseline'],
  });
  assert.equal(saved.status, 200);
  assert.equal(saved.body.notes.note, 'Baseline grid.\nWidth matters little. <b>bold</b>');
  assert.deepEqual(saved.body.notes.tags, ['baseline', 'grid']);
  assert.equal(typeof saved.body.notes.updatedAt, 'number');
  const tagsOnly = await post(path, { tags: 'first, second third' });
  assert.deepEqual(tagsOnly.body.notes.tags, ['first', 'second', 'third']);
  assert.equal(tagsOnly.body.notes.note, saved.body.notes.note, 'the note stays');
  const page = await (await fetch(`${dash.url}/experiments/${grid.experimentId}`)).text();
  assert.match(page, /Width matters little\. &lt;b&gt;bold&lt;\/b&gt;/);
  assert.match(page, /<span class="tag user-tag">second<\/span>/);
  const cleared = await post(path, { note: '', tags: [] });
  assert.deepEqual(cleared.body.notes, { note: '', tags: [], updatedAt: null });
});

test('tags on runs filter the leaderboard (JSON and page, ranks kept); the form without JavaScript redirects back', async () => {
  const [a, b, c] = grid.runIds as number[];
  await post(`/api/experiments/${grid.experimentId}/runs/${a}/notes`, { tags: ['promising'], note: 'try wider' });
  await post(`/api/experiments/${grid.experimentId}/runs/${b}/notes`, { tags: ['promising', 'slow'] });
  const form = await fetch(`${dash.url}/experiments/${grid.experimentId}/runs/${c}/notes`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'note=from+the+form&tags=slow',
    redirect: 'manual',
  });
  assert.equal(form.status, 303);
  assert.equal(form.headers.get('location'), `/experiments/${grid.experimentId}/runs/${c}#notes`);
  assert.deepEqual((await json(`/api/experiments/${grid.experimentId}/runs/${c}/notes`)).body.notes.tags, ['slow']);

  const all = (await json(`/api/experiments/${grid.experimentId}/runs`)).body;
  const promising = (await json(`/api/experiments/${grid.experimentId}/runs?tag=promising`)).body;
  assert.deepEqual(promising.runs.map((r: any) => r.runId).sort(), [a, b].sort());
  assert.equal(promising.runsTotal, all.runs.length);
  for (const run of promising.runs)
    assert.equal(run.rank, all.runs.find((r: any) => r.runId === run.runId).rank, 'ranks are the experiment’s');
  assert.deepEqual((await json(`/api/experiments/${grid.experimentId}/runs?tag=nothing-has-it`)).body.runs, []);

  const html = await (await fetch(`${dash.url}/experiments/${grid.experimentId}?tag=slow`)).text();
  const rows = [...html.matchAll(/<tr data-run-id="(\d+)"/g)].map((m) => Number(m[1]));
  assert.deepEqual(rows.sort(), [b, c].sort());
  assert.match(html, /<option value="promising">promising \(2\)<\/option>/);
  assert.match(html, /<option value="slow" selected>slow \(2\)<\/option>/);
  assert.match(html, /2 of 8 runs tagged <b>slow<\/b>/);
  // A run's page shows its notes, its tags linking to the filtered leaderboard.
  const runPage = await (await fetch(`${dash.url}/experiments/${grid.experimentId}/runs/${a}`)).text();
  assert.match(runPage, /try wider/);
  assert.match(runPage, new RegExp(`href="/experiments/${grid.experimentId}\\?tag=promising#leaderboard-card"`));
});

test('notes: bad input is 400 naming the field, too long is 400, nothing is written; wrong run 404; cross-origin 403', async () => {
  const path = `/api/experiments/${other.experimentId}/notes`;
  const cases: [unknown, RegExp][] = [
    [{ note: 42 }, /^note: expected text/],
    [{ note: 'x'.repeat(NOTE_MAX_CHARS + 1) }, new RegExp(`^note: at most ${NOTE_MAX_CHARS} characters, got ${NOTE_MAX_CHARS + 1}`)],
    [{ tags: ['ok', 'not ok'] }, /^tags\.1: "not ok" is not a tag: use letters, digits/],
    [{ tags: 'fine, <script>' }, /^tags: "<script>" is not a tag/],
    [{ tags: ['x'.repeat(33)] }, /^tags\.0: .* longer than 32 characters/],
    [{ tags: Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`) }, new RegExp(`^tags: at most ${MAX_TAGS} tags, got ${MAX_TAGS + 1}`)],
    [{ tags: [1, 2] }, /^tags/],
    [{ note: 'a', color: 'red' }, /^\(body\): .*color/],
    [{}, /^\(body\): expected note or tags/],
  ];
  for (const [body, message] of cases) {
    const response = await post(path, body);
    assert.equal(response.status, 400, JSON.stringify(body).slice(0, 80));
    assert.equal(response.body.error.code, 'invalid_argument');
    assert.match(response.body.error.message, message);
    assert.ok(!response.body.error.message.includes('\n') && !/at .*\.ts/.test(response.body.error.message), 'one line, no stack');
  }
  assert.deepEqual((await json(path)).body.notes, { note: '', tags: [], updatedAt: null }, 'nothing written');
  assert.equal((await post(`/api/experiments/${other.experimentId}/runs/${grid.runIds[0]}/notes`, { note: 'x' })).status, 404);
  assert.equal((await post('/api/experiments/99999/notes', { note: 'x' })).status, 404);
  const forged = await post(path, { note: 'forged' }, { Origin: 'http://evil.test' });
  assert.equal(forged.status, 403);
  const crossSite = await post(path, { note: 'forged' }, { 'Sec-Fetch-Site': 'cross-site' });
  assert.equal(crossSite.status, 403);
  assert.equal((await json(path)).body.notes.note, '');
  const badTag = await json(`/api/experiments/${other.experimentId}/runs?tag=${encodeURIComponent('a b')}`);
  assert.equal(badTag.status, 400);
  assert.match(badTag.body.error.message, /^tag: /);
});

test('foldwise show prints the experiment’s notes under its header and each annotated run’s under the leaderboard', async () => {
  await post(`/api/experiments/${tpeId}/notes`, { note: 'TPE on fake data\nsecond line', tags: ['views'] });
  const best = (await json(`/api/experiments/${tpeId}/runs`)).body.runs[0];
  await post(`/api/experiments/${tpeId}/runs/${best.runId}/notes`, { note: 'the one', tags: ['keep'] });
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(' '));
  try {
    printLeaderboard(dash.storage, dash.storage.experiments.get(tpeId));
  } finally {
    console.log = log;
  }
  const text = lines.join('\n');
  assert.match(text, /^Notes: \[views\] TPE on fake data \/ second line$/m);
  assert.match(text, new RegExp(`^Notes on runs:\\n  #${best.number} \\[keep\\] the one$`, 'm'));
});
