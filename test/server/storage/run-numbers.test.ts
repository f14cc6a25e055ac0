import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, openDatabase } from '../../../server/storage/database.js';
import { MIGRATIONS } from '../../../server/storage/migrations.js';
import { formatRunNumbers, runByNumber } from '../../../server/results/run-numbers.js';
import { openStorage } from '../../../server/storage/storage.js';
import { seedExperiment } from '../../helpers/seed-db.js';

test('runs are numbered within their experiment (#1…#N), refit runs after the search runs; a refit again keeps its number', () => {
  const storage = openStorage(':memory:');
  const first = seedExperiment(storage, { name: 'first', runs: 13, folds: 2, epochs: 3 });
  const second = seedExperiment(storage, { name: 'second', runs: 4, folds: 2, epochs: 3 });
  const numbers = (experimentId: number) => storage.runs.list(experimentId).map((run) => run.number);
  assert.deepEqual(
    numbers(first.experimentId),
    Array.from({ length: 13 }, (_, i) => i + 1),
  );
  assert.deepEqual(numbers(second.experimentId), [1, 2, 3, 4], 'the second experiment starts at #1, not #14');
  const source = storage.runs.get(second.runIds[2]!);
  const refit = storage.runs.createRefitRun(second.experimentId, source.paramsJson, source.runId);
  assert.equal(refit.number, 5);
  assert.equal(storage.runs.createRefitRun(second.experimentId, source.paramsJson, source.runId).number, 5, 'the same row again');
  assert.equal(storage.runs.byNumber(second.experimentId, 3)?.runId, source.runId);
  assert.equal(storage.runs.byNumber(second.experimentId, 5)?.kind, 'refit');
  assert.equal(storage.runs.byNumber(second.experimentId, 6), undefined);
  assert.throws(() => runByNumber(storage.runs, { experimentId: second.experimentId, name: 'second' }, 9), /its runs are #1–#5$/);
  assert.throws(
    () => runByNumber(storage.runs, { experimentId: second.experimentId, name: 'second' }, 5, 'search'),
    /run #5 is not a search run of "second"; its search runs are #1–#4$/,
  );
  storage.close();
});

test('migration 3 numbers the runs of an existing database per experiment, in creation order', () => {
  const db = openDatabase(':memory:', MIGRATIONS.slice(0, 2));
  const insertExperiment = db.prepare(`INSERT INTO experiments (experiment_id, name, spec_text, spec_json, spec_hash, dataset_kind, task,
    selection_metric, selection_direction, status, created_at)
    VALUES (?, ?, '', '{}', 'h', 'iris', 'multiclass', 'accuracy', 'maximize', 'done', 0)`);
  insertExperiment.run(1, 'a');
  insertExperiment.run(2, 'b');
  const insertRun = db.prepare(`INSERT INTO runs (experiment_id, kind, params_json, status, n_folds, created_at)
    VALUES (?, ?, ?, 'done', 1, 0)`);
  for (const [experimentId, kind, params] of [
    [1, 'search', 'x'],
    [2, 'search', 'x'],
    [1, 'search', 'y'],
    [1, 'refit', 'x'],
    [2, 'search', 'y'],
  ] as const)
    insertRun.run(experimentId, kind, params);
  migrate(db, MIGRATIONS);
  assert.deepEqual(db.prepare('SELECT run_id, experiment_id, number FROM runs ORDER BY run_id').all(), [
    { run_id: 1, experiment_id: 1, number: 1 },
    { run_id: 2, experiment_id: 2, number: 1 },
    { run_id: 3, experiment_id: 1, number: 2 },
    { run_id: 4, experiment_id: 1, number: 3 },
    { run_id: 5, experiment_id: 2, number: 2 },
  ]);
  db.close();
});

test('formatRunNumbers: consecutive numbers as ranges', () => {
  assert.equal(formatRunNumbers([3, 1, 2, 5, 7, 8]), '#1–#3, #5, #7–#8');
  assert.equal(formatRunNumbers([4]), '#4');
  assert.equal(formatRunNumbers([]), '');
});
