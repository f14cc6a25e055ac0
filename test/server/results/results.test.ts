import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { NotFoundError } from '../../../server/errors.js';
import { CURVES_HEADER, curveRows, writeCurvesCsv } from '../../../server/results/curves-csv.js';
import { refitModelFor } from '../../../server/results/refit-model.js';
import { resultsCsv } from '../../../server/results/results-csv.js';
import { resultsJson } from '../../../server/results/results-json.js';
import { resultsTable } from '../../../server/results/results-table.js';
import { rankRuns } from '../../../server/selection/ranking.js';
import { openStorage } from '../../../server/storage/storage.js';
import { seedExperiment } from '../../helpers/seed-db.js';
import { scratchDir } from '../../helpers/run-task.js';

const dataDir = scratchDir('foldwise-results-');
const storage = openStorage(join(dataDir, 'foldwise.db'));
const kfold = seedExperiment(storage, {
  name: 'kfold',
  runs: 12,
  folds: 3,
  epochs: 6,
  earlyStop: true,
  failed: 1,
  queued: 2,
  modelDataDir: dataDir,
});
const holdout = seedExperiment(storage, { name: 'holdout', runs: 3, folds: 1, epochs: 4 });
const experiment = storage.experiments.get(kfold.experimentId);
/** The run numbered `number` (#N, as the CSVs and `--run` name runs) of the k-fold experiment. */
const numbered = (number: number) => storage.runs.byNumber(kfold.experimentId, number)!;

/** A CSV cell back as the number (or null) it was written from. */
const numberOrNull = (cell: string | undefined) => (cell === undefined || cell === '' ? null : Number(cell));

test('results CSV: one row per search run, ranked as rankRuns ranks them, every number as stored', () => {
  const rows = parse(resultsCsv(resultsTable(experiment, storage)), { columns: true }) as Record<string, string>[];
  const runs = storage.runs.list(kfold.experimentId);
  assert.equal(rows.length, runs.length);
  const ranked = rankRuns(experiment, runs).map((run) => run.number);
  assert.deepEqual(
    rows.slice(0, ranked.length).map((row) => Number(row.run)),
    ranked,
  );
  assert.deepEqual(
    rows.slice(0, ranked.length).map((row) => Number(row.rank)),
    ranked.map((_, index) => index + 1),
  );
  assert.equal(numbered(Number(rows[0]!.run)).runId, kfold.bestRunId);
  for (const row of rows) {
    const run = numbered(Number(row.run));
    assert.equal(row.status, run.status);
    for (const name of ['depth', 'width', 'learningRate', 'dropout', 'epochs', 'batchSize'] as const)
      assert.equal(row[name], String(run.params[name]), name);
    assert.equal(numberOrNull(row.val_auc_mean), run.scoreMean);
    assert.equal(numberOrNull(row.val_auc_std), run.scoreStd);
    assert.equal(numberOrNull(row.refit_epochs), run.refitEpochs);
    assert.equal(numberOrNull(row.parameters), run.paramCount);
    assert.equal(numberOrNull(row.train_ms), run.trainMs);
    assert.equal(row.error, run.error ?? '');
    for (const fold of storage.runs.folds(run.runId)) {
      assert.equal(numberOrNull(row[`fold_${fold.foldIndex + 1}_val_auc`]), fold.score);
      assert.equal(numberOrNull(row[`fold_${fold.foldIndex + 1}_best_epoch`]), fold.bestEpoch === null ? null : fold.bestEpoch + 1);
    }
  }
  const failed = rows.find((row) => row.status === 'failed')!;
  assert.match(failed.error!, /diverged/);
  assert.equal(rows.filter((row) => row.status === 'queued').length, 2);
  assert.ok(rows.filter((row) => row.status !== 'done').every((row) => row.rank === ''));
});

test('results JSON: the documented shape, and the same numbers as the database', () => {
  const json = JSON.parse(JSON.stringify(resultsJson(resultsTable(experiment, storage))));
  assert.equal(json.format, 'foldwise-results');
  assert.equal(json.version, 1);
  assert.deepEqual(json.experiment, {
    experimentId: kfold.experimentId,
    name: 'kfold',
    task: 'binary',
    status: storage.experiments.get(kfold.experimentId).status,
    datasetKind: 'fraud',
    validation: 'kfold',
    folds: 3,
    repeats: 1,
  });
  const best = storage.runs.get(kfold.bestRunId!);
  assert.deepEqual(json.selection, {
    metric: 'auc',
    direction: 'maximize',
    scoreKey: 'val_auc',
    rule: 'best',
    appliedRule: 'best',
    alpha: 0.05,
    selectedRunId: best.runId,
    selectedRunNumber: best.number,
    bestRunId: best.runId,
    bestRunNumber: best.number,
    standardError: null,
    tiedCount: json.runs.filter((run: any) => run.tied === true).length,
    warning: null,
    testNote: null,
  });
  assert.ok(json.selection.tiedCount >= 1, 'the best is in its own tied group');
  assert.equal(json.runs.length, 12);
  for (const entry of json.runs) {
    const run = storage.runs.get(entry.runId);
    assert.equal(entry.number, run.number);
    assert.equal(entry.selected, run.runId === kfold.bestRunId);
    if (entry.rank === 1) assert.deepEqual([entry.pValue, entry.pAdjusted, entry.tied], [null, null, true]);
    else if (entry.rank !== null) assert.ok(entry.pValue > 0 && entry.pAdjusted >= entry.pValue && typeof entry.tied === 'boolean');
    else assert.deepEqual([entry.pValue, entry.tied], [null, null]);
    assert.equal(entry.status, run.status);
    assert.equal(entry.mean, run.scoreMean);
    assert.equal(entry.std, run.scoreStd);
    assert.equal(entry.paramCount, run.paramCount);
    assert.equal(entry.params.depth, run.params.depth);
    assert.equal(entry.params.factors, undefined, 'only the hyperparameters an mlp reads');
    assert.equal(entry.folds.length, 3);
    const folds = storage.runs.folds(run.runId);
    entry.folds.forEach((fold: any, index: number) => {
      assert.equal(fold.fold, index + 1);
      assert.equal(fold.status, folds[index]!.status);
      assert.equal(fold.score, folds[index]!.score);
      assert.equal(fold.bestEpoch, folds[index]!.bestEpoch === null ? null : folds[index]!.bestEpoch! + 1);
      assert.equal(fold.stoppedEpoch, folds[index]!.stoppedEpoch === null ? null : folds[index]!.stoppedEpoch! + 1);
    });
  }
  assert.equal(json.refits.length, 1);
  assert.equal(json.refits[0].refitRunId, kfold.refitRunId);
  assert.equal(json.refits[0].sourceRunId, kfold.bestRunId);
  assert.equal(json.refits[0].selected, true);
  assert.equal(json.refits[0].refitRunNumber, storage.runs.get(kfold.refitRunId!).number);
  const auc = json.refits[0].metrics.find((m: any) => m.name === 'auc');
  assert.equal(auc.test, storage.models.ofExperiment(kfold.experimentId)[0]!.testMetrics.test_auc);
  assert.equal(typeof auc.cvMean, 'number');
});

test('a holdout run has one split: no std (rather than a misleading 0)', () => {
  const table = resultsTable(storage.experiments.get(holdout.experimentId), storage);
  assert.equal(table.validation, 'holdout');
  assert.ok(table.runs.every((row) => row.std === null && row.mean !== null && row.folds.length === 1));
  const header = resultsCsv(table).split('\n')[0]!;
  assert.match(header, /fold_1_val_auc,val_auc_mean,val_auc_std,p_value_vs_best,p_holm_vs_best,tied_with_best,selected,fold_1_best_epoch/);
  assert.ok(
    table.runs.every((row) => row.pValue === null && row.tied === null),
    'one split: no test',
  );
  assert.match(table.selection.testNote ?? '', /holdout has one split/);
});

test('curves CSV: every stored point once, long format, folds and epochs from 1', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk) => (text += chunk));
  await writeCurvesCsv(curveRows(storage, kfold.experimentId), out);
  const [header, ...rows] = parse(text) as string[][];
  assert.deepEqual(header, [...CURVES_HEADER]);
  const stored = storage.runs.list(kfold.experimentId).flatMap((run) => storage.metrics.ofRun(run.runId));
  assert.ok(stored.length > 100);
  assert.equal(rows.length, stored.length);
  const byKey = new Map(
    rows.map(([run, fold, epoch, metric, value]) => [`${numbered(Number(run)).runId}/${fold}/${epoch}/${metric}`, value]),
  );
  for (const point of stored) {
    const value = byKey.get(`${point.runId}/${point.foldIndex + 1}/${point.epoch + 1}/${point.name}`);
    assert.equal(numberOrNull(value), point.value);
  }
  assert.ok(!rows.some(([run]) => numbered(Number(run)).kind === 'refit'), 'search runs only, as in runs.csv');
});

test('refitModelFor: the selected configuration’s refit by default, a run’s by number or id, errors naming the command', () => {
  const { model, selected } = refitModelFor(storage, experiment);
  assert.equal(model.runId, kfold.refitRunId);
  assert.equal(selected, true);
  const best = storage.runs.get(kfold.bestRunId!);
  const refit = storage.runs.get(kfold.refitRunId!);
  assert.equal(refitModelFor(storage, experiment, { by: 'runNumber', number: best.number }).model.modelId, model.modelId);
  assert.equal(refitModelFor(storage, experiment, { by: 'runNumber', number: refit.number }).model.modelId, model.modelId);
  assert.equal(refitModelFor(storage, experiment, { by: 'runId', runId: best.runId }).model.modelId, model.modelId);
  assert.equal(refitModelFor(storage, experiment, { by: 'modelId', modelId: model.modelId }).refitRun.runId, refit.runId);
  const other = storage.runs.get(kfold.runIds.find((id) => id !== kfold.bestRunId && storage.runs.get(id).status === 'done')!);
  assert.throws(
    () => refitModelFor(storage, experiment, { by: 'runNumber', number: other.number }),
    (error: Error) => error instanceof NotFoundError && error.message.includes(`\`foldwise refit kfold --run ${other.number}\``),
  );
  const failed = storage.runs.get(kfold.runIds.find((id) => storage.runs.get(id).status === 'failed')!);
  assert.throws(() => refitModelFor(storage, experiment, { by: 'runNumber', number: failed.number }), /is failed and has no refit model/);
  assert.throws(
    () => refitModelFor(storage, experiment, { by: 'runNumber', number: 99 }),
    /run #99 is not a run of "kfold"; its runs are #1–#13$/,
    'an unknown number lists the valid ones (12 search runs and the refit)',
  );
  assert.throws(
    () => refitModelFor(storage, experiment, { by: 'runId', runId: holdout.runIds[0]! }),
    new RegExp(`run id ${holdout.runIds[0]} is not a run of "kfold"; runs with a refit model: #${best.number}$`),
  );
  assert.throws(() => refitModelFor(storage, experiment, { by: 'modelId', modelId: 999 }), /model 999 is not a model of "kfold"/);
  const noModels = storage.experiments.get(holdout.experimentId);
  assert.throws(
    () => refitModelFor(storage, noModels),
    /the selected configuration of "holdout" \(run #\d+, rule best\) has no refit model: run `foldwise refit holdout` first$/,
  );
});
