import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectionOf, type Selection } from '../../../server/selection/selection.js';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../../helpers/seed-db.js';

let dash: TestDashboard;
let seeded: SeededExperiment;
let holdout: SeededExperiment;
let selection: Selection;

// An experiment after another (so run numbers are not run ids) with the best run refitted, then a newer refit of the runner-up.
before(async () => {
  dash = await startTestDashboard({
    copyExperiments: false,
    seed: (storage, { dataDir }) => {
      holdout = seedExperiment(storage, { name: 'holdout', runs: 3, folds: 1, epochs: 4 });
      seeded = seedExperiment(storage, { name: 'ranked', runs: 30, folds: 3, epochs: 12, earlyStop: true, seed: 6, modelDataDir: dataDir });
      const experiment = storage.experiments.get(seeded.experimentId);
      selection = selectionOf(experiment, storage.runs);
      const runnerUp = selection.ranked[1]!;
      const refit = storage.runs.createRefitRun(seeded.experimentId, runnerUp.paramsJson, runnerUp.runId);
      storage.runs.startFold(refit.runId, 0, 1);
      const result = {
        bestEpoch: 1,
        stoppedEpoch: 1,
        score: 0.8,
        bestMetrics: {},
        paramCount: 1,
        trainMs: 1,
        backend: 'cpu',
        workerName: 'w',
      };
      const model = { runId: refit.runId, experimentId: seeded.experimentId, sourceRunId: runnerUp.runId, format: 'tfjs-layers' };
      storage.finishRefit(refit.runId, 1, result, { ...model, path: `${dataDir}/models/ranked/run-x`, testMetrics: {} }, Date.now() + 1000);
    },
  });
});
after(() => dash.close());

const page = async (path: string) => {
  const response = await fetch(dash.url + path);
  assert.equal(response.status, 200, path);
  return response.text();
};

test('leaderboard: run numbers, the tied group tagged with its p-value, the selected run tagged', async () => {
  const html = await page(`/experiments/${seeded.experimentId}`);
  const best = selection.best!;
  assert.notEqual(best.runId, best.number);
  assert.match(
    html,
    new RegExp(`href="/experiments/${seeded.experimentId}/runs/${best.runId}">#${best.number}</a> <span class="tag best">`),
  );
  const tied = selection.ranked.filter((run) => selection.comparisons.get(run.runId)?.tied === true && run !== best);
  const worse = selection.ranked.filter((run) => selection.comparisons.get(run.runId)?.tied === false);
  assert.ok(tied.length > 0 && worse.length > 0, 'the seeded grid has both');
  for (const run of tied) assert.match(html, new RegExp(`runs/${run.runId}">#${run.number}</a> <span class="tag tied" title="not signif`));
  for (const run of worse) assert.doesNotMatch(html, new RegExp(`runs/${run.runId}">#${run.number}</a> <span class="tag tied"`));
  assert.equal(html.match(/<span class="tag selected" title="the configuration the selection rule chose">/g)?.length, 1);
  assert.match(html, new RegExp(`<b>${tied.length + 1}</b> of 30 finished runs are not significantly different from the best`));
});

test('refit panel: the selected configuration’s refit first, marked, though a runner-up’s refit is newer', async () => {
  const html = await page(`/experiments/${seeded.experimentId}`);
  const refit = html.slice(html.indexOf('id="refit"'));
  const cards = [...refit.matchAll(/<strong>Refit of run <a href="[^"]+">#(\d+)<\/a>( <span class="tag selected")?/g)];
  assert.deepEqual(
    cards.map((card) => [Number(card[1]), card[2] !== undefined]),
    [
      [selection.selected!.number, true],
      [selection.ranked[1]!.number, false],
    ],
  );
  assert.match(refit, new RegExp(`Refit best \\(#${selection.selected!.number}\\)`));
  assert.match(refit, /1 other refit/);
});

test('compare: tags, p vs the best, and the fold-by-fold table with differences and the corrected test', async () => {
  const [first, second] = selection.ranked as [(typeof selection.ranked)[0], (typeof selection.ranked)[0]];
  const html = await page(`/experiments/${seeded.experimentId}/compare?runs=${second.runId},${first.runId}`);
  assert.match(html, new RegExp(`<title>Compare #${second.number}, #${first.number} · ranked`));
  assert.match(html, /<th>p vs the best <span class="muted small">\(Holm\)<\/span><\/th>/);
  const fold = html.slice(html.indexOf('id="fold-comparison"'), html.indexOf('</section>', html.indexOf('id="fold-comparison"')));
  assert.match(fold, new RegExp(`the best-ranked of these runs \\(#${first.number}\\)`));
  const scores = dash.storage.runs.foldScores(seeded.experimentId);
  const difference = scores.get(second.runId)!.get(0)! - scores.get(first.runId)!.get(0)!;
  assert.ok(fold.includes(`<td class="num delta">${difference.toFixed(4)}</td>`), `fold 1 Δ ${difference.toFixed(4)}`);
  const p = /<tr class="key"><th>p<\/th>.*?<td class="num strong">([\d.]+)<\/td>/s.exec(fold)?.[1];
  assert.ok(p !== undefined && Number(p) > 0 && Number(p) <= 1, `a p-value: ${p}`);
  assert.ok(fold.includes('<td class="num muted">reference</td>'));
});

test('a holdout: no tied group, and the page says why', async () => {
  const html = await page(`/experiments/${holdout.experimentId}`);
  assert.match(html, /No tied group: a holdout has one split: no paired test against the best is possible\./);
  assert.doesNotMatch(html, /class="tag tied" title/);
});
