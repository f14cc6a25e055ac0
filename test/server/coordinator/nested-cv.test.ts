import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../../server/storage/storage.js';
import { Coordinator } from '../../../server/coordinator/coordinator.js';
import { deleteExperiment } from '../../../server/coordinator/delete-experiment.js';
import { nestedEstimate } from '../../../server/selection/nested-estimate.js';
import { FakeRunner, type Script } from '../../helpers/fake-runner.js';

const SPEC = `
name: nested
dataset: { kind: fraud, rows: 200 }
grid: { width: [8, 16, 32], epochs: 2 }
validation: { kind: kfold, k: 2, outer: { k: 3 } }
selection: { metric: auc }
`;

// Wider is better on the inner folds; the refit's outer score depends on the outer fold, so the estimate is checkable.
const script: Script = (task) => ({ curve: [0.5, 0.6 + task.params.width / 100 + (task.outerFold ?? 0) / 100] });

function setUp() {
  const dataDir = mkdtempSync(join(tmpdir(), 'foldwise-nested-'));
  const storage = openStorage(':memory:');
  const runner = new FakeRunner(script);
  return { storage, runner, coordinator: new Coordinator(storage, runner, { dataDir }), dataDir };
}

test('nested CV: each outer fold is an experiment of its own, searched, selected and refitted, its outer fold on every task', async () => {
  const { storage, runner, coordinator, dataDir } = setUp();
  const { experiment } = await coordinator.prepare(SPEC, { baseDir: '.' });
  const outerFolds = storage.experiments.outerFoldsOf(experiment.experimentId);
  assert.deepEqual(
    outerFolds.map((child) => [child.name, child.outerOf?.outerFold, storage.runs.list(child.experimentId).length]),
    [
      ['nested/outer-1', 0, 3],
      ['nested/outer-2', 1, 3],
      ['nested/outer-3', 2, 3],
    ],
  );
  assert.deepEqual(
    storage.experiments.list().map((e) => e.name),
    ['nested'],
    'listed under their experiment, not beside it',
  );

  const outerEvents: number[] = [];
  coordinator.events.on('outerFold', (event) => outerEvents.push(event.outerFold));
  const summary = await coordinator.search(experiment.experimentId);
  assert.equal(summary.interrupted, false);
  assert.equal(summary.experiment.status, 'done');
  assert.deepEqual(outerEvents, [0, 1, 2]);
  // 3 runs × 2 folds, four times (all non-test rows, then each outer fold), and one refit per outer fold.
  assert.equal(runner.deliveries.filter((t) => t.kind === 'search').length, 4 * 6);
  assert.equal(summary.tasksTrained, 4 * 6);
  const refits = runner.deliveries.filter((t) => t.kind === 'refit');
  assert.deepEqual(
    refits.map((t) => [t.outerFold, t.params.width]),
    [
      [0, 32],
      [1, 32],
      [2, 32],
    ],
  );
  assert.deepEqual([...new Set(runner.deliveries.filter((t) => t.kind === 'search').map((t) => t.outerFold ?? 'none'))], ['none', 0, 1, 2]);
  for (const refit of refits)
    assert.ok(refit.refit!.modelDir.startsWith(join(dataDir, 'models', 'nested', `outer-${refit.outerFold! + 1}`)));
  // The main experiment has no refit yet: nested CV does not choose its model.
  assert.equal(storage.models.ofExperiment(experiment.experimentId).length, 0);

  const estimate = nestedEstimate(storage, storage.experiments.get(experiment.experimentId))!;
  assert.equal(estimate.k, 3);
  assert.equal(estimate.scored, 3);
  assert.deepEqual(
    estimate.folds.map((fold) => [fold.outerFold, fold.state, fold.selectedRunNumber]),
    [
      [1, 'scored', 3],
      [2, 'scored', 3],
      [3, 'scored', 3],
    ],
  );
  // FakeRunner scores every refit 0.9 on its held-out rows; the inner scores are 0.6 + 0.32 + outer fold / 100.
  assert.ok(Math.abs(estimate.outerMean! - 0.9) < 1e-12);
  assert.ok(Math.abs(estimate.innerMean! - 0.93) < 1e-9);
  assert.ok(Math.abs(estimate.optimism! - 0.03) < 1e-9, `optimism ${estimate.optimism}`);

  // Resuming trains nothing again, refits nothing again.
  const again = await coordinator.prepare(SPEC, { baseDir: '.' });
  assert.equal(again.resumed, true);
  const before = runner.deliveries.length;
  const resumed = await coordinator.search(experiment.experimentId);
  assert.equal(resumed.tasksTrained, 0);
  assert.equal(runner.deliveries.length, before);
  assert.equal(storage.experiments.outerFoldsOf(experiment.experimentId).length, 3);

  // Deleting the experiment deletes its outer folds.
  deleteExperiment(storage, dataDir, experiment.experimentId);
  assert.equal(storage.experiments.findByName('nested/outer-1'), undefined);
  assert.equal(existsSync(join(dataDir, 'models', 'nested')), false);
});

test('nested CV: an interrupted outer fold leaves the experiment interrupted, and a resume finishes the outer folds', async () => {
  const { storage, coordinator } = setUp();
  const { experiment } = await coordinator.prepare(SPEC, { baseDir: '.' });
  const controller = new AbortController();
  coordinator.events.on('outerFold', (event) => event.outerFold === 1 && controller.abort());
  const summary = await coordinator.search(experiment.experimentId, controller.signal);
  assert.equal(summary.interrupted, true);
  assert.equal(storage.experiments.get(experiment.experimentId).status, 'interrupted');
  assert.equal(nestedEstimate(storage, storage.experiments.get(experiment.experimentId))!.scored, 1);
  await coordinator.search(experiment.experimentId);
  const estimate = nestedEstimate(storage, storage.experiments.get(experiment.experimentId))!;
  assert.equal(estimate.scored, 3);
  assert.equal(storage.experiments.get(experiment.experimentId).status, 'done');
});

test('nested CV: validation.outer.k below 2 is refused naming the field, nothing written', async () => {
  const { storage, coordinator } = setUp();
  await assert.rejects(coordinator.prepare(SPEC.replace('outer: { k: 3 }', 'outer: { k: 1 }'), { baseDir: '.' }), (error: Error) =>
    /validation\.outer\.k: expected an integer of at least 2/.test(error.message),
  );
  assert.equal(storage.experiments.list().length, 0);
});

test('nested CV with a sampled search: each outer fold samples its own trials, with the same extent', async () => {
  const { storage, runner, coordinator } = setUp();
  const spec = `
name: nested-random
dataset: { kind: fraud, rows: 200 }
search: { strategy: random, trials: 3 }
space: { width: { int: [8, 64] } }
model: { epochs: 2 }
validation: { kind: holdout, outer: { k: 2 } }
selection: { metric: auc }
`;
  const { experiment } = await coordinator.prepare(spec, { baseDir: '.' });
  await coordinator.search(experiment.experimentId);
  for (const child of storage.experiments.outerFoldsOf(experiment.experimentId))
    assert.equal(storage.runs.list(child.experimentId).filter((r) => r.kind === 'search' && r.status === 'done').length, 3);
  assert.equal(runner.deliveries.filter((t) => t.kind === 'search').length, 3 * 3);
  const estimate = nestedEstimate(storage, storage.experiments.get(experiment.experimentId))!;
  assert.equal(estimate.scored, 2);
});
