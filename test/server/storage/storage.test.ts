import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, openDatabase } from '../../../server/storage/database.js';
import { MIGRATIONS } from '../../../server/storage/migrations.js';
import { openStorage, type Storage } from '../../../server/storage/storage.js';
import { createBareExperiment, foldResult } from '../../helpers/bare-experiment.js';
import type { NewExperiment } from '../../../server/storage/experiment-store.js';
import { canonicalParamsJson } from '../../../server/search/grid.js';
import { DEFAULT_PARAMS, validateSpec } from '../../../worker/contract/spec.js';

function newExperiment(storage: Storage, name = 'e') {
  return createBareExperiment(storage, name);
}

/** A database file of its own (a second handle or process cannot see an in-memory one). */
function tempDbPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'foldwise-db-')), 'foldwise.db');
}

/** A run's stored hyperparameters: the defaults with this width. */
function paramsJson(width = DEFAULT_PARAMS.width): string {
  return canonicalParamsJson({ ...DEFAULT_PARAMS, width });
}

const result = foldResult();

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
    .prepare(`INSERT INTO experiments (name, spec_text, spec_json, spec_hash, dataset_kind, task, selection_metric, selection_direction,
      status, created_at)
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
  const path = tempDbPath();
  const storage = openStorage(path);
  const { experimentId } = newExperiment(storage);
  newExperiment(storage, 'other');
  storage.runs.createSearchRuns(experimentId, [paramsJson()], 1);
  const runId = storage.runs.list(experimentId)[0]!.runId;
  storage.runs.startFold(runId, 0, 1);
  storage.metrics.recordEpoch(runId, 0, 1, 0, { loss: 1 });
  storage.runs.finishFold(runId, 0, 1, result);
  storage.models.save({ runId, experimentId, sourceRunId: runId, format: 'tfjs-layers', path: '/x', testMetrics: {} });
  storage.experiments.delete(experimentId);
  const reader = new Database(path, { readonly: true });
  for (const table of ['runs', 'folds', 'metric_points', 'models']) {
    assert.equal((reader.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n, 0, table);
  }
  reader.close();
  assert.equal(storage.experiments.list().length, 1);
});

test('Storage.createExperiment: the experiment and its runs are written together, or not at all', () => {
  const storage = openStorage(':memory:');
  const spec = validateSpec({ name: 'both', dataset: { kind: 'fraud' } });
  const experiment: NewExperiment = {
    name: 'both',
    specText: 'x',
    spec,
    specHash: 'h',
    datasetKind: 'fraud',
    task: 'binary',
    selectionMetric: 'auc',
    selectionDirection: 'maximize',
  };
  const created = storage.createExperiment(experiment, [paramsJson(1), paramsJson(2)], 2);
  assert.equal(storage.runs.list(created.experimentId).length, 2);
  assert.equal(storage.runs.pendingFolds(created.experimentId).length, 4);
  // A fold count the runs table refuses (NOT NULL) fails the run insert: the experiment row goes with it.
  assert.throws(() => storage.createExperiment({ ...experiment, name: 'neither' }, [paramsJson()], Number.NaN));
  assert.equal(storage.experiments.findByName('neither'), undefined);
});

test('Storage.finishRefit: the refit fold and its model row are recorded together; a stale attempt records neither', () => {
  const storage = openStorage(':memory:');
  const { experimentId } = newExperiment(storage);
  storage.runs.createSearchRuns(experimentId, [paramsJson()], 1);
  const source = storage.runs.list(experimentId)[0]!;
  const refit = storage.runs.createRefitRun(experimentId, source.paramsJson, source.runId);
  storage.runs.startFold(refit.runId, 0, 1);
  storage.runs.startFold(refit.runId, 0, 2);
  const model = { runId: refit.runId, experimentId, sourceRunId: source.runId, format: 'tfjs-layers', path: '/m', testMetrics: {} };
  assert.equal(storage.finishRefit(refit.runId, 1, result, model), false);
  assert.equal(storage.models.ofExperiment(experimentId).length, 0);
  assert.equal(storage.finishRefit(refit.runId, 2, result, model), true);
  assert.equal(storage.runs.get(refit.runId).status, 'done');
  assert.deepEqual(
    storage.models.ofExperiment(experimentId).map((m) => m.runId),
    [refit.runId],
  );
});

/** Holds the database's write lock from another process for 300 ms, then commits a write. */
const HOLD_WRITE_LOCK = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.exec('BEGIN IMMEDIATE');
db.prepare('UPDATE experiments SET spec_hash = spec_hash').run();
process.stdout.write('locked');
setTimeout(() => { db.exec('COMMIT'); db.close(); }, 300);
`;

test("write transactions take the lock first: a read-then-write waits for another process's write instead of failing busy", async () => {
  const path = tempDbPath();
  const storage = openStorage(path);
  const { experimentId } = newExperiment(storage);
  storage.runs.createSearchRuns(experimentId, [paramsJson()], 1);
  const runId = storage.runs.list(experimentId)[0]!.runId;
  storage.runs.startFold(runId, 0, 1);
  const holder = spawn(process.execPath, ['-e', HOLD_WRITE_LOCK, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(holder, 'exit');
  await once(holder.stdout, 'data');
  // recordEpoch reads the fold's attempt before writing; begun deferred, it would fail with SQLITE_BUSY_SNAPSHOT.
  assert.equal(storage.metrics.recordEpoch(runId, 0, 1, 0, { loss: 1 }), true);
  assert.deepEqual(await exited, [0, null]);
  assert.equal(storage.metrics.ofRun(runId).length, 1);
  storage.close();
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
