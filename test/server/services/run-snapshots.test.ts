/**
 * The runs_version counter (migrations.ts, raised by triggers on runs and folds) and the snapshots
 * the dashboard keeps under it (services/run-snapshots.ts): a change to an experiment's runs or
 * folds, by any writer, gives a new snapshot; epochs, notes and other experiments' runs do not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage, type Storage } from '../../../server/storage/storage.js';
import { RunSnapshots } from '../../../server/services/run-snapshots.js';
import { canonicalParamsJson } from '../../../server/search/grid.js';
import { DEFAULT_PARAMS } from '../../../worker/contract/spec.js';
import { createBareExperiment, foldResult } from '../../helpers/bare-experiment.js';

const result = foldResult();

function setUp(): { storage: Storage; id: number; other: number; runIds: number[] } {
  const storage = openStorage(join(mkdtempSync(join(tmpdir(), 'foldwise-snapshots-')), 'foldwise.db'));
  const id = createBareExperiment(storage, 'a').experimentId;
  const other = createBareExperiment(storage, 'b').experimentId;
  const params = [4, 8].map((width) => canonicalParamsJson({ ...DEFAULT_PARAMS, width }));
  storage.runs.createSearchRuns(id, params, 2);
  storage.runs.createSearchRuns(other, params, 2);
  return { storage, id, other, runIds: storage.runs.list(id).map((run) => run.runId) };
}

test('runsVersion rises with every change to the runs and folds of its experiment only; unknown experiment → NotFoundError', () => {
  const { storage, id, other, runIds } = setUp();
  const [first] = runIds as [number];
  const versions = () => [storage.runs.runsVersion(id), storage.runs.runsVersion(other)] as const;
  let [mine, theirs] = versions();
  const changes = (what: string, change: () => void, expected: boolean) => {
    change();
    const [now, otherNow] = versions();
    assert.equal(now > mine, expected, what);
    assert.equal(otherNow, theirs, `${what}: the other experiment's counter stays`);
    [mine, theirs] = [now, otherNow];
  };
  changes('a fold starts', () => storage.runs.startFold(first, 0, 1), true);
  changes('an epoch is recorded', () => storage.metrics.recordEpoch(first, 0, 1, 0, { loss: 0.5, val_auc: 0.8 }), false);
  changes('a note is written on a run', () => storage.notes.setRun(first, { note: 'n', tags: ['t'] }), false);
  changes('a fold finishes', () => storage.runs.finishFold(first, 0, 1, result), true);
  changes('a run is added', () => storage.runs.createSearchRuns(id, [canonicalParamsJson({ ...DEFAULT_PARAMS, width: 16 })], 2), true);
  changes('the search is interrupted', () => storage.runs.markInterrupted(id), true);
  assert.throws(() => storage.runs.runsVersion(424242), /no experiment with id 424242/);
  // Deleting an experiment cascades through its runs and folds, triggers and all.
  storage.experiments.delete(id);
  assert.throws(() => storage.runs.runsVersion(id), /no experiment/);
  assert.equal(storage.runs.runsVersion(other), theirs);
  storage.close();
});

test(
  'RunSnapshots: the same snapshot (and what was derived from it) while the counter stays; ' + 'a new one after a change or another spec',
  () => {
    const { storage, id, runIds } = setUp();
    const snapshots = new RunSnapshots(storage.runs);
    const experiment = storage.experiments.get(id);
    const first = snapshots.of(experiment);
    assert.equal(first.runs.length, 2);
    let computed = 0;
    const derived = first.derive('count', () => ++computed);
    assert.equal(snapshots.of(experiment), first, 'nothing changed: the same snapshot');
    assert.equal(
      snapshots.of(experiment).derive('count', () => ++computed),
      derived,
    );
    assert.equal(computed, 1, 'derived once');

    storage.runs.startFold(runIds[0]!, 0, 1);
    storage.runs.finishFold(runIds[0]!, 0, 1, result);
    const second = snapshots.of(experiment);
    assert.notEqual(second, first, 'a fold finished: a new snapshot');
    assert.deepEqual([...second.foldScores.get(runIds[0]!)!], [[0, 0.8]]);
    assert.equal(
      second.derive('count', () => ++computed),
      2,
      'derived again for the new snapshot',
    );

    assert.notEqual(snapshots.of({ ...experiment, specText: 'another spec' }), second, 'another spec text: a new snapshot');
    storage.close();
  },
);

test('searchRunsWithFoldScores answers what list and foldScores do (foldsDone from the fold rows); params parsed once, frozen', () => {
  const { storage, id, runIds } = setUp();
  const [first, second] = runIds as [number, number];
  storage.runs.startFold(first, 0, 1);
  storage.runs.finishFold(first, 0, 1, result);
  storage.runs.startFold(first, 1, 1);
  storage.runs.finishFold(first, 1, 1, { ...result, score: 0.7 });
  storage.runs.startFold(second, 0, 1); // running: not done, not counted
  const { runs, foldScores } = storage.runs.searchRunsWithFoldScores(id);
  assert.deepEqual(runs, storage.runs.list(id));
  assert.deepEqual(
    runs.map((run) => run.foldsDone),
    [2, 0],
  );
  assert.deepEqual(foldScores, storage.runs.foldScores(id));
  // The stored JSON of a run never changes: every read shares its one parsed, frozen object.
  assert.equal(storage.runs.get(first).params, runs[0]!.params);
  assert.ok(Object.isFrozen(runs[0]!.params));
  assert.throws(() => {
    (runs[0]!.params as { width: number }).width = 1;
  }, TypeError);
  storage.close();
});
