import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TensorFlow } from '../../worker/backend.js';
import type { BackendName, EpochMetrics, Task, TaskResult } from '../../worker/contract/protocol.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../../worker/contract/spec.js';
import type { TaskKind } from '../../worker/contract/vocabulary.js';
import { MLP_ENGINE_ENV_VAR } from '../../worker/engine/engine-trainer.js';
import { Pacer } from '../../worker/training/pacing.js';
import { createRng } from '../../worker/rng.js';
import { runTask } from '../../worker/training/run-task.js';
import { loadTable, prepareData, taskSeeds, type TrainerSetup } from '../../worker/training/task-data.js';
import type { EpochListener, Trainer } from '../../worker/training/types.js';

/** A scratch folder for one test file, removed when the process exits. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `dir`/easy.csv: two well-separated Gaussian blobs in 4 dimensions (a, b, c, d; `label` 0 or 1), an easy binary task. */
export function writeEasyCsv(dir: string): string {
  const rng = createRng(3);
  const lines = ['a,b,c,d,label'];
  for (let i = 0; i < 400; i++) {
    const label = i % 2;
    const shift = label === 1 ? 1.2 : -1.2;
    lines.push([...Array.from({ length: 4 }, () => (shift + rng.normal()).toFixed(4)), label].join(','));
  }
  const path = join(dir, 'easy.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

export type TaskOverrides = {
  spec?: Record<string, unknown>;
  params?: Partial<Params>;
  taskKind?: TaskKind;
  kind?: Task['kind'];
  foldIndex?: number;
  refit?: Task['refit'];
};

/**
 * Builds tasks for training tests: a small MLP on `csvPath` (a binary `label` column) with a
 * holdout, unless `overrides` say otherwise. `name` becomes the spec's name and the task id's prefix.
 */
export function taskMaker(csvPath: string, name: string): (overrides: TaskOverrides) => Task {
  return (overrides) => {
    const spec = validateSpec({
      name,
      dataset: { kind: 'csv', path: csvPath, target: 'label' },
      validation: { kind: 'holdout', fraction: 0.25 },
      ...overrides.spec,
    });
    return {
      taskId: `${name}:0:1`,
      runId: 1,
      foldIndex: overrides.foldIndex ?? 0,
      attempt: 1,
      kind: overrides.kind ?? 'search',
      spec,
      taskKind: overrides.taskKind ?? 'binary',
      params: { ...DEFAULT_PARAMS, depth: 1, width: 16, epochs: 8, batchSize: 32, learningRate: 0.01, ...overrides.params },
      ...(overrides.refit ? { refit: overrides.refit } : {}),
    };
  };
}

export type RecordedRun = { result: TaskResult; curve: EpochMetrics[] };

/** Runs a task with runTask, checking that epochs arrive in order, and keeps its curve. */
export async function run(
  tf: TensorFlow,
  backend: BackendName,
  task: Task,
  listener?: EpochListener,
  signal?: AbortSignal,
): Promise<RecordedRun> {
  const curve: EpochMetrics[] = [];
  const result = await runTask(
    task,
    { tf, backend },
    (epoch, metrics) => {
      assert.equal(epoch, curve.length, 'epochs are reported in order, from 0');
      curve.push(metrics);
      return listener?.(epoch, metrics);
    },
    signal,
  );
  return { result, curve };
}

/** Runs `body` with environment variable `name` set to `value`, restoring it afterwards. */
export async function withEnv<T>(name: string, value: string, body: () => Promise<T>): Promise<T> {
  const previous = process.env[name];
  process.env[name] = value;
  try {
    return await body();
  } finally {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  }
}

/** Runs `body` with FOLDWISE_MLP_ENGINE set to `value` (`layers`: the layers trainer for mlp runs), restoring it afterwards. */
export function withEngine<T>(value: 'fast' | 'layers', body: () => Promise<T>): Promise<T> {
  return withEnv(MLP_ENGINE_ENV_VAR, value, body);
}

/** What `runTask` builds a trainer from, for testing a trainer directly. */
export async function trainerSetup(tf: TensorFlow, task: Task, signal?: AbortSignal): Promise<TrainerSetup> {
  return { tf, task, data: prepareData(await loadTable(task), task), seeds: taskSeeds(task), pacer: new Pacer(task, signal) };
}

/**
 * The seam's snapshot contract on a real trainer: after an epoch, a snapshot; after another, other
 * held-out metrics; after restore, exactly the snapshot's again. The parked slot is a second copy:
 * the current weights put aside while the best slot's are scored, then exactly back (the loop's
 * horizons). Disposes the trainer.
 */
export async function checkSnapshotRestore(trainer: Trainer): Promise<void> {
  try {
    assert.equal(trainer.restore(), false, 'nothing to restore before a snapshot');
    await trainer.trainEpoch(0);
    trainer.snapshot();
    const atSnapshot = await trainer.evaluate();
    const predictionsAtSnapshot = await trainer.heldPredictions();
    await trainer.trainEpoch(1);
    assert.notDeepEqual(await trainer.evaluate(), atSnapshot);
    const current = await trainer.evaluate();
    assert.equal(trainer.restore('parked'), false, 'nothing parked yet');
    trainer.snapshot('parked');
    assert.equal(trainer.restore(), true);
    assert.deepEqual(await trainer.evaluate(), atSnapshot);
    assert.deepEqual(await trainer.heldPredictions(), predictionsAtSnapshot);
    assert.equal(trainer.restore('parked'), true);
    assert.deepEqual(await trainer.evaluate(), current, 'the parked weights come back exactly');
    assert.equal(trainer.restore(), true, 'the best slot keeps its copy');
    assert.deepEqual(await trainer.evaluate(), atSnapshot);
    // The restored weights keep training normally.
    await trainer.trainEpoch(2);
  } finally {
    trainer.dispose();
  }
}

/**
 * The abort contract on a real trainer (`engine` picks it for mlp runs): aborting during the first epoch's report stops
 * the run at the next batch with an AbortError, and no tensors are left behind.
 */
export async function checkAbortStopsAtNextBatch(
  tf: TensorFlow,
  backend: BackendName,
  makeTask: (overrides: TaskOverrides) => Task,
  engine: 'fast' | 'layers',
): Promise<void> {
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const task = makeTask({
    params: { epochs: 50, dropout: 0.2 },
    spec: { validation: { kind: 'holdout', fraction: 0.25, earlyStopping: { patience: 100 } } },
  });
  const epochs: number[] = [];
  const stopAfterReport: EpochListener = (epoch) => {
    epochs.push(epoch);
    controller.abort();
  };
  await assert.rejects(
    withEngine(engine, () => run(tf, backend, task, stopAfterReport, controller.signal)),
    { name: 'AbortError' },
  );
  assert.deepEqual(epochs, [0]);
  assert.equal(tf.memory().numTensors, before);
}
