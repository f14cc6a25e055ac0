import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rankProvisional, searchStandings } from '../../../server/selection/provisional.js';
import { rankRuns } from '../../../server/selection/ranking.js';
import { openStorage, type Storage } from '../../../server/storage/storage.js';
import { runCli, tempDir } from '../../helpers/cli.js';
import { startTestDashboard } from '../../helpers/dashboard-server.js';
import { seedExperiment } from '../../helpers/seed-db.js';

/** Finishes one fold of a queued or running run with this validation score, as the coordinator records it. */
function finishFold(storage: Storage, runId: number, foldIndex: number, score: number | null): void {
  storage.runs.startFold(runId, foldIndex, 1);
  storage.runs.finishFold(runId, foldIndex, 1, {
    bestEpoch: 2,
    stoppedEpoch: 4,
    score,
    bestMetrics: { val_auc: score },
    paramCount: 100,
    trainMs: 10,
    backend: 'cpu',
    workerName: 'w',
  });
}

/**
 * Six runs of three folds: two finished, and four the search is still training (folds run in
 * waves): run C 0.97 over 1 fold, B 0.94 over 2, D 0.94 over 1 (a tie with B), E 0.99 over 1 but
 * failed since, F with a fold that finished without a score; the last untouched.
 */
function seedWave(storage: Storage) {
  const seeded = seedExperiment(storage, { name: 'wave', runs: 8, folds: 3, queued: 6, epochs: 5 });
  const [, , b, c, d, e, f, untouched] = seeded.runIds as [number, number, number, number, number, number, number, number];
  finishFold(storage, b, 0, 0.95);
  finishFold(storage, b, 1, 0.93);
  finishFold(storage, c, 0, 0.97);
  finishFold(storage, d, 0, 0.94);
  storage.runs.startFold(d, 1, 1); // training its second fold now
  finishFold(storage, e, 0, 0.99);
  storage.runs.startFold(e, 1, 1);
  storage.runs.failFold(e, 1, 1, 'diverged: loss became NaN', true);
  finishFold(storage, f, 0, null);
  return { seeded, b, c, d, e, f, untouched };
}

test('rankProvisional: unfinished runs by the mean over their finished folds, ties broken as rankRuns does; finished, failed apart', () => {
  const storage = openStorage(':memory:');
  try {
    const { seeded, b, c, d } = seedWave(storage);
    const experiment = storage.experiments.get(seeded.experimentId);
    const runs = storage.runs.list(seeded.experimentId);
    const provisional = rankProvisional(experiment, runs, storage.runs.foldScores(seeded.experimentId));
    // B and D have the same mean (0.94): rankRuns orders them by their hyperparameters' canonical JSON.
    const [first, second] = [b, d].sort((x, y) =>
      runs.find((r) => r.runId === x)!.paramsJson < runs.find((r) => r.runId === y)!.paramsJson ? -1 : 1,
    );
    assert.deepEqual(
      provisional.map((entry) => [entry.run.runId, entry.rank, entry.foldsDone, entry.nFolds]),
      [
        [c, 1, 1, 3],
        [first, 2, first === b ? 2 : 1, 3],
        [second, 3, second === b ? 2 : 1, 3],
      ],
    );
    const ofB = provisional.find((entry) => entry.run.runId === b)!;
    assert.ok(Math.abs(ofB.scoreMean - 0.94) < 1e-12);
    assert.ok(Math.abs(ofB.scoreStd! - 0.01) < 1e-12, 'population std, as the store computes it for finished runs');
    assert.equal(ofB.run.status, 'running', 'the run itself, not the stand-in ranked');
    // Finished runs are rankRuns' and only rankRuns'.
    const finished = rankRuns(experiment, runs).map((run) => run.runId);
    assert.deepEqual(finished.sort(), seeded.runIds.slice(0, 2).sort());
    assert.ok(provisional.every((entry) => !finished.includes(entry.run.runId)));

    const standings = searchStandings(experiment, runs, storage.runs.foldScores(seeded.experimentId));
    assert.equal(standings.best?.runId, rankRuns(experiment, runs)[0]!.runId);
    assert.equal(standings.best?.foldsDone, 3);
    assert.deepEqual(standings.leading, {
      runId: c,
      number: runs.find((r) => r.runId === c)!.number,
      score: 0.97,
      foldsDone: 1,
      nFolds: 3,
    });
  } finally {
    storage.close();
  }
});

test('the leaderboard (API and page) and foldwise show put unfinished runs after the finished, in brackets with (n/k folds)', async () => {
  let wave!: ReturnType<typeof seedWave>;
  const dash = await startTestDashboard({ seed: (storage) => (wave = seedWave(storage)) });
  try {
    const id = wave.seeded.experimentId;
    const board = (await (await fetch(`${dash.url}/api/experiments/${id}/runs`)).json()) as {
      runs: { runId: number; rank: number | null; provisional: { rank: number; foldsDone: number; scoreMean: number } | null }[];
    };
    const order = board.runs.map((run) => [run.rank, run.provisional?.rank ?? null]);
    assert.deepEqual(order.slice(0, 5), [
      [1, null],
      [2, null],
      [null, 1],
      [null, 2],
      [null, 3],
    ]);
    assert.equal(board.runs[2]!.runId, wave.c);
    assert.ok(
      board.runs.slice(5).every((run) => run.provisional === null && run.rank === null),
      'failed, scoreless and queued runs last',
    );

    const html = await (await fetch(`${dash.url}/experiments/${id}`)).text();
    const row = new RegExp(`<tr data-run-id="${wave.c}"[^]*?</tr>`).exec(html)![0];
    assert.match(row, /<span class="provisional"[^>]*>\(1\)<\/span>/);
    // One finished fold: a score without a spread it never measured.
    assert.match(row, /0\.9700 <small class="folds">\(1\/3 folds\)<\/small>/);
  } finally {
    await dash.close();
  }

  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  const { c } = seedWave(storage);
  const number = storage.runs.get(c).number;
  storage.close();
  const shown = await runCli(['show', 'wave'], dataDir);
  assert.equal(shown.code, 0, shown.stderr);
  const line = shown.stdout.split('\n').find((text) => text.startsWith('(1) '));
  assert.ok(line, shown.stdout);
  assert.match(line, new RegExp(`^\\(1\\)\\s+#${number}\\s.*0\\.9700 \\(1/3 folds\\)`));
  assert.match(shown.stdout, /\(N\): 3 unfinished runs, ranked apart by the mean over the folds they have finished\./);
});
