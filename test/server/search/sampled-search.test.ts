import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage, type Storage } from '../../../server/storage/storage.js';
import { Coordinator } from '../../../server/coordinator/coordinator.js';
import type { EpochListener, TaskOutcome, TaskRunner } from '../../../server/coordinator/task-runner.js';
import type { ExperimentSpec, Task } from '../../../worker/contract/protocol.js';
import { trialRecords } from '../../../server/search/trials.js';
import { searchSpaceOf } from '../../../server/search/space.js';
import type { AppError } from '../../../server/errors.js';
import { FakeRunner } from '../../helpers/fake-runner.js';

/** A validation-AUC curve that rises to a peak set by the configuration (best near lr 1e-2, width 32), slightly different per fold. */
function curveOf(task: Task): number[] {
  const { learningRate, width } = task.params;
  const q = 0.92 - 0.05 * (Math.log10(learningRate) + 2) ** 2 - 0.02 * (Math.log2(width) - 5) ** 2 + task.foldIndex * 0.003;
  return Array.from({ length: task.params.epochs }, (_, epoch) => 0.5 + (q - 0.5) * (1 - Math.exp(-(epoch + 1) / 2)));
}

/** FakeRunner behind a random delay per task: the order tasks finish in changes from run to run. */
class JitterRunner implements TaskRunner {
  readonly #inner: FakeRunner;
  readonly #maxDelayMs: number;
  constructor(concurrency: number, maxDelayMs = 15) {
    this.#inner = new FakeRunner((task) => ({ curve: curveOf(task) }), { concurrency });
    this.#maxDelayMs = maxDelayMs;
  }
  get concurrency(): number {
    return this.#inner.concurrency;
  }
  get deliveries(): Task[] {
    return this.#inner.deliveries;
  }
  async run(task: Task, onEpoch: EpochListener, signal?: AbortSignal): Promise<TaskOutcome> {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * this.#maxDelayMs));
    return this.#inner.run(task, onEpoch, signal);
  }
  describe(spec: ExperimentSpec) {
    return this.#inner.describe(spec);
  }
  close() {
    return this.#inner.close();
  }
}

const SPEC = (extra = '', trials = 14) => `
name: tpe-fake
dataset: { kind: fraud, rows: 200 }
search: { strategy: tpe, trials: ${trials}, startupTrials: 4 }
space:
  learningRate: { float: [1.0e-4, 1.0e-1], log: true }
  width: { int: [8, 128], log: true }
model: { epochs: 9 }
validation: { kind: kfold, k: 3 }
selection: { metric: auc }
${extra}`;

function setUp(concurrency = 2, maxDelayMs = 15) {
  const storage = openStorage(':memory:');
  const runner = new JitterRunner(concurrency, maxDelayMs);
  const coordinator = new Coordinator(storage, runner, { dataDir: mkdtempSync(join(tmpdir(), 'foldwise-tpe-')) });
  return { storage, runner, coordinator };
}

/** The trial sequence as the views read it: number, state, sampled values, score. */
function sequence(storage: Storage, experimentId: number): string[] {
  const experiment = storage.experiments.get(experimentId);
  return trialRecords(storage.runs.list(experimentId), searchSpaceOf(experiment.spec)).map(
    (t) => `${t.number} ${t.state} ${JSON.stringify(t.sampled)} ${t.score?.toFixed(6)}`,
  );
}

async function searchOnce(spec: string, concurrency = 2) {
  const { storage, coordinator } = setUp(concurrency);
  const { experiment } = await coordinator.prepare(spec, { baseDir: '.' });
  const summary = await coordinator.search(experiment.experimentId);
  return { storage, coordinator, experiment, summary, trials: sequence(storage, experiment.experimentId) };
}

test('tpe search: trials recorded as runs numbered 1…N, each before its tasks; the experiment records its trials in flight', async () => {
  const { storage, coordinator } = setUp(2);
  const prepared = await coordinator.prepare(SPEC(), { baseDir: '.' });
  assert.equal(prepared.runsTotal, 14);
  assert.equal(storage.runs.list(prepared.experiment.experimentId).length, 0, 'nothing sampled before the search');
  const startedBeforeRecorded: number[] = [];
  coordinator.events.on('run', (event) => {
    if (event.status === 'running' && storage.runs.get(event.runId).trialNumber === null) startedBeforeRecorded.push(event.runId);
  });
  const summary = await coordinator.search(prepared.experiment.experimentId);
  assert.equal(summary.experiment.status, 'done');
  const runs = storage.runs.list(prepared.experiment.experimentId);
  assert.deepEqual(
    runs.map((r) => r.trialNumber),
    Array.from({ length: 14 }, (_, i) => i + 1),
  );
  assert.equal(new Set(runs.map((r) => r.paramsJson)).size, 14, 'no configuration twice');
  assert.deepEqual(startedBeforeRecorded, []);
  assert.equal(storage.experiments.get(prepared.experiment.experimentId).concurrentTrials, 2);
  for (const run of runs) {
    assert.ok(run.params.learningRate >= 1e-4 && run.params.learningRate <= 0.1);
    assert.ok(Number.isInteger(run.params.width) && run.params.width >= 8 && run.params.width <= 128);
    assert.equal(run.params.epochs, 9, 'fixed values from model');
  }
});

test('tpe search with 2 workers and random task durations: the same spec gives the same trial sequence, pruning included', async () => {
  const pruned = 'pruning: { asha: { minEpochs: 1, reductionFactor: 2 }, foldCut: { minFolds: 2, margin: 0.02 } }';
  for (const spec of [SPEC(), SPEC(pruned)]) {
    const first = await searchOnce(spec);
    const second = await searchOnce(spec);
    assert.equal(first.trials.length, 14);
    assert.deepEqual(second.trials, first.trials);
    if (spec.includes('pruning'))
      assert.ok(
        first.trials.some((t) => / pruned /.test(t)),
        'some trials were pruned',
      );
  }
});

test('tpe search: the model beats its random start on this objective (later trials score better)', async () => {
  const { trials } = await searchOnce(SPEC('', 20));
  const scores = trials.map((t) => Number(t.split(' ').at(-1)));
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(mean(scores.slice(10)) > mean(scores.slice(0, 4)), `${scores.join(', ')}`);
});

test('tpe search stopped mid-way and run again continues the same sequence: nothing lost, nothing sampled twice', async () => {
  const reference = await searchOnce(SPEC());
  const { storage, coordinator } = setUp(2);
  const { experiment } = await coordinator.prepare(SPEC(), { baseDir: '.' });
  const controller = new AbortController();
  const stopAfter = coordinator.events.on('run', (event) => {
    if (event.status === 'done' && storage.runs.list(experiment.experimentId).filter((r) => r.status === 'done').length >= 6)
      controller.abort();
  });
  const stopped = await coordinator.search(experiment.experimentId, controller.signal);
  stopAfter();
  assert.equal(stopped.interrupted, true);
  const recorded = storage.runs.list(experiment.experimentId).length;
  // 6 done, maybe more sampled and in flight (how many depends on timing), but not all 14.
  assert.ok(recorded >= 6 && recorded < 14, `stopped mid-way (${recorded} trials recorded)`);
  const again = await coordinator.prepare(SPEC(), { baseDir: '.' });
  assert.equal(again.resumed, true);
  await coordinator.search(experiment.experimentId);
  assert.deepEqual(sequence(storage, experiment.experimentId), reference.trials);
});

test('raising trials extends the experiment: the first trials are kept, and the whole equals a search of that many at once', async () => {
  const straight = await searchOnce(SPEC('', 14));
  const { storage, coordinator, runner } = setUp(2);
  const first = await coordinator.prepare(SPEC('', 8), { baseDir: '.' });
  await coordinator.search(first.experiment.experimentId);
  const deliveries = runner.deliveries.length;
  const extended = await coordinator.prepare(SPEC('', 11), { baseDir: '.' });
  assert.equal(extended.extendedFrom, 8);
  assert.equal(extended.runsTotal, 11);
  await coordinator.search(first.experiment.experimentId);
  assert.equal(runner.deliveries.length, deliveries + 3 * 3, 'only the new trials trained');
  const added = await coordinator.prepare(SPEC('', 11), { baseDir: '.', addTrials: 3 });
  assert.equal(added.runsTotal, 14);
  await coordinator.search(first.experiment.experimentId);
  assert.deepEqual(sequence(storage, first.experiment.experimentId), straight.trials);
  // A lower count in the spec never drops trials.
  const lower = await coordinator.prepare(SPEC('', 5), { baseDir: '.' });
  assert.equal(lower.runsTotal, 14);
  assert.equal(storage.experiments.get(first.experiment.experimentId).spec.search?.trials, 14);
});

test('a different spec is refused with the fields that changed, old → new, and how to start a new experiment', async () => {
  const { coordinator, storage } = setUp(2);
  const { experiment } = await coordinator.prepare(SPEC(), { baseDir: '.' });
  const changed = SPEC().replace('[1.0e-4, 1.0e-1]', '[1.0e-5, 1.0e-1]').replace('k: 3', 'k: 4');
  await assert.rejects(coordinator.prepare(changed, { baseDir: '.' }), (error: AppError) => {
    assert.equal(error.code, 'conflict');
    assert.match(error.message, /already exists with a different spec/);
    assert.match(error.message, /space\.learningRate\.float: \[0\.0001,0\.1\] → \[0\.00001,0\.1\]/);
    assert.match(error.message, /validation\.k: 3 → 4/);
    assert.match(error.message, /another name \(e\.g\. name: tpe-fake-2\)/);
    assert.match(error.message, /--add-trials/);
    return true;
  });
  const random = SPEC().replace('strategy: tpe, trials: 14, startupTrials: 4', 'strategy: random, trials: 14');
  await assert.rejects(
    coordinator.prepare(random, { baseDir: '.' }),
    /search\.strategy: "tpe" → "random"\n {2}search\.startupTrials: 4 → \(not set\)/,
  );
  assert.equal(storage.experiments.get(experiment.experimentId).spec.search?.strategy, 'tpe', 'nothing changed');
});

test('--add-trials: refused for a grid and for an experiment that does not exist yet', async () => {
  const { coordinator, storage } = setUp(2);
  await assert.rejects(coordinator.prepare(SPEC(), { baseDir: '.', addTrials: 2 }), /--add-trials: no experiment named "tpe-fake" yet/);
  const grid = 'name: g\ndataset: { kind: fraud, rows: 200 }\ngrid: { width: [8, 16] }\n';
  await coordinator.prepare(grid, { baseDir: '.' });
  await assert.rejects(coordinator.prepare(grid, { baseDir: '.', addTrials: 2 }), /--add-trials: expected a random or tpe search/);
  assert.equal(storage.experiments.list().length, 1);
});

test('random search with a time budget stops sampling when it is spent, and the next search continues the sequence', async () => {
  const spec = SPEC().replace('strategy: tpe, trials: 14, startupTrials: 4', 'strategy: random, trials: 40, timeBudget: 150ms');
  const { storage, coordinator } = setUp(2, 40);
  const { experiment } = await coordinator.prepare(spec, { baseDir: '.' });
  const summary = await coordinator.search(experiment.experimentId);
  assert.match(summary.note ?? '', /time budget \(150ms\) reached after \d+ trials/);
  const firstSession = sequence(storage, experiment.experimentId);
  assert.ok(firstSession.length > 0 && firstSession.length < 40, `${firstSession.length} trials`);
  await coordinator.search(experiment.experimentId);
  const both = sequence(storage, experiment.experimentId);
  assert.ok(both.length > firstSession.length);
  assert.deepEqual(both.slice(0, firstSession.length), firstSession);
});

test('trials in flight: a spec without concurrentTrials keeps the count recorded at its first search', async () => {
  const { storage, coordinator } = setUp(3);
  const { experiment } = await coordinator.prepare(SPEC('', 6), { baseDir: '.' });
  await coordinator.search(experiment.experimentId);
  assert.equal(storage.experiments.get(experiment.experimentId).concurrentTrials, 3);
  const fewerWorkers = new Coordinator(storage, new JitterRunner(1), { dataDir: mkdtempSync(join(tmpdir(), 'foldwise-tpe-')) });
  await fewerWorkers.prepare(SPEC('', 8), { baseDir: '.' });
  await fewerWorkers.search(experiment.experimentId);
  assert.equal(storage.experiments.get(experiment.experimentId).concurrentTrials, 3, 'the sequence goes on as it began');
  assert.equal(storage.runs.list(experiment.experimentId).length, 8);
  const fixed = await searchOnce(
    SPEC('', 6).replace('startupTrials: 4', 'startupTrials: 4, concurrentTrials: 1').replace('tpe-fake', 'seq'),
  );
  assert.equal(fixed.storage.experiments.get(fixed.experiment.experimentId).concurrentTrials, 1);
});
