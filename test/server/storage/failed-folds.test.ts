import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../../server/storage/storage.js';
import { createBareExperiment, foldResult } from '../../helpers/bare-experiment.js';
import { canonicalParamsJson } from '../../../server/search/grid.js';
import { DEFAULT_PARAMS } from '../../../worker/contract/spec.js';

function setUp(nFolds = 3) {
  const storage = openStorage(join(mkdtempSync(join(tmpdir(), 'foldwise-failed-folds-')), 'foldwise.db'));
  const experiment = createBareExperiment(storage);
  const params = [4, 8].map((width) => canonicalParamsJson({ ...DEFAULT_PARAMS, width }));
  storage.runs.createSearchRuns(experiment.experimentId, params, nFolds);
  const [first, second] = storage.runs.list(experiment.experimentId).map((run) => run.runId) as [number, number];
  return { storage, experimentId: experiment.experimentId, first, second };
}

const fold = (bestEpoch: number) => foldResult({ bestEpoch, stoppedEpoch: bestEpoch });

test('a run that fails for good marks its untrained folds failed with why; a fold training elsewhere is left to finish', () => {
  const { storage, first } = setUp();
  storage.runs.startFold(first, 0, 1);
  storage.runs.startFold(first, 1, 1);
  storage.metrics.recordEpoch(first, 0, 1, 0, { loss: 0.7 });
  storage.runs.failFold(first, 0, 1, 'diverged: the loss became NaN at epoch 1', true, 'w');
  const folds = storage.runs.folds(first);
  assert.deepEqual(
    folds.map((f) => [f.status, f.error]),
    [
      ['failed', 'diverged: the loss became NaN at epoch 1'],
      ['running', null],
      ['failed', 'not trained: fold 1 failed (diverged: the loss became NaN at epoch 1)'],
    ],
  );
  assert.equal(storage.runs.get(first).status, 'failed');
  // A retried (not final) failure leaves the other folds queued.
  const { storage: other, second } = setUp();
  other.runs.startFold(second, 0, 1);
  other.runs.failFold(second, 0, 1, 'worker crashed', false);
  assert.deepEqual(
    other.runs.folds(second).map((f) => f.status),
    ['interrupted', 'queued', 'queued'],
  );
});

test("resuming keeps a failed run's curve (a diverged fold's epochs); only folds that train again lose their points", () => {
  const { storage, experimentId, first, second } = setUp(2);
  // The first run diverged in its second epoch: its first epoch's points are its only curve.
  storage.runs.startFold(first, 0, 1);
  storage.metrics.recordEpoch(first, 0, 1, 0, { loss: 0.7, val_auc: 0.6 });
  storage.runs.failFold(first, 0, 1, 'diverged', true);
  // The second: fold 0 done, fold 1 interrupted half-way.
  storage.runs.startFold(second, 0, 1);
  storage.metrics.recordEpoch(second, 0, 1, 0, { loss: 0.5 });
  storage.runs.finishFold(second, 0, 1, fold(0));
  storage.runs.startFold(second, 1, 1);
  storage.metrics.recordEpoch(second, 1, 1, 0, { loss: 0.6 });
  storage.runs.markInterrupted(experimentId);

  storage.runs.requeueUnfinished(experimentId);
  assert.equal(storage.metrics.ofRun(first).length, 2, 'the diverged fold keeps its epoch');
  assert.deepEqual(
    storage.metrics.ofRun(second).map((p) => p.foldIndex),
    [0],
    'the interrupted fold starts over, the finished one is kept',
  );
  assert.deepEqual(
    storage.runs.pendingFolds(experimentId).map((p) => [p.runId, p.foldIndex]),
    [[second, 1]],
  );
});
