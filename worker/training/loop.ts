/**
 * The training loop, written once for every trainer (types.ts `Trainer`): the search loop
 * (epoch → evaluate → epoch boundary → report and stop request → early-stopping verdict →
 * snapshot, then restore of the best epoch) and the refit loop (epochs → one test score).
 * early-stopping.ts decides; this module owns the weights' snapshot and the result's meaning.
 */
import type { EpochMetrics, Task, TaskResult } from '../contract/protocol.js';
import type { EarlyStoppingSpec } from '../contract/spec.js';
import { isRecordedMetric, metricKey, parseMetricKey, scopedMetrics, TASK_METRICS, type TaskKind } from '../contract/vocabulary.js';
import { createBestEpochTracker, type BestEpochTracker } from './early-stopping.js';
import type { Pacer } from './pacing.js';
import type { EpochListener, Trainer } from './types.js';

/**
 * Trains a search task for `params.epochs` epochs, scoring `val_…` metrics every epoch, until
 * early stopping (`spec.validation.earlyStopping`) or the listener ('stop') ends it.
 * @returns `bestEpoch` and `bestMetrics` describe the weights the trainer holds at the end: the
 *   best epoch's, restored, when early stopping asks for it and the best is not the last epoch;
 *   otherwise the last epoch's. `trainMs` is the time of the epochs (training and validation).
 * @throws {Error} when early stopping monitors a metric the task does not record.
 */
export async function searchLoop(trainer: Trainer, task: Task, onEpoch: EpochListener, pacer: Pacer): Promise<TaskResult> {
  const best = new BestEpochKeeper(trainer, task.spec.validation.earlyStopping, task.taskKind);
  let lastMetrics: EpochMetrics = {};
  let stoppedEpoch = 0;
  let stoppedByRequest = false;
  const startedAt = performance.now();
  for (let epoch = 0; epoch < task.params.epochs; epoch++) {
    stoppedEpoch = epoch;
    const trainMetrics = await trainer.trainEpoch(epoch);
    lastMetrics = scopedMetrics('val', await trainer.evaluate());
    await pacer.epochBoundary(epoch);
    stoppedByRequest = onEpoch(epoch, { ...trainMetrics, ...lastMetrics }) === 'stop';
    const stopped = best.observe(epoch, lastMetrics);
    if (stoppedByRequest || stopped) break;
  }
  const result = {
    stoppedEpoch,
    paramCount: trainer.paramCount,
    trainMs: performance.now() - startedAt,
    ...(stoppedByRequest ? { stoppedByRequest } : {}),
  };
  return { ...result, ...best.finish(stoppedEpoch, lastMetrics) };
}

/**
 * Trains a refit task for `refit.epochs` epochs on all non-test rows (stop requests do not
 * apply), then scores the test rows once (`test_…` metrics).
 * @throws {Error} when the task has no refit settings.
 */
export async function refitLoop(trainer: Trainer, task: Task, onEpoch: EpochListener, pacer: Pacer): Promise<TaskResult> {
  const { epochs } = refitSettings(task);
  const startedAt = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const metrics = await trainer.trainEpoch(epoch);
    await pacer.epochBoundary(epoch);
    onEpoch(epoch, metrics);
  }
  const trainMs = performance.now() - startedAt;
  const testMetrics = scopedMetrics('test', await trainer.evaluate());
  return { bestEpoch: epochs - 1, stoppedEpoch: epochs - 1, bestMetrics: {}, paramCount: trainer.paramCount, trainMs, testMetrics };
}

/** A refit task's settings. @throws {Error} when it has none. */
export function refitSettings(task: Task): NonNullable<Task['refit']> {
  if (task.refit === undefined) throw new Error(`refit task ${task.taskId} has no refit settings (epochs, modelDir)`);
  return task.refit;
}

/**
 * Early stopping around a trainer: the tracker's verdict after every epoch, a snapshot of the
 * weights whenever the monitored metric improves (when the best weights are to be restored), and
 * the restore at the end. Without early stopping it never stops and keeps the last epoch.
 */
class BestEpochKeeper {
  readonly #trainer: Trainer;
  readonly #tracker: BestEpochTracker | null;
  readonly #restoreBest: boolean;
  #bestMetrics: EpochMetrics = {};

  /** @throws {Error} when `spec` monitors a metric the task does not record. */
  constructor(trainer: Trainer, spec: EarlyStoppingSpec | undefined, taskKind: TaskKind) {
    if (spec !== undefined) checkMonitor(spec.monitor, taskKind);
    this.#trainer = trainer;
    this.#tracker = spec === undefined ? null : createBestEpochTracker(spec);
    this.#restoreBest = spec?.restoreBestWeights ?? false;
  }

  /** Records an epoch's validation metrics. @returns whether early stopping ends training here. */
  observe(epoch: number, metrics: EpochMetrics): boolean {
    if (this.#tracker === null) return false;
    const verdict = this.#tracker.update(epoch, metrics[this.#tracker.monitor] ?? null);
    if (verdict === 'improved') {
      this.#bestMetrics = metrics;
      if (this.#restoreBest) this.#trainer.snapshot();
    }
    return verdict === 'stop';
  }

  /**
   * Restores the best epoch's weights when asked for and they are not the last epoch's, even
   * when training ran to the last epoch without stopping (the Keras bug #12511).
   * @returns the epoch whose weights the trainer now holds, and its validation metrics.
   */
  finish(lastEpoch: number, lastMetrics: EpochMetrics): Pick<TaskResult, 'bestEpoch' | 'bestMetrics'> {
    const bestEpoch = this.#tracker?.bestEpoch;
    if (this.#restoreBest && bestEpoch != null && bestEpoch !== lastEpoch && this.#trainer.restore()) {
      return { bestEpoch, bestMetrics: this.#bestMetrics };
    }
    // Otherwise the weights kept are the last epoch's (the contract's meaning of bestEpoch).
    return { bestEpoch: lastEpoch, bestMetrics: lastMetrics };
  }
}

function checkMonitor(monitor: string, task: TaskKind): void {
  const { scope, name } = parseMetricKey(monitor);
  if (scope !== 'val' || !isRecordedMetric(task, name)) {
    const recorded = TASK_METRICS[task].map((metric) => metricKey('val', metric));
    throw new Error(`early stopping monitors "${monitor}", but a ${task} task records ${recorded.join(', ')}`);
  }
}
