import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../../worker/backend.js';
import type { EpochMetrics, Task, TaskResult } from '../../../worker/contract/protocol.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../../../worker/contract/spec.js';
import { RECSYS_ENGINE_ENV_VAR } from '../../../worker/engine/ratings-trainer.js';
import { runTask } from '../../../worker/training/run-task.js';
import { scratchDir, taskMaker, withEngine, writeEasyCsv } from '../../helpers/run-task.js';

// Epoch-prefix sharing on every trainer: a task that answers shorter runs (Task.horizons) reports for
// each exactly what that run reports trained alone (same seeds: taskSeeds leaves epochs out), out-of-fold
// predictions included, and its own result and curve are those it has without horizons.

const { tf, backend } = await selectBackend();
const makeMlpTask = taskMaker(writeEasyCsv(scratchDir('foldwise-horizons-')), 'horizons');

function makeRatingsTask(params: Partial<Params>, earlyStopping?: Record<string, unknown>): Task {
  const spec = validateSpec({
    name: 'horizons-ratings',
    dataset: { kind: 'ratings', users: 120, items: 60, ratingsPerUser: 12 },
    seed: 3,
    validation: { kind: 'holdout', fraction: 0.25, ...(earlyStopping ? { earlyStopping } : {}) },
  });
  const base = { ...DEFAULT_PARAMS, depth: 1, width: 16, epochs: 8, batchSize: 64, learningRate: 0.01, l2: 0.02, factors: 4 };
  return {
    taskId: 'horizons-ratings:0:1',
    runId: 1,
    foldIndex: 0,
    attempt: 1,
    kind: 'search',
    spec,
    taskKind: 'regression',
    params: { ...base, ...params },
  };
}

type Trained = { result: TaskResult; curve: EpochMetrics[]; answered: Map<number, TaskResult> };

async function train(task: Task): Promise<Trained> {
  const curve: EpochMetrics[] = [];
  const answered = new Map<number, TaskResult>();
  const result = await runTask(
    task,
    { tf, backend },
    (_, metrics) => void curve.push(metrics),
    undefined,
    (runId, answer) => answered.set(runId, answer),
  );
  return { result, curve, answered };
}

/** A result but its training time, which differs from run to run. */
const untimed = ({ trainMs: _, ...rest }: TaskResult) => rest;

/**
 * Trains `task` (8 epochs) answering runs of 2, 3, 5 and 6 epochs, and each of them alone: every
 * answer equals the alone run's result, the task's own result and curve are as without horizons.
 */
async function checkHorizons(task: Task): Promise<void> {
  const shorter = [2, 3, 5, 6];
  const shared = await train({ ...task, horizons: shorter.map((epochs) => ({ runId: 100 + epochs, epochs })) });
  const own = await train(task);
  assert.deepEqual(untimed(shared.result), untimed(own.result), 'the task’s own result is unchanged');
  assert.deepEqual(shared.curve, own.curve, 'and so is its curve');
  assert.deepEqual([...shared.answered.keys()], [102, 103, 105, 106], 'every horizon answered, shortest first');
  for (const epochs of shorter) {
    const alone = await train({ ...task, runId: 100 + epochs, params: { ...task.params, epochs } });
    assert.deepEqual(untimed(shared.answered.get(100 + epochs)!), untimed(alone.result), `the run of ${epochs} epochs`);
    assert.deepEqual(shared.curve.slice(0, alone.curve.length), alone.curve, `its curve is the task’s first epochs (${epochs})`);
  }
}

// minDelta 10: only the first epoch improves, so early stopping (patience 4) stops at epoch 4, inside the
// horizons of 5 and 6 epochs, and the runs of 2 and 3 epochs end with their best epoch (0) restored.
const stopsEarly = { monitor: 'val_loss', patience: 4, minDelta: 10, restoreBestWeights: true };

test('horizons on the MLP engine and the layers trainer: each answer is the run alone (with early stopping and restores too)', async () => {
  for (const engine of ['fast', 'layers'] as const) {
    for (const earlyStopping of [undefined, stopsEarly]) {
      const spec = { validation: { kind: 'holdout', fraction: 0.25, ...(earlyStopping ? { earlyStopping } : {}) } };
      const task = makeMlpTask({ spec, params: { dropout: 0.2 } });
      await withEngine(engine, () => checkHorizons(task));
    }
  }
  const restored = await train({
    ...makeMlpTask({ spec: { validation: { kind: 'holdout', fraction: 0.25, earlyStopping: stopsEarly } } }),
    horizons: [{ runId: 2, epochs: 3 }],
  });
  assert.equal(restored.answered.get(2)!.bestEpoch, 0, 'the restored case is exercised');
  assert.equal(restored.answered.get(2)!.stoppedEpoch, 2);
  assert.equal(restored.result.stoppedEpoch, 4, 'and the early stop inside a horizon');
});

test('horizons on the ratings engine (mf, ncf with dropout) and the layers trainer on ratings: each answer is the run alone', async () => {
  const stopsEarlyOnRmse = { ...stopsEarly, monitor: 'val_rmse' };
  const previous = process.env[RECSYS_ENGINE_ENV_VAR];
  try {
    for (const engine of ['fast', 'layers']) {
      process.env[RECSYS_ENGINE_ENV_VAR] = engine;
      for (const params of [{ family: 'mf' }, { family: 'ncf', useDotTerm: true, dropout: 0.2 }] as Partial<Params>[]) {
        await checkHorizons(makeRatingsTask(params));
        await checkHorizons(makeRatingsTask(params, stopsEarlyOnRmse));
      }
    }
  } finally {
    if (previous === undefined) delete process.env[RECSYS_ENGINE_ENV_VAR];
    else process.env[RECSYS_ENGINE_ENV_VAR] = previous;
  }
});
