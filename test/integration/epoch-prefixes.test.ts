import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatasetInfo, ExperimentSpec, Task } from '../../worker/contract/protocol.js';
import { Coordinator } from '../../server/coordinator/coordinator.js';
import type { EpochListener, HorizonListener, TaskOutcome, TaskRunner } from '../../server/coordinator/task-runner.js';
import { WorkerPool } from '../../server/coordinator/worker-pool.js';
import { openStorage, type Storage } from '../../server/storage/storage.js';
import { countRows, runCli, startCli, tempDir, writeFile } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

// Epoch-prefix sharing through real workers: a grid over epochs [3, 6] searched with and without
// sharing records the same curves, folds, out-of-fold predictions and leaderboard, with fewer epochs
// trained; and a search killed mid-way resumes to the uninterrupted leaderboard.

const grid = (name: string, validation: string) => `
name: ${name}
dataset: { kind: fraud, rows: 1200, features: 6, positiveRate: 0.2 }
model: { batchSize: 64, width: 8 }
grid: { depth: [0, 1], learningRate: [0.01, 0.1], epochs: [3, 6] }
validation: { kind: kfold, k: 3, stratified: true${validation} }
selection: { metric: auc }
seed: 7
`;

/** Counts the epochs the workers train (the `epoch` messages of every task). */
class CountingRunner implements TaskRunner {
  readonly concurrency: number;
  readonly answersHorizons: boolean;
  epochs = 0;
  tasks = 0;

  constructor(readonly inner: WorkerPool) {
    this.concurrency = inner.concurrency;
    this.answersHorizons = inner.answersHorizons;
  }

  run(task: Task, onEpoch: EpochListener, signal?: AbortSignal, onHorizon?: HorizonListener): Promise<TaskOutcome> {
    this.tasks++;
    return this.inner.run(task, (epoch, metrics) => (this.epochs++, onEpoch(epoch, metrics)), signal, onHorizon);
  }

  describe(spec: ExperimentSpec): Promise<DatasetInfo> {
    return this.inner.describe(spec);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Everything a search recorded, per run by its hyperparameters (run ids and timings left out), and the leaderboard. */
function recorded(storage: Storage, coordinator: Coordinator, experimentId: number) {
  const runs = storage.runs.list(experimentId).map((run) => ({
    params: run.paramsJson,
    status: run.status,
    score: [run.scoreMean, run.scoreStd, run.refitEpochs, run.paramCount],
    folds: storage.runs
      .folds(run.runId)
      .map((f) => [f.foldIndex, f.status, f.attempt, f.bestEpoch, f.stoppedEpoch, f.score, f.bestMetrics]),
    points: storage.metrics.ofRun(run.runId).map((p) => [p.foldIndex, p.name, p.epoch, p.value]),
    outOfFold: storage.outOfFold.encodedOfRun(run.runId),
  }));
  const leaderboard = coordinator.leaderboard(experimentId).map((run) => run.paramsJson);
  return { runs, leaderboard };
}

async function search(pool: WorkerPool, spec: string, sharePrefixes: boolean) {
  const dataDir = mkdtempSync(join(tmpdir(), 'foldwise-prefixes-'));
  const storage = openStorage(':memory:');
  const runner = new CountingRunner(pool);
  try {
    const coordinator = new Coordinator(storage, runner, { dataDir, sharePrefixes });
    const { experiment } = await coordinator.prepare(spec, { baseDir: dataDir });
    const summary = await coordinator.search(experiment.experimentId);
    // Nested CV: each outer fold's search too.
    const outerFolds = storage.experiments
      .outerFoldsOf(experiment.experimentId)
      .map((outer) => recorded(storage, coordinator, outer.experimentId));
    return { ...recorded(storage, coordinator, experiment.experimentId), outerFolds, summary, epochs: runner.epochs, tasks: runner.tasks };
  } finally {
    storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type Recorded = Awaited<ReturnType<typeof search>>;

/** The folds of the 3-epoch runs, each with its 6-epoch sibling's fold. */
function siblingFolds(searched: Recorded): { short: unknown[]; long: unknown[] }[] {
  const epochsOf = (params: string) => (JSON.parse(params) as { epochs: number }).epochs;
  const withoutEpochs = (params: string) => JSON.stringify({ ...JSON.parse(params), epochs: 0 });
  return searched.runs
    .filter((run) => epochsOf(run.params) === 3)
    .flatMap((short) => {
      const long = searched.runs.find((run) => epochsOf(run.params) === 6 && withoutEpochs(run.params) === withoutEpochs(short.params))!;
      return short.folds.map((fold, i) => ({ short: fold, long: long.folds[i]! }));
    });
}

test('a grid over epochs [3, 6] with and without epoch-prefix sharing: identical records, fewer epochs trained', async () => {
  const pool = new WorkerPool({ size: 2 });
  try {
    const specs = {
      'no early stopping': grid('prefixes-plain', ''),
      'early stopping, patience 1': grid('prefixes-es1', ', earlyStopping: { monitor: val_auc, patience: 1, restoreBestWeights: true }'),
      'early stopping, patience 2': grid('prefixes-es2', ', earlyStopping: { monitor: val_loss, patience: 2, restoreBestWeights: true }'),
    };
    for (const [what, spec] of Object.entries(specs)) {
      const shared = await search(pool, spec, true);
      const alone = await search(pool, spec, false);
      assert.equal(shared.runs.length, 8);
      assert.ok(
        shared.runs.every((run) => run.status === 'done'),
        `${what}: ${JSON.stringify(shared.runs.map((r) => r.status))}`,
      );
      assert.deepEqual(shared.runs, alone.runs, `${what}: every run's folds, curve points and out-of-fold predictions`);
      assert.deepEqual(shared.leaderboard, alone.leaderboard, `${what}: the leaderboard`);
      // 4 configurations × 3 folds train their 6 epochs (or fewer, stopped early); the 3-epoch runs are read off them.
      assert.equal(alone.tasks, 24, what);
      assert.equal(shared.tasks, 12, what);
      assert.equal(shared.summary.tasksTrained, 12);
      assert.ok(shared.epochs < alone.epochs, `${what}: ${shared.epochs} epochs trained with sharing, ${alone.epochs} without`);
      if (what === 'no early stopping') assert.deepEqual([shared.epochs, alone.epochs], [4 * 3 * 6, 4 * 3 * (3 + 6)]);
      // What the runs exercised (fold = [index, status, attempt, bestEpoch, stoppedEpoch, …]).
      const pairs = siblingFolds(shared);
      if (what === 'early stopping, patience 1')
        assert.ok(
          pairs.some(({ short }) => (short[4] as number) < 2),
          'some 6-epoch fold stopped early inside its 3-epoch sibling',
        );
      if (what === 'early stopping, patience 2')
        assert.ok(
          pairs.some(({ short, long }) => (short[3] as number) < 2 && short[4] === 2 && (long[4] as number) > 2),
          'some 3-epoch fold restored an earlier epoch at its horizon while its 6-epoch sibling trained on',
        );
    }
  } finally {
    await pool.close();
  }
});

test('nested CV with epoch-prefix sharing: each outer fold’s search is recorded as without sharing', async () => {
  const pool = new WorkerPool({ size: 2 });
  try {
    const spec = grid('prefixes-nested', ', outer: { k: 2 }').replace('k: 3, stratified: true', 'k: 2, stratified: true');
    const shared = await search(pool, spec, true);
    const alone = await search(pool, spec, false);
    assert.equal(shared.outerFolds.length, 2);
    assert.deepEqual(shared.outerFolds, alone.outerFolds, 'every outer fold’s runs, folds, curves, out-of-fold predictions, leaderboard');
    assert.deepEqual(shared.runs, alone.runs);
    // 3 searches (all non-test rows, 2 outer folds) × 8 runs × 2 folds, and 2 refits; half the search tasks with sharing.
    assert.deepEqual([shared.tasks, alone.tasks], [3 * 4 * 2 + 2, 3 * 8 * 2 + 2]);
  } finally {
    await pool.close();
  }
});

// Long enough per task that a kill lands mid-search: 4 configurations × 2 folds, each with a shorter sibling.
const RESUMABLE = `
name: prefixes-resumable
dataset: { kind: fraud, rows: 3000, features: 10, positiveRate: 0.1 }
model: { learningRate: 0.01, batchSize: 32 }
grid: { depth: [1, 2], width: [8, 24], epochs: [6, 12] }
validation: { kind: kfold, k: 2, earlyStopping: { monitor: val_auc, patience: 3, restoreBestWeights: true } }
seed: 11
`;

/** Each finished run's scores, folds, curve and out-of-fold predictions, keyed by its hyperparameters, read as an outside reader. */
function snapshot(dataDir: string): Map<string, string> {
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const experiment = storage.experiments.getByName('prefixes-resumable');
    const done = storage.runs.list(experiment.experimentId).filter((run) => run.status === 'done');
    return new Map(
      done.map((run) => [
        run.paramsJson,
        JSON.stringify([
          run.scoreMean,
          run.scoreStd,
          run.refitEpochs,
          storage.runs.folds(run.runId).map((f) => [f.bestEpoch, f.stoppedEpoch, f.score, f.bestMetrics]),
          storage.metrics.ofRun(run.runId).map((p) => [p.foldIndex, p.name, p.epoch, p.value]),
          storage.outOfFold.encodedOfRun(run.runId),
        ]),
      ]),
    );
  } finally {
    storage.close();
  }
}

test('epoch-prefix sharing, coordinator SIGKILLed mid-search: the resumed search ends as one run without sharing', async () => {
  const dir = tempDir('foldwise-prefixes-cli-');
  try {
    const specPath = writeFile(dir, 'spec.yaml', RESUMABLE);
    const reference = join(dir, 'reference');
    const clean = await runCli(['run', specPath, '--workers', '2', '--no-refit'], reference, { FOLDWISE_SHARE_PREFIXES: '0' });
    assert.equal(clean.code, 0, clean.stderr);
    const expected = snapshot(reference);
    assert.equal(expected.size, 8);
    assert.match(clean.stdout, /\(16 tasks trained\)/, 'FOLDWISE_SHARE_PREFIXES=0 trains every fold on its own');

    const crashed = join(dir, 'crashed');
    const first = startCli(['run', specPath, '--workers', '2', '--no-refit'], crashed);
    await waitFor(() => countRows(crashed, `SELECT count(*) AS n FROM folds WHERE status = 'done'`) >= 2, 'finished folds', 120_000);
    await waitFor(() => countRows(crashed, `SELECT count(*) AS n FROM folds WHERE status = 'running'`) >= 1, 'a running fold', 60_000);
    first.child.kill('SIGKILL');
    await first.finished;
    const before = snapshot(crashed);
    assert.ok(countRows(crashed, `SELECT count(*) AS n FROM folds WHERE status <> 'done'`) > 0, 'killed mid-search');

    const resumed = await runCli(['run', specPath, '--workers', '2', '--no-refit'], crashed);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /Resuming "prefixes-resumable"/);
    const after = snapshot(crashed);
    for (const [params, recordedBefore] of before) assert.equal(after.get(params), recordedBefore, `${params} finished before the kill`);
    assert.deepEqual(after, expected, 'every run as the uninterrupted search without sharing recorded it');
    const perFoldMetric = countRows(
      crashed,
      `SELECT max(n) AS n FROM (SELECT count(*) AS n FROM metric_points GROUP BY run_id, fold_index, name)`,
    );
    assert.ok(perFoldMetric <= 12, 'one row per epoch: nothing duplicated by the retrained folds');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
