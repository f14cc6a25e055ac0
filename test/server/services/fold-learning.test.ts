import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalParamsJson } from '../../../server/search/grid.js';
import { neverLearnedFolds } from '../../../server/services/fold-learning.js';
import type { Fold } from '../../../server/storage/run-store.js';
import type { Storage } from '../../../server/storage/storage.js';
import { createBareExperiment } from '../../helpers/bare-experiment.js';
import { DEFAULT_PARAMS } from '../../../worker/contract/spec.js';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';

const foldOf = (foldIndex: number, bestMetrics: Record<string, number | null> | null, status: Fold['status'] = 'done'): Fold => ({
  runId: 1,
  foldIndex,
  status,
  attempt: 1,
  bestEpoch: 3,
  stoppedEpoch: 5,
  score: null,
  bestMetrics,
  trainMs: 10,
  workerName: 'w',
  error: null,
  startedAt: 0,
  finishedAt: 1,
});
const aucs = (...values: number[]) => values.map((auc, i) => foldOf(i, { val_loss: 0.3, val_auc: auc }));

test('neverLearnedFolds: a fold at chance AUC while the others learned is flagged, with the numbers', () => {
  assert.deepEqual(
    [...neverLearnedFolds('binary', aucs(0.91, 0.5, 0.89))],
    [[1, { metric: 'val_auc', chance: 0.5, score: 0.5, othersMedian: 0.9 }]],
  );
  assert.deepEqual([...neverLearnedFolds('binary', aucs(0.93, 0.9, 0.42, 0.88, 0.91)).keys()], [2], 'below chance too');
  const regression = [0.8, 0.01, 0.75].map((r2, i) => foldOf(i, { val_rmse: 1, val_r2: r2 }));
  assert.deepEqual([...neverLearnedFolds('regression', regression).keys()], [1]);
  assert.deepEqual([...neverLearnedFolds('binary', [...aucs(0.9, 0.9), foldOf(2, { val_auc: 0.5 }, 'pruned')]).keys()], [2]);
});

test('neverLearnedFolds: nothing to flag when every fold is at chance, the others learned little, or there is no other fold', () => {
  assert.equal(neverLearnedFolds('binary', aucs(0.5, 0.52, 0.49)).size, 0, 'the data, not the fold');
  assert.equal(neverLearnedFolds('binary', aucs(0.5, 0.62, 0.6)).size, 0, 'the others barely learned either');
  assert.equal(neverLearnedFolds('binary', aucs(0.5)).size, 0, 'a holdout');
  assert.equal(neverLearnedFolds('binary', aucs(0.56, 0.9, 0.9)).size, 0, 'above chance');
  assert.equal(neverLearnedFolds('multiclass', aucs(0.5, 0.9, 0.9)).size, 0, 'no chance level known');
  const unfinished = [foldOf(0, null, 'failed'), foldOf(1, { val_auc: null }), ...aucs(0.9).map((f) => ({ ...f, foldIndex: 2 }))];
  assert.equal(neverLearnedFolds('binary', unfinished).size, 0, 'unscored folds are neither flagged nor compared');
});

let dash: TestDashboard;
let stuckRunId: number;
let failedRunId: number;

function seed(storage: Storage): void {
  const experiment = createBareExperiment(storage, 'stuck', { validation: { kind: 'kfold', k: 3 } });
  const { experimentId } = experiment;
  storage.runs.createSearchRuns(
    experimentId,
    [8, 16].map((width) => canonicalParamsJson({ ...DEFAULT_PARAMS, width })),
    3,
  );
  [stuckRunId, failedRunId] = storage.runs.list(experimentId).map((run) => run.runId) as [number, number];
  [0.91, 0.5, 0.89].forEach((auc, foldIndex) => {
    storage.runs.startFold(stuckRunId, foldIndex, 1);
    storage.metrics.recordEpoch(stuckRunId, foldIndex, 1, 0, { loss: 0.6, val_loss: 0.6, val_auc: auc });
    const result = { bestEpoch: 0, stoppedEpoch: 0, score: auc, bestMetrics: { val_auc: auc }, paramCount: 9, trainMs: 4 };
    storage.runs.finishFold(stuckRunId, foldIndex, 1, { ...result, backend: 'cpu', workerName: 'w' });
  });
  storage.runs.startFold(failedRunId, 0, 1);
  storage.runs.failFold(failedRunId, 0, 1, 'diverged: training diverged: the loss became NaN at epoch 0', true, 'w');
  storage.experiments.setStatus(experimentId, 'done');
}

before(async () => {
  dash = await startTestDashboard({ copyExperiments: false, seed });
});
after(() => dash.close());

test('the run page flags the fold that never learned and says why the untrained folds of a failed run did not train', async () => {
  const experimentId = dash.storage.runs.get(stuckRunId).experimentId;
  const html = await (await fetch(`${dash.url}/experiments/${experimentId}/runs/${stuckRunId}`)).text();
  assert.equal(html.match(/<span class="tag warn">never learned<\/span>/g)?.length, 1, 'one fold flagged');
  assert.match(
    html,
    /validation AUC 0\.5000, at chance \(0\.5\), while the other folds reach 0\.9000 \(median\): this fold's model never learned/i,
  );
  const json = (await (await fetch(`${dash.url}/api/experiments/${experimentId}/runs/${stuckRunId}`)).json()) as {
    folds: { neverLearned: unknown }[];
  };
  assert.deepEqual(
    json.folds.map((f) => f.neverLearned),
    [null, { metric: 'val_auc', chance: 0.5, score: 0.5, othersMedian: 0.9 }, null],
  );
  const failed = await (await fetch(`${dash.url}/experiments/${experimentId}/runs/${failedRunId}`)).text();
  assert.equal(failed.match(/not trained: fold 1 failed \(diverged: training diverged: the loss became NaN at epoch 0\)/g)?.length, 4);
  assert.ok(!/>queued</.test(failed.slice(failed.indexOf('id="fold-table"'))), 'no fold left queued');
});
