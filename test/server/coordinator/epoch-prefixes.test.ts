import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatasetInfo, EpochMetrics, ExperimentSpec, Task, TaskResult } from '../../../worker/contract/protocol.js';
import { DEFAULT_PARAMS, parseSpec, type Params } from '../../../worker/contract/spec.js';
import { scopedMetrics } from '../../../worker/contract/vocabulary.js';
import { Coordinator } from '../../../server/coordinator/coordinator.js';
import { canSharePrefixes, PrefixBook, sharePrefixesFromEnv } from '../../../server/coordinator/epoch-prefixes.js';
import type { EpochListener, HorizonListener, TaskOutcome, TaskRunner } from '../../../server/coordinator/task-runner.js';
import type { PendingFold } from '../../../server/storage/run-store.js';
import { openStorage } from '../../../server/storage/storage.js';

// The coordinator's side of epoch-prefix sharing, against a runner that trains nothing: a grid over epochs
// [2, 4] (× width [8, 16]), 2 folds, one task at a time.

const SPEC = `
name: prefixes
dataset: { kind: fraud, rows: 200 }
grid: { width: [8, 16], epochs: [2, 4] }
validation: { kind: kfold, k: 2 }
selection: { metric: auc }
`;

/** What a fold reports after `epochs` epochs of its curve (0.5, 0.6, … up), the best its last. */
function resultAfter(task: Task, epochs: number): TaskResult {
  const auc = 0.5 + epochs / 10 + task.params.width / 1000 + task.foldIndex / 10_000;
  return {
    bestEpoch: epochs - 1,
    stoppedEpoch: epochs - 1,
    paramCount: task.params.width,
    trainMs: 1,
    bestMetrics: scopedMetrics('val', { auc }),
  };
}

type Fault = { readonly runEpochs: number; readonly foldIndex: number; readonly delivery: number; readonly atEpoch: number };

/** Replays each task's curve epoch by epoch, answering its horizons on the way; crashes where `faults` say. */
class HorizonRunner implements TaskRunner {
  readonly concurrency = 1;
  readonly answersHorizons = true;
  readonly deliveries: Task[] = [];

  constructor(readonly faults: readonly Fault[] = []) {}

  async run(task: Task, onEpoch: EpochListener, signal?: AbortSignal, onHorizon?: HorizonListener): Promise<TaskOutcome> {
    this.deliveries.push(task);
    const delivery = this.deliveries.filter((t) => t.runId === task.runId && t.foldIndex === task.foldIndex).length;
    const fault = this.faults.find((f) => f.runEpochs === task.params.epochs && f.foldIndex === task.foldIndex && f.delivery === delivery);
    for (let epoch = 0; epoch < task.params.epochs; epoch++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) return { status: 'failed', reason: 'interrupted', message: 'stopped', workerName: 'fake' };
      if (fault?.atEpoch === epoch) return { status: 'failed', reason: 'crashed', message: 'worker killed by SIGKILL', workerName: 'fake' };
      const metrics: EpochMetrics = { loss: 1, ...resultAfter(task, epoch + 1).bestMetrics };
      onEpoch(epoch, metrics);
      for (const horizon of task.horizons ?? [])
        if (horizon.epochs === epoch + 1)
          onHorizon?.(horizon.runId, { status: 'done', result: resultAfter(task, epoch + 1), workerName: 'fake', backend: 'cpu' });
    }
    return { status: 'done', result: resultAfter(task, task.params.epochs), workerName: 'fake', backend: 'cpu' };
  }

  async describe(_spec: ExperimentSpec): Promise<DatasetInfo> {
    return { task: 'binary', nRows: 200, nFeatures: 3, testRows: 40, classes: ['0', '1'], featureNames: ['a', 'b', 'c'] };
  }

  async close(): Promise<void> {}
}

async function searched(runner: TaskRunner, options: { sharePrefixes?: boolean; spec?: string; signal?: AbortSignal } = {}) {
  const storage = openStorage(':memory:');
  const coordinator = new Coordinator(storage, runner, { dataDir: mkdtempSync(join(tmpdir(), 'foldwise-prefixes-')), ...options });
  const { experiment } = await coordinator.prepare(options.spec ?? SPEC, { baseDir: '.' });
  const progress: number[] = [];
  coordinator.events.on('progress', (p) => progress.push(p.tasksDone));
  const summary = await coordinator.search(experiment.experimentId, options.signal);
  const runs = storage.runs.list(experiment.experimentId).map((run) => ({
    width: run.params.width,
    epochs: run.params.epochs,
    status: run.status,
    folds: storage.runs.folds(run.runId).map((f) => [f.status, f.attempt, f.stoppedEpoch, f.score]),
    epochsRecorded: storage.metrics
      .ofRun(run.runId)
      .filter((p) => p.name === 'val_auc')
      .map((p) => `${p.foldIndex}:${p.epoch}`),
  }));
  return { storage, coordinator, experiment, summary, runs, progress };
}

const horizonsOf = (runner: HorizonRunner) =>
  runner.deliveries.map((task) => [task.params.epochs, task.foldIndex, task.horizons?.length ?? 0]);

test('epoch-prefix sharing: a 4-epoch task answers the 2-epoch run of its fold (curve, result, progress)', async () => {
  const runner = new HorizonRunner();
  const { runs, summary, progress } = await searched(runner);
  assert.deepEqual(horizonsOf(runner), [
    [4, 0, 1],
    [4, 0, 1],
    [4, 1, 1],
    [4, 1, 1],
  ]);
  assert.equal(summary.tasksTrained, 4, 'tasks the workers trained');
  assert.equal(progress.at(-1), 8, 'every fold counts as done');
  for (const run of runs) {
    assert.equal(run.status, 'done');
    assert.deepEqual(
      run.folds.map((f) => f.slice(0, 3)),
      [
        ['done', 1, run.epochs - 1],
        ['done', 1, run.epochs - 1],
      ],
    );
    const epochs = Array.from({ length: run.epochs }, (_, e) => e);
    assert.deepEqual(run.epochsRecorded, [...epochs.map((e) => `0:${e}`), ...epochs.map((e) => `1:${e}`)], 'one point per epoch');
  }
  const short = runs.find((run) => run.epochs === 2 && run.width === 8)!;
  assert.equal(short.folds[0]![3], 0.5 + 0.2 + 0.008, 'its score is the carrier’s after 2 epochs');

  const off = new HorizonRunner();
  const alone = await searched(off, { sharePrefixes: false });
  assert.equal(off.deliveries.length, 8);
  assert.ok(off.deliveries.every((task) => task.horizons === undefined));
  assert.deepEqual(alone.runs, runs, 'the same records without sharing');
});

test('epoch-prefix sharing: a carrier that crashes before a horizon releases that run; after it, the run stays answered', async () => {
  // Fold 0 of the 4-epoch runs crashes at epoch 1 on its first delivery (before the 2-epoch horizon), fold 1 at epoch 3 (after it).
  const runner = new HorizonRunner([
    { runEpochs: 4, foldIndex: 0, delivery: 1, atEpoch: 1 },
    { runEpochs: 4, foldIndex: 1, delivery: 1, atEpoch: 3 },
  ]);
  const { runs } = await searched(runner);
  assert.ok(
    runs.every((run) => run.status === 'done'),
    JSON.stringify(runs),
  );
  for (const run of runs.filter((r) => r.epochs === 2)) {
    // Fold 0 was released by the crash and answered again by the carrier's retry (attempt 2); fold 1 was answered before the crash.
    assert.deepEqual(
      run.folds.map((f) => f.slice(0, 2)),
      [
        ['done', 2],
        ['done', 1],
      ],
    );
    assert.deepEqual(run.epochsRecorded, ['0:0', '0:1', '1:0', '1:1'], 'the released attempt’s points are not kept twice');
  }
  const retries = runner.deliveries.filter((task) => task.attempt === 2).map((task) => [task.foldIndex, task.horizons?.length ?? 0]);
  assert.deepEqual(
    retries,
    [
      [0, 1],
      [0, 1],
      [1, 0],
      [1, 0],
    ],
    'a retry carries the released run again, not the answered one',
  );
});

test('epoch-prefix sharing: a stop before the horizon leaves the shorter run interrupted, and the resumed search finishes it', async () => {
  const controller = new AbortController();
  const runner = new HorizonRunner();
  const original = runner.run.bind(runner);
  runner.run = (task, onEpoch, signal, onHorizon) =>
    original(task, (epoch, metrics) => (epoch === 0 && controller.abort(), onEpoch(epoch, metrics)), signal, onHorizon);
  const { storage, coordinator, experiment, summary } = await searched(runner, { signal: controller.signal });
  assert.equal(summary.interrupted, true);
  // The first task (4 epochs, width 16: the longest first) carried the 2-epoch run of width 16; width 8's never started.
  const statuses = storage.runs.list(experiment.experimentId).map((run) => [run.params.epochs, run.params.width, run.status]);
  assert.deepEqual(
    statuses.filter(([epochs]) => epochs === 2),
    [
      [2, 8, 'queued'],
      [2, 16, 'interrupted'],
    ],
  );
  const resumed = await coordinator.search(experiment.experimentId);
  assert.equal(resumed.interrupted, false);
  assert.ok(storage.runs.list(experiment.experimentId).every((run) => run.status === 'done'));
});

test('epoch-prefix sharing is off with ASHA, for random and tpe searches, and on a runner that does not answer horizons', async () => {
  const asha = new HorizonRunner();
  await searched(asha, { spec: `${SPEC}pruning: { asha: { minEpochs: 1, reductionFactor: 2 } }\n` });
  assert.ok(asha.deliveries.every((task) => task.horizons === undefined));
  const spec = (text: string) => parseSpec(`name: x\ndataset: { kind: fraud }\n${text}\n`);
  const runner = { answersHorizons: true } as TaskRunner;
  assert.equal(canSharePrefixes(spec('grid: { epochs: [2, 4] }'), runner), true);
  assert.equal(canSharePrefixes(spec('grid: { epochs: [2, 4] }\npruning: { asha: { minEpochs: 1, reductionFactor: 2 } }'), runner), false);
  assert.equal(canSharePrefixes(spec('search: { strategy: random, trials: 3 }\nspace: { epochs: [2, 4] }'), runner), false);
  assert.equal(canSharePrefixes(spec('grid: { epochs: [2, 4] }'), {} as TaskRunner), false);
});

test('FOLDWISE_SHARE_PREFIXES: 0 turns sharing off, 1 or unset leaves it on, anything else names the variable', () => {
  assert.equal(sharePrefixesFromEnv({}), true);
  assert.equal(sharePrefixesFromEnv({ FOLDWISE_SHARE_PREFIXES: '1' }), true);
  assert.equal(sharePrefixesFromEnv({ FOLDWISE_SHARE_PREFIXES: '0' }), false);
  assert.throws(
    () => sharePrefixesFromEnv({ FOLDWISE_SHARE_PREFIXES: 'off' }),
    /FOLDWISE_SHARE_PREFIXES: expected 0 \(off\) or 1 \(on\), got "off"/,
  );
});

test('PrefixBook: a fold is taken once; a longer fold claims the waiting shorter ones of the same model and fold, shortest first', () => {
  const fold = (runId: number, foldIndex: number, params: Partial<Params>): PendingFold => ({
    runId,
    foldIndex,
    attempt: 0,
    params: { ...DEFAULT_PARAMS, width: 8, ...params },
    kind: 'search',
  });
  const folds = [
    fold(1, 0, { epochs: 10 }),
    fold(2, 0, { epochs: 20 }),
    fold(3, 0, { epochs: 30 }),
    fold(4, 0, { epochs: 5, width: 16 }),
    fold(2, 1, { epochs: 20 }),
  ];
  const book = new PrefixBook(folds);
  assert.deepEqual(book.take(folds[2]!), folds[2]);
  assert.equal(book.take(folds[2]!), null, 'taken once');
  const claimed = book.claimShorter(folds[2]!, () => true);
  assert.deepEqual(
    claimed.map((f) => f.runId),
    [1, 2],
    'not the other width, not the other fold',
  );
  assert.equal(book.take(folds[0]!), null, 'a claimed fold is not dispatched on its own');
  book.release({ ...folds[0]!, attempt: 1 });
  assert.equal(book.take(folds[0]!)?.attempt, 1, 'a released fold is taken as it stands since');
  assert.deepEqual(
    book.claimShorter(fold(5, 1, { epochs: 40 }), (runId) => runId !== 2),
    [],
    'a run that is not open is not claimed',
  );
});
