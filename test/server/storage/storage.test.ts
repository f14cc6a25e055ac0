import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, openDatabase } from '../../../server/storage/database.js';
import { MIGRATIONS } from '../../../server/storage/migrations.js';
import { openStorage, type Storage } from '../../../server/storage/storage.js';
import { canonicalParamsJson } from '../../../server/search/grid.js';
import { DEFAULT_PARAMS, validateSpec } from '../../../worker/contract/spec.js';

function newExperiment(storage: Storage, name = 'e') {
  return storage.experiments.create({
    name,
    specText: 'x',
    spec: validateSpec({ name, dataset: { kind: 'fraud' } }),
    specHash: 'h',
    datasetKind: 'fraud',
    task: 'binary',
    selectionMetric: 'auc',
    selectionDirection: 'maximize',
  });
}

/** A run's stored hyperparameters: the defaults with this width. */
function paramsJson(width = DEFAULT_PARAMS.width): string {
  return canonicalParamsJson({ ...DEFAULT_PARAMS, width });
}

const result = {
  bestEpoch: 1,
  stoppedEpoch: 2,
  score: 0.8,
  bestMetrics: { val_auc: 0.8 },
  paramCount: 10,
  trainMs: 5,
  backend: 'cpu',
  workerName: 'w',
};

test('openDatabase: WAL mode, foreign keys on, schema at the newest version', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'foldwise-db-')), 'foldwise.db');
  const db = openDatabase(path);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  db.close();
});

test('migrations: a database written by an older release opens, keeps its rows and is upgraded', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'foldwise-db-')), 'old.db');
  const old = openDatabase(path, MIGRATIONS.slice(0, 1));
  old
    .prepare(`INSERT INTO experiments (name, spec_text, spec_json, spec_hash, dataset_kind, task, selection_metric, selection_direction, status, created_at)
    VALUES ('kept', '', '{}', 'h', 'iris', 'multiclass', 'accuracy', 'maximize', 'done', 1)`)
    .run();
  old.close();
  const later = [...MIGRATIONS, { version: MIGRATIONS.at(-1)!.version + 1, sql: 'ALTER TABLE experiments ADD COLUMN notes TEXT' }];
  const db = openDatabase(path, later);
  assert.equal(db.pragma('user_version', { simple: true }), later.at(-1)!.version);
  assert.deepEqual(db.prepare('SELECT name, notes FROM experiments').all(), [{ name: 'kept', notes: null }]);
  db.close();
});

test('migrations: a database from a newer release is refused, not damaged', () => {
  const db = new Database(':memory:');
  db.pragma('user_version = 999');
  assert.throws(() => migrate(db, MIGRATIONS), /schema version 999 is newer than this foldwise/);
});

test('RunStore: duplicate params are not created twice; folds are created with the run', () => {
  const storage = openStorage(':memory:');
  const { experimentId } = newExperiment(storage);
  assert.equal(storage.runs.createSearchRuns(experimentId, [paramsJson(1), paramsJson(2)], 3), 2);
  assert.equal(storage.runs.createSearchRuns(experimentId, [paramsJson(1), paramsJson(3)], 3), 1);
  assert.equal(storage.runs.list(experimentId).length, 3);
  assert.equal(storage.runs.pendingFolds(experimentId).length, 9);
});

test('rows parsed once: a run written before factors and useDotTerm existed reads with their defaults; the spec comes back typed', () => {
  const storage = openStorage(':memory:');
  const { experimentId } = newExperiment(storage);
  const { factors: _factors, useDotTerm: _useDotTerm, ...older } = JSON.parse(paramsJson(8)) as Record<string, unknown>;
  storage.runs.createSearchRuns(experimentId, [JSON.stringify(older)], 1);
  const [run] = storage.runs.list(experimentId);
  assert.deepEqual(run!.params, { ...DEFAULT_PARAMS, width: 8 });
  assert.deepEqual(storage.runs.pendingFolds(experimentId)[0]!.params, run!.params);
  const experiment = storage.experiments.get(experimentId);
  assert.equal(experiment.spec.dataset.kind, 'fraud');
  assert.equal(experiment.spec.seed, 42, 'defaults of the resolved spec');
  assert.equal(experiment.task, 'binary');
});

test('MetricStore: epochs of a stale attempt are ignored; re-sent epochs overwrite instead of duplicating', () => {
  const storage = openStorage(':memory:');
  const { experimentId } = newExperiment(storage);
  storage.runs.createSearchRuns(experimentId, [paramsJson()], 1);
  const [run] = storage.runs.list(experimentId);
  storage.runs.startFold(run!.runId, 0, 1);
  assert.equal(storage.metrics.recordEpoch(run!.runId, 0, 1, 0, { loss: 0.5, val_auc: NaN }), true);
  assert.equal(storage.metrics.recordEpoch(run!.runId, 0, 1, 0, { loss: 0.4 }), true);
  storage.runs.startFold(run!.runId, 0, 2);
  assert.equal(storage.metrics.ofRun(run!.runId).length, 0, 'a new attempt starts from scratch');
  assert.equal(storage.metrics.recordEpoch(run!.runId, 0, 1, 1, { loss: 0.3 }), false, 'late message from attempt 1');
  storage.metrics.recordEpoch(run!.runId, 0, 2, 0, { loss: 0.6, val_auc: Infinity });
  storage.metrics.recordEpoch(run!.runId, 0, 2, 0, { loss: 0.6, val_auc: Infinity });
  assert.deepEqual(
    storage.metrics.ofRun(run!.runId).map((p) => [p.name, p.epoch, p.value]),
    [
      ['loss', 0, 0.6],
      ['val_auc', 0, null],
    ],
    'non-finite stored as NULL',
  );
});

test('RunStore: a fold result from a stale attempt changes nothing; the last fold aggregates the run', () => {
  const storage = openStorage(':memory:');
  const { experimentId } = newExperiment(storage);
  storage.runs.createSearchRuns(experimentId, [paramsJson()], 2);
  const runId = storage.runs.list(experimentId)[0]!.runId;
  storage.runs.startFold(runId, 0, 1);
  storage.runs.startFold(runId, 0, 2);
  assert.equal(storage.runs.finishFold(runId, 0, 1, result), false);
  assert.equal(storage.runs.finishFold(runId, 0, 2, result), true);
  assert.equal(storage.runs.get(runId).status, 'running');
  storage.runs.startFold(runId, 1, 1);
  storage.runs.finishFold(runId, 1, 1, { ...result, score: 0.6, bestEpoch: 4 });
  const run = storage.runs.get(runId);
  assert.equal(run.status, 'done');
  assert.ok(Math.abs(run.scoreMean! - 0.7) < 1e-12);
  assert.ok(Math.abs(run.scoreStd! - 0.1) < 1e-12);
  assert.equal(run.refitEpochs, 4, 'median of best epochs 1 and 4 is 2.5 → round(2.5) + 1');
});

test('ExperimentStore.delete: runs, folds, curves and models go in one cascade', () => {
  const storage = openStorage(':memory:');
  const { experimentId } = newExperiment(storage);
  newExperiment(storage, 'other');
  storage.runs.createSearchRuns(experimentId, [paramsJson()], 1);
  const runId = storage.runs.list(experimentId)[0]!.runId;
  storage.runs.startFold(runId, 0, 1);
  storage.metrics.recordEpoch(runId, 0, 1, 0, { loss: 1 });
  storage.runs.finishFold(runId, 0, 1, result);
  storage.models.save({ runId, experimentId, sourceRunId: runId, format: 'tfjs-layers', path: '/x', testMetrics: {} });
  storage.experiments.delete(experimentId);
  for (const table of ['runs', 'folds', 'metric_points', 'models']) {
    assert.equal((storage.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n, 0, table);
  }
  assert.equal(storage.experiments.list().length, 1);
});

test("RunStore.finishFold: points past the fold's last epoch (left by a dead delivery) are removed", () => {
  const storage = openStorage(':memory:');
  const { experimentId } = newExperiment(storage);
  storage.runs.createSearchRuns(experimentId, [paramsJson()], 1);
  const runId = storage.runs.list(experimentId)[0]!.runId;
  storage.runs.startFold(runId, 0, 1);
  for (let epoch = 0; epoch < 5; epoch++) storage.metrics.recordEpoch(runId, 0, 1, epoch, { loss: 1 });
  storage.runs.finishFold(runId, 0, 1, { ...result, stoppedEpoch: 2 });
  assert.deepEqual(
    storage.metrics.ofRun(runId).map((p) => p.epoch),
    [0, 1, 2],
  );
});
