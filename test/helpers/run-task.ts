import assert from 'node:assert/strict';
import type { TensorFlow } from '../../worker/backend.js';
import type { BackendName, EpochMetrics, Task, TaskResult } from '../../worker/contract/protocol.js';
import { DEFAULT_PARAMS, validateSpec, type Params, type TaskKind } from '../../worker/contract/spec.js';
import { runTask, type EpochListener } from '../../worker/training/run-task.js';

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
