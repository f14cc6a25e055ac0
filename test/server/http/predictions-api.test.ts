import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { confusionAt } from '../../../worker/training/metrics.js';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../../helpers/seed-db.js';
import { IRIS_CLASSES, seedPredictions, type SeededPredictions } from '../../helpers/seed-predictions.js';

let dash: TestDashboard;
const seeded: Partial<Record<'binary' | 'untuned' | 'multiclass' | 'regression', SeededPredictions>> = {};
let old: SeededExperiment;

before(async () => {
  dash = await startTestDashboard({
    copyExperiments: false,
    seed: (storage) => {
      seeded.binary = seedPredictions(storage, 'binary');
      seeded.untuned = seedPredictions(storage, 'binary', { name: 'untuned', threshold: false, seed: 3 });
      seeded.multiclass = seedPredictions(storage, 'multiclass');
      seeded.regression = seedPredictions(storage, 'regression');
      // Runs recorded before predictions were kept.
      old = seedExperiment(storage, { name: 'old', runs: 2, folds: 3, epochs: 3 });
    },
  });
});
after(() => dash.close());

/** The JSON the charts read, checked field by field. */
async function predictions(experimentId: number, runId: number, status = 200): Promise<any> {
  const response = await fetch(`${dash.url}/api/experiments/${experimentId}/runs/${runId}/predictions`);
  assert.equal(response.status, status);
  return response.json();
}

test('predictions API, binary: curves per fold with their band, the frozen threshold, the test split, the slider', async () => {
  const s = seeded.binary!;
  const data = await predictions(s.experimentId, s.runIds[0]!);
  assert.equal(data.kind, 'binary');
  assert.deepEqual([data.positiveClass, data.negativeClass], ['1', '0']);
  assert.equal(data.threshold.value, s.threshold);
  assert.equal(data.threshold.source, 'refit');
  assert.match(data.threshold.label, /^frozen by refit #3: the best F1 on the pooled out-of-fold predictions$/);
  assert.equal(data.roc.folds.length, 3);
  assert.equal(data.roc.grid.length, 101);
  for (const set of [data.roc, data.pr]) {
    set.mean.forEach((mean: number, i: number) => {
      assert.ok(set.min[i] <= mean + 1e-12 && mean <= set.max[i] + 1e-12);
    });
    assert.equal(set.test.length, 101, 'the refit test curve');
  }
  assert.deepEqual(data.test, { refitRunNumber: 3, modelId: s.modelId, rows: s.testRows });
  assert.equal(data.testNote, null);
  const stored = dash.storage.testPredictions.ofModel(s.modelId)!;
  assert.deepEqual(data.points.test.confusion, confusionAt(stored.targets, stored.predictions, s.threshold!));
  // The slider: a few hundred stops, lowest threshold first, starting at the operating threshold; no rows shipped.
  const { rows, start } = data.slider;
  assert.ok(rows.length > 100 && rows.length <= 301, `${rows.length} stops`);
  assert.equal(rows[start].threshold, s.threshold);
  assert.deepEqual({ tp: rows[start].tp, fp: rows[start].fp, tn: rows[start].tn, fn: rows[start].fn }, data.points.pooled.confusion);
  const bins = data.calibration.outOfFold;
  assert.equal(bins.length, 10);
  assert.equal(
    bins.reduce((sum: number, bin: { count: number }) => sum + bin.count, 0),
    3 * s.foldRows,
  );
  assert.equal(data.calibration.test.length, 10);

  // The refit run's page draws its source run's folds and its own test split.
  const ofRefit = await predictions(s.experimentId, s.refitRunId);
  assert.equal(ofRefit.sourceRunNumber, 1);
  assert.deepEqual(ofRefit.roc, data.roc);
  // The runner-up has no refit: no test split, and says why.
  const runnerUp = await predictions(s.experimentId, s.runIds[1]!);
  assert.equal(runnerUp.test, null);
  assert.equal(runnerUp.roc.test, null);
  assert.equal(runnerUp.points.test, null);
  assert.equal(runnerUp.testNote, 'not refitted yet: a refit scores the test split once');
  assert.equal(runnerUp.threshold.source, 'cross-validation', 'chosen on its own out-of-fold predictions, as a refit would');
});

test('predictions API, binary without selection.threshold: 0.5, said to be the default', async () => {
  const s = seeded.untuned!;
  const data = await predictions(s.experimentId, s.runIds[0]!);
  assert.equal(data.threshold.value, 0.5);
  assert.equal(data.threshold.source, 'default');
  assert.match(data.threshold.label, /the default: no selection\.threshold/);
  const runnerUp = await predictions(s.experimentId, s.runIds[1]!);
  assert.deepEqual(runnerUp.threshold, { value: 0.5, source: 'default', label: 'the default 0.5: no selection.threshold' });
});

test('predictions API, multiclass: the pooled out-of-fold and the test confusion matrices, labelled', async () => {
  const s = seeded.multiclass!;
  const data = await predictions(s.experimentId, s.runIds[0]!);
  assert.equal(data.kind, 'multiclass');
  assert.deepEqual(data.classes, IRIS_CLASSES);
  const total = (m: number[][]) => m.flat().reduce((a, b) => a + b, 0);
  assert.equal(total(data.outOfFold), 3 * s.foldRows);
  assert.equal(total(data.testCounts), s.testRows);
  assert.deepEqual(
    data.outOfFold.map((row: number[]) => row.reduce((a, b) => a + b, 0)),
    [s.foldRows, s.foldRows, s.foldRows],
    'each class a third of the rows',
  );
});

test('predictions API, regression: predicted against actual, sampled to 2,000 points; the test split whole', async () => {
  const s = seeded.regression!;
  const data = await predictions(s.experimentId, s.runIds[0]!);
  assert.equal(data.kind, 'regression');
  assert.equal(data.outOfFold.total, 3 * s.foldRows);
  assert.equal(data.outOfFold.actual.length, 2000);
  assert.equal(data.outOfFold.predicted.length, 2000);
  assert.equal(data.testPoints.actual.length, s.testRows);
  const stored = dash.storage.outOfFold.ofRun(s.runIds[0]!)[0]!;
  assert.equal(data.outOfFold.actual[0], Number(stored.targets[0]!.toPrecision(7)));
});

test('predictions API: a run recorded before predictions were kept says so; an unknown run is a 404', async () => {
  const data = await predictions(old.experimentId, old.runIds[0]!);
  assert.equal(data.kind, 'none');
  assert.match(data.message, /trained before foldwise kept out-of-fold predictions/);
  const missing = await predictions(old.experimentId, 99_999, 404);
  assert.equal(missing.error.code, 'not_found');
  await predictions(seeded.binary!.experimentId, old.runIds[0]!, 404);
});
