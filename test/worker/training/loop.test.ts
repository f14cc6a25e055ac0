import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EpochMetrics, TaskResult } from '../../../worker/contract/protocol.js';
import { refitLoop, searchLoop } from '../../../worker/training/loop.js';
import { Pacer } from '../../../worker/training/pacing.js';
import { DivergedError, throwIfDiverged, type EpochListener, type Trainer, type WeightSlot } from '../../../worker/training/types.js';
import { taskMaker, type TaskOverrides } from '../../helpers/run-task.js';

const makeTask = taskMaker('never-read.csv', 'loop-test');

/**
 * A trainer whose "weights" are the number of the last epoch trained: `evaluate` scores them
 * with `curve[weights]`, so a restore is visible in what the trainer holds at the end.
 */
class FakeTrainer implements Trainer {
  readonly paramCount = 42;
  readonly calls: string[] = [];
  weights = -1;
  readonly #snapshots = new Map<WeightSlot, number>();

  constructor(
    private readonly script: {
      /** Validation metrics (unscoped) after training epoch e. */
      readonly curve: readonly Record<string, number>[];
      readonly divergeAt?: number;
      readonly batches?: number;
      readonly pacer?: Pacer;
    },
  ) {}

  async trainEpoch(epoch: number): Promise<EpochMetrics> {
    this.calls.push(`train ${epoch}`);
    for (let batch = 0; batch < (this.script.batches ?? 1); batch++) await this.script.pacer?.betweenBatches(epoch);
    throwIfDiverged(epoch, [epoch === this.script.divergeAt ? Number.NaN : 1 / (epoch + 1)]);
    this.weights = epoch;
    return { loss: 1 / (epoch + 1), accuracy: 0.5 };
  }

  async evaluate(): Promise<Record<string, number>> {
    this.calls.push('evaluate');
    return { ...this.script.curve[this.weights]! };
  }

  async heldPredictions(): Promise<Float32Array> {
    throw new Error('the loop never asks for predictions');
  }

  snapshot(slot: WeightSlot = 'best'): void {
    this.calls.push(slot === 'best' ? `snapshot ${this.weights}` : `snapshot ${slot} ${this.weights}`);
    this.#snapshots.set(slot, this.weights);
  }

  restore(slot: WeightSlot = 'best'): boolean {
    this.calls.push(slot === 'best' ? 'restore' : `restore ${slot}`);
    const copy = this.#snapshots.get(slot);
    if (copy === undefined) return false;
    this.weights = copy;
    return true;
  }

  async savedModel(): Promise<never> {
    throw new Error('the loop never saves');
  }

  dispose(): void {
    this.calls.push('dispose');
  }
}

/** A validation curve of `val_loss` values, with a constant accuracy. */
const losses = (...values: number[]) => values.map((loss) => ({ loss, accuracy: 0.75 }));

type Recorded = { result: TaskResult; curve: EpochMetrics[] };

async function search(trainer: FakeTrainer, overrides: TaskOverrides, listener?: EpochListener, signal?: AbortSignal): Promise<Recorded> {
  const task = makeTask(overrides);
  const curve: EpochMetrics[] = [];
  const record: EpochListener = (epoch, metrics) => {
    assert.equal(epoch, curve.length, 'epochs are reported in order, from 0');
    curve.push(metrics);
    return listener?.(epoch, metrics);
  };
  return { result: await searchLoop(trainer, task, record, new Pacer(task, signal)), curve };
}

const valOf = (metrics: EpochMetrics) => Object.fromEntries(Object.entries(metrics).filter(([name]) => name.startsWith('val_')));

const earlyStopping = (settings: Record<string, unknown>) => ({
  spec: { validation: { kind: 'holdout', fraction: 0.25, earlyStopping: settings } },
});

test('searchLoop: without early stopping every epoch runs; the last epoch is the best epoch, with its val_ metrics', async () => {
  const trainer = new FakeTrainer({ curve: losses(0.9, 0.5, 0.6, 0.7, 0.8, 0.85, 0.86, 0.87) });
  const { result, curve } = await search(trainer, { params: { epochs: 8 } });
  assert.equal(curve.length, 8);
  assert.deepEqual(Object.keys(curve[0]!), ['loss', 'accuracy', 'val_loss', 'val_accuracy']);
  assert.deepEqual(result.bestMetrics, valOf(curve.at(-1)!));
  assert.equal(result.bestEpoch, 7);
  assert.equal(result.stoppedEpoch, 7);
  assert.equal(result.paramCount, 42);
  assert.ok(result.trainMs >= 0);
  assert.equal('stoppedByRequest' in result, false);
  assert.equal(trainer.weights, 7, 'the weights kept are the last epoch’s');
  assert.ok(!trainer.calls.some((call) => call.startsWith('snapshot') || call === 'restore'));
  assert.ok(!trainer.calls.includes('dispose'), 'the caller disposes the trainer');
});

test('searchLoop: early stopping stops after `patience` epochs without improvement and keeps the best epoch', async () => {
  const trainer = new FakeTrainer({ curve: losses(1.0, 0.8, 0.9, 0.7, 0.75, 0.71, 0.72, 0.6, 0.5, 0.4) });
  const { result, curve } = await search(trainer, { params: { epochs: 10 }, ...earlyStopping({ monitor: 'val_loss', patience: 3 }) });
  assert.ok(result.stoppedEpoch < 9, `stopped at ${result.stoppedEpoch}`);
  assert.equal(result.stoppedEpoch - result.bestEpoch, 3);
  assert.equal(curve.length, result.stoppedEpoch + 1);
  const valLosses = curve.map((metrics) => metrics.val_loss!);
  assert.equal(Math.min(...valLosses), valLosses[result.bestEpoch]);
  assert.deepEqual(result.bestMetrics, valOf(curve[result.bestEpoch]!));
  assert.equal(result.bestEpoch, 3);
  // A snapshot at every improvement, and the best one restored.
  assert.deepEqual(
    trainer.calls.filter((call) => call.startsWith('snapshot') || call === 'restore'),
    ['snapshot 0', 'snapshot 1', 'snapshot 3', 'restore'],
  );
  assert.equal(trainer.weights, 3);
});

test('searchLoop: the best weights are restored even when training ran to the last epoch (Keras #12511)', async () => {
  const trainer = new FakeTrainer({ curve: losses(0.9, 0.4, 0.5, 0.6, 0.7) });
  const { result, curve } = await search(trainer, { params: { epochs: 5 }, ...earlyStopping({ patience: 100 }) });
  assert.equal(result.stoppedEpoch, 4);
  assert.equal(result.bestEpoch, 1);
  assert.deepEqual(result.bestMetrics, valOf(curve[1]!));
  assert.equal(trainer.calls.at(-1), 'restore');
  assert.equal(trainer.weights, 1);
});

test('searchLoop: no restore when the best epoch is the last, or when restoreBestWeights is false', async () => {
  const improving = new FakeTrainer({ curve: losses(0.9, 0.8, 0.7) });
  const last = await search(improving, { params: { epochs: 3 }, ...earlyStopping({ patience: 2 }) });
  assert.equal(last.result.bestEpoch, 2);
  assert.deepEqual(last.result.bestMetrics, valOf(last.curve[2]!));
  assert.ok(!improving.calls.includes('restore'));

  const kept = new FakeTrainer({ curve: losses(0.9, 0.4, 0.5, 0.6, 0.7) });
  const { result, curve } = await search(kept, { params: { epochs: 5 }, ...earlyStopping({ patience: 2, restoreBestWeights: false }) });
  assert.equal(result.stoppedEpoch, 3, 'early stopping still stops');
  assert.equal(result.bestEpoch, 3, 'bestEpoch names the weights kept: the last epoch’s');
  assert.deepEqual(result.bestMetrics, valOf(curve[3]!));
  assert.ok(!kept.calls.some((call) => call.startsWith('snapshot') || call === 'restore'));
});

test('searchLoop: a monitor that grows (val_auc) improves upwards; non-finite values are null and never improve', async () => {
  const curve = [0.6, Number.NaN, 0.8, 0.7].map((auc) => ({ loss: 0.5, auc }));
  const trainer = new FakeTrainer({ curve });
  const { result, curve: reported } = await search(trainer, {
    params: { epochs: 4 },
    ...earlyStopping({ monitor: 'val_auc', patience: 5 }),
  });
  assert.equal(reported[1]!.val_auc, null);
  assert.equal(result.bestEpoch, 2);
  assert.deepEqual(result.bestMetrics, { val_loss: 0.5, val_auc: 0.8 });
});

test('searchLoop: a listener answering "stop" ends a search task after that epoch, flagged stoppedByRequest', async () => {
  const trainer = new FakeTrainer({ curve: losses(...Array.from({ length: 20 }, (_, e) => 1 / (e + 1))) });
  const { result, curve } = await search(trainer, { params: { epochs: 20 } }, (epoch) => (epoch === 2 ? 'stop' : 'continue'));
  assert.equal(curve.length, 3);
  assert.equal(result.stoppedEpoch, 2);
  assert.equal(result.stoppedByRequest, true);
});

test('searchLoop: a DivergedError from the trainer ends the task at that epoch, naming it', async () => {
  for (const divergeAt of [0, 2]) {
    const trainer = new FakeTrainer({ curve: losses(0.9, 0.8, 0.7, 0.6, 0.5), divergeAt });
    const epochs: number[] = [];
    await assert.rejects(
      search(trainer, { params: { epochs: 5 } }, (epoch) => void epochs.push(epoch)),
      (error: unknown) => {
        assert.ok(error instanceof DivergedError);
        assert.equal(error.epoch, divergeAt);
        assert.match(error.message, new RegExp(`loss became (NaN|Infinity) at epoch ${divergeAt}`));
        return true;
      },
    );
    assert.deepEqual(
      epochs,
      Array.from({ length: divergeAt }, (_, e) => e),
    );
  }
});

test('throwIfDiverged: names the first value that is not finite (the loss before the objective)', () => {
  throwIfDiverged(3, [0.5, 1.5]);
  assert.throws(() => throwIfDiverged(3, [Number.POSITIVE_INFINITY, Number.NaN]), { epoch: 3, loss: Number.POSITIVE_INFINITY });
  assert.throws(
    () => throwIfDiverged(1, [0.5, Number.NaN, Number.POSITIVE_INFINITY]),
    (error: unknown) => {
      assert.ok(error instanceof DivergedError);
      assert.equal(error.message, 'training diverged: the loss became NaN at epoch 1 (try a smaller learning rate)');
      return true;
    },
  );
});

test('searchLoop and refitLoop: an aborted signal stops at the next batch (or epoch boundary) with an AbortError', async () => {
  const task = makeTask({ params: { epochs: 50 }, ...earlyStopping({ patience: 100 }) });
  for (const loop of [searchLoop, refitLoop]) {
    const controller = new AbortController();
    const pacer = new Pacer(task, controller.signal);
    const trainer = new FakeTrainer({ curve: losses(...Array.from({ length: 50 }, () => 0.5)), batches: 3, pacer });
    const epochs: number[] = [];
    const listener: EpochListener = (epoch) => {
      epochs.push(epoch);
      controller.abort();
    };
    await assert.rejects(loop(trainer, { ...task, refit: { epochs: 50, modelDir: 'unused' } }, listener, pacer), {
      name: 'AbortError',
      message: `task ${task.taskId} aborted during epoch 1`,
    });
    assert.deepEqual(epochs, [0]);
    assert.deepEqual(
      trainer.calls.filter((call) => call.startsWith('train')),
      ['train 0', 'train 1'],
    );
  }
  // Aborted while an epoch trains (after its last batch): the epoch is not reported.
  const controller = new AbortController();
  const pacer = new Pacer(task, controller.signal);
  const trainer = new FakeTrainer({ curve: losses(0.5) });
  const original = trainer.trainEpoch.bind(trainer);
  trainer.trainEpoch = async (epoch) => original(epoch).finally(() => controller.abort());
  const epochs: number[] = [];
  await assert.rejects(
    searchLoop(trainer, task, (epoch) => void epochs.push(epoch), pacer),
    { name: 'AbortError' },
  );
  assert.deepEqual(epochs, []);
});

test('searchLoop: a monitor the task does not record is an error before any epoch', async () => {
  const trainer = new FakeTrainer({ curve: losses(0.5) });
  await assert.rejects(
    search(trainer, { taskKind: 'regression', ...earlyStopping({ monitor: 'val_auc' }) }),
    /early stopping monitors "val_auc", but a regression task records val_loss, val_rmse, val_mae, val_r2/,
  );
  assert.deepEqual(trainer.calls, []);
});

test('refitLoop: trains refit.epochs epochs (stop requests do not apply), then scores the test rows once as test_ metrics', async () => {
  const trainer = new FakeTrainer({
    curve: [
      { loss: 0.3, auc: 0.9 },
      { loss: 0.2, auc: Number.NaN },
      { loss: 0.1, auc: 0.95 },
    ],
  });
  const task = makeTask({ kind: 'refit', refit: { epochs: 3, modelDir: 'unused' }, params: { epochs: 50 } });
  const curve: EpochMetrics[] = [];
  const result = await refitLoop(trainer, task, (_, metrics) => (curve.push(metrics), 'stop'), new Pacer(task));
  assert.equal(curve.length, 3);
  assert.deepEqual(Object.keys(curve[0]!), ['loss', 'accuracy']);
  assert.deepEqual(trainer.calls, ['train 0', 'train 1', 'train 2', 'evaluate']);
  const { trainMs, ...rest } = result;
  assert.ok(trainMs >= 0);
  assert.deepEqual(rest, {
    bestEpoch: 2,
    stoppedEpoch: 2,
    bestMetrics: {},
    paramCount: 42,
    testMetrics: { test_loss: 0.1, test_auc: 0.95 },
  });

  const unscored = new FakeTrainer({ curve: [{ loss: 0.2, auc: Number.NaN }] });
  const once = makeTask({ kind: 'refit', refit: { epochs: 1, modelDir: 'unused' } });
  assert.deepEqual((await refitLoop(unscored, once, () => undefined, new Pacer(once))).testMetrics, { test_loss: 0.2, test_auc: null });

  const bare = makeTask({ kind: 'refit' });
  await assert.rejects(
    refitLoop(trainer, bare, () => undefined, new Pacer(bare)),
    /refit task loop-test:0:1 has no refit settings/,
  );
});

/** What a run answered on the way reported: its result and the weights the trainer held when it was completed. */
type Answered = { runId: number; result: TaskResult; weights: number };

/**
 * Runs `overrides` for `epochs` with `horizons`, completing each result with the weights the trainer
 * holds (as run-task.ts adds the out-of-fold predictions of the chosen epoch's weights).
 */
async function searchWithHorizons(
  curve: readonly Record<string, number>[],
  overrides: TaskOverrides,
  horizons: { runId: number; epochs: number }[],
  listener?: EpochListener,
): Promise<{ carrier: Answered; answered: Answered[]; trainer: FakeTrainer; reported: number }> {
  const trainer = new FakeTrainer({ curve });
  const task = { ...makeTask(overrides), horizons };
  const answered: Answered[] = [];
  let reported = 0;
  const complete = async (result: TaskResult) => ({ ...result, bestMetrics: { ...result.bestMetrics, held: trainer.weights } });
  const result = await searchLoop(trainer, task, (epoch, metrics) => (reported++, listener?.(epoch, metrics)), new Pacer(task), {
    complete,
    onHorizon: (runId, answer) => answered.push({ runId, result: answer, weights: trainer.weights }),
  });
  return { carrier: { runId: task.runId, result, weights: trainer.weights }, answered, trainer, reported };
}

/** The same run trained on its own for `epochs`, completed the same way. */
async function alone(curve: readonly Record<string, number>[], overrides: TaskOverrides, epochs: number): Promise<TaskResult> {
  const { carrier } = await searchWithHorizons(curve, { ...overrides, params: { ...overrides.params, epochs } }, []);
  return carrier.result;
}

/** A result but its training time, which differs from run to run. */
const untimed = ({ trainMs, ...rest }: TaskResult) => (assert.ok(trainMs >= 0), rest);

test('searchLoop with horizons: each shorter run gets, at its last epoch, its result alone; training goes on', async () => {
  const curve = losses(0.9, 0.8, 0.7, 0.6, 0.5, 0.4);
  const { carrier, answered, trainer } = await searchWithHorizons(curve, { params: { epochs: 6 } }, [
    { runId: 8, epochs: 5 },
    { runId: 7, epochs: 3 },
  ]);
  assert.deepEqual(
    answered.map((a) => [a.runId, a.result.stoppedEpoch, a.weights]),
    [
      [7, 2, 2],
      [8, 4, 4],
    ],
    'shortest first, each as its last epoch ends, before the next epoch trains',
  );
  assert.deepEqual(untimed(answered[0]!.result), untimed(await alone(curve, {}, 3)));
  assert.deepEqual(untimed(answered[1]!.result), untimed(await alone(curve, {}, 5)));
  assert.deepEqual(untimed(carrier.result), untimed(await alone(curve, {}, 6)), 'the task itself is unchanged');
  assert.ok(!trainer.calls.some((call) => call.includes('parked')), 'without a restore the current weights are the chosen ones');
  assert.ok(answered[0]!.result.trainMs <= answered[1]!.result.trainMs && answered[1]!.result.trainMs <= carrier.result.trainMs);
});

test('searchLoop with horizons: restoreBestWeights scores a shorter run on its best epoch, then trains on the parked weights', async () => {
  const curve = losses(0.9, 0.5, 0.6, 0.45, 0.7, 0.4, 0.8, 0.9);
  const overrides = { params: { epochs: 8 }, ...earlyStopping({ monitor: 'val_loss', patience: 3 }) };
  const { carrier, answered, trainer } = await searchWithHorizons(curve, overrides, [{ runId: 5, epochs: 3 }]);
  const [short] = answered;
  assert.equal(short!.result.bestEpoch, 1);
  assert.equal(short!.result.bestMetrics.held, 1, 'completed while the trainer held the best epoch’s weights');
  assert.deepEqual(untimed(short!.result), untimed(await alone(curve, overrides, 3)));
  assert.deepEqual(untimed(carrier.result), untimed(await alone(curve, overrides, 8)));
  assert.equal(carrier.result.bestEpoch, 5);
  const weightCalls = trainer.calls.filter((call) => call.startsWith('snapshot') || call.startsWith('restore') || call.startsWith('train'));
  assert.deepEqual(weightCalls.slice(0, 8), [
    'train 0',
    'snapshot 0',
    'train 1',
    'snapshot 1',
    'train 2',
    'snapshot parked 2',
    'restore',
    'restore parked',
  ]);
  assert.equal(weightCalls[8], 'train 3', 'epoch 3 trains from epoch 2’s weights');
});

test('searchLoop with horizons: an early stop before a horizon ends the shorter runs there too, with the task’s own result', async () => {
  const curve = losses(0.9, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1, 1);
  const overrides = { params: { epochs: 10 }, ...earlyStopping({ monitor: 'val_loss', patience: 2 }) };
  const { carrier, answered, reported } = await searchWithHorizons(curve, overrides, [
    { runId: 4, epochs: 3 },
    { runId: 6, epochs: 6 },
    { runId: 5, epochs: 4 },
  ]);
  assert.equal(carrier.result.stoppedEpoch, 3);
  assert.equal(reported, 4, 'training stopped where early stopping stops');
  assert.deepEqual(
    answered.map((a) => [a.runId, a.result.stoppedEpoch]),
    [
      [4, 2],
      [5, 3],
      [6, 3],
    ],
  );
  for (const [index, epochs] of [3, 4, 6].entries())
    assert.deepEqual(untimed(answered[index]!.result), untimed(await alone(curve, overrides, epochs)), `the run of ${epochs} epochs`);
  assert.deepEqual(untimed(answered[2]!.result), untimed(carrier.result));
});

test('searchLoop with horizons: a stop request before a horizon leaves that run unanswered; a horizon must be shorter', async () => {
  const curve = losses(0.9, 0.8, 0.7, 0.6, 0.5, 0.4);
  const stopped = await searchWithHorizons(
    curve,
    { params: { epochs: 6 } },
    [
      { runId: 2, epochs: 2 },
      { runId: 3, epochs: 4 },
    ],
    (epoch) => (epoch === 2 ? 'stop' : 'continue'),
  );
  assert.deepEqual(
    stopped.answered.map((a) => a.runId),
    [2],
  );
  assert.equal(stopped.carrier.result.stoppedByRequest, true);
  await assert.rejects(
    searchWithHorizons(curve, { params: { epochs: 6 } }, [{ runId: 3, epochs: 6 }]),
    /trains 6 epochs; it cannot answer run 3 of 6/,
  );
});
