import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOutOfFold } from '../../../worker/contract/protocol.js';
import { DEFAULT_PARAMS } from '../../../worker/contract/spec.js';
import { canonicalParamsJson } from '../../../server/search/grid.js';
import { openStorage, type Storage } from '../../../server/storage/storage.js';
import { createBareExperiment } from '../../helpers/bare-experiment.js';

const PARAMS_JSON = canonicalParamsJson(DEFAULT_PARAMS);
const FOLD = { bestEpoch: 1, stoppedEpoch: 2, score: 0.8, bestMetrics: {}, paramCount: 10, trainMs: 5, backend: 'cpu', workerName: 'w' };

/** A finished search run of one fold and a refit run of it started, in a fresh experiment. */
function refitStarted(storage: Storage) {
  const experiment = createBareExperiment(storage);
  storage.runs.createSearchRuns(experiment.experimentId, [PARAMS_JSON], 1);
  const [search] = storage.runs.list(experiment.experimentId);
  storage.runs.startFold(search!.runId, 0, 1);
  storage.finishSearchFold(search!.runId, 0, 1, FOLD);
  const refit = storage.runs.createRefitRun(experiment.experimentId, search!.paramsJson, search!.runId);
  storage.runs.startFold(refit.runId, 0, 1);
  const model = {
    runId: refit.runId,
    experimentId: experiment.experimentId,
    sourceRunId: search!.runId,
    format: 'tfjs-layers',
    path: '/m',
  };
  return { experiment, search: search!, refit, model: { ...model, testMetrics: { test_auc: 0.7 } } };
}

test('finishRefit: the test predictions the result carries are kept with the model, labels and all', () => {
  const storage = openStorage(':memory:');
  const { refit, model, experiment } = refitStarted(storage);
  const testPredictions = encodeOutOfFold(Float32Array.of(0, 1, 1), Float32Array.of(0.25, 0.5, 0.75), 1, ['stayed', 'churned']);
  assert.equal(storage.finishRefit(refit.runId, 1, { ...FOLD, testPredictions }, model), true);
  const [saved] = storage.models.ofExperiment(experiment.experimentId);
  const stored = storage.testPredictions.ofModel(saved!.modelId)!;
  assert.deepEqual([...stored.targets], [0, 1, 1]);
  assert.deepEqual([...stored.predictions], [0.25, 0.5, 0.75]);
  assert.equal(stored.width, 1);
  assert.deepEqual(stored.classes, ['stayed', 'churned']);

  // Deleting the experiment deletes them with the model.
  storage.experiments.delete(experiment.experimentId);
  assert.equal(storage.testPredictions.ofModel(saved!.modelId), null);
  storage.close();
});

test('finishRefit: a result without test predictions (an older worker) records the model and none', () => {
  const storage = openStorage(':memory:');
  const { refit, model, experiment } = refitStarted(storage);
  assert.equal(storage.finishRefit(refit.runId, 1, FOLD, model), true);
  const [saved] = storage.models.ofExperiment(experiment.experimentId);
  assert.equal(storage.testPredictions.ofModel(saved!.modelId), null);
  // A stale attempt records nothing, predictions included.
  const late = encodeOutOfFold(Float32Array.of(1), Float32Array.of(0.9), 1);
  assert.equal(storage.finishRefit(refit.runId, 7, { ...FOLD, testPredictions: late }, model), false);
  assert.equal(storage.testPredictions.ofModel(saved!.modelId), null);
  storage.close();
});

test('out-of-fold store: class labels round-trip (decoded and as the refit task carries them); regression rows have none', () => {
  const storage = openStorage(':memory:');
  const experiment = createBareExperiment(storage);
  storage.runs.createSearchRuns(experiment.experimentId, [PARAMS_JSON], 2);
  const [run] = storage.runs.list(experiment.experimentId);
  const labelled = encodeOutOfFold(Float32Array.of(2, 0), Float32Array.of(0.1, 0.2, 0.7, 0.8, 0.1, 0.1), 3, ['a', 'b', 'c']);
  const regression = encodeOutOfFold(Float32Array.of(3.5), Float32Array.of(3.25), 1);
  for (const [foldIndex, predictions] of [labelled, regression].entries()) {
    storage.runs.startFold(run!.runId, foldIndex, 1);
    storage.finishSearchFold(run!.runId, foldIndex, 1, FOLD, predictions);
  }
  const [first, second] = storage.outOfFold.ofRun(run!.runId);
  assert.deepEqual(first!.classes, ['a', 'b', 'c']);
  assert.equal(first!.width, 3);
  assert.equal(second!.classes, null);
  assert.deepEqual([...second!.targets], [3.5]);
  assert.deepEqual(storage.outOfFold.encodedOfRun(run!.runId), [labelled, regression]);
  storage.close();
});
