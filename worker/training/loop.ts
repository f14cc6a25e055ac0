/**
 * The training loop, written once for every trainer (types.ts `Trainer`): the search loop
 * (epoch → evaluate → epoch boundary → report and stop request → early-stopping verdict →
 * snapshot → the results of shorter runs ending here, then restore of the best epoch) and the
 * refit loop (epochs → one test score). early-stopping.ts decides; this module owns the weights'
 * snapshots and the result's meaning.
 */
import type { EpochMetrics, Task, TaskResult } from '../contract/protocol.js';
import type { EarlyStoppingSpec } from '../contract/spec.js';
import { isRecordedMetric, metricKey, parseMetricKey, scopedMetrics, TASK_METRICS, type TaskKind } from '../contract/vocabulary.js';
import { createBestEpochTracker, type BestEpochTracker } from './early-stopping.js';
import type { Pacer } from './pacing.js';
import type { EpochListener, HorizonListener, Trainer } from './types.js';

/** What a search task does with a result besides the loop's own fields (run-task.ts: the out-of-fold predictions). */
export type SearchLoopOptions = {
  /**
   * Completes a result while the trainer holds the weights of its `bestEpoch` (the task's own at the
   * end, each shorter run's at its horizon). @default the result as it is
   */
  readonly complete?: (result: TaskResult) => Promise<TaskResult>;
  /** Receives each of `task.horizons`' results; without it the horizons are not answered. */
  readonly onHorizon?: HorizonListener;
};

/**
 * Trains a search task for `params.epochs` epochs, scoring `val_…` metrics every epoch, until
 * early stopping (`spec.validation.earlyStopping`) or the listener ('stop') ends it. Each of
 * `task.horizons` gets, at the end of its last epoch (or at an early stop before it, which that
 * run would have made too), the result that run would have reported: the tracker's state there is
 * exactly its, so are its best epoch and weights (restored for the moment when asked, then the
 * current ones put back), and its `trainMs` is the time up to there. A stop request before a
 * horizon leaves that run unanswered.
 * @returns `bestEpoch` and `bestMetrics` describe the weights the trainer holds at the end: the
 *   best epoch's, restored, when early stopping asks for it and the best is not the last epoch;
 *   otherwise the last epoch's. `trainMs` is the time of the epochs (training and validation),
 *   without the time spent answering horizons.
 * @throws {Error} when early stopping monitors a metric the task does not record, or a horizon is
 *   not shorter than the task.
 */
export async function searchLoop(
  trainer: Trainer,
  task: Task,
  onEpoch: EpochListener,
  pacer: Pacer,
  options: SearchLoopOptions = {},
): Promise<TaskResult> {
  const complete = options.complete ?? (async (result: TaskResult) => result);
  const best = new BestEpochKeeper(trainer, task.spec.validation.earlyStopping, task.taskKind);
  const horizons = options.onHorizon === undefined ? [] : shorterRuns(task);
  let lastMetrics: EpochMetrics = {};
  let stoppedEpoch = 0;
  let stoppedByRequest = false;
  const startedAt = performance.now();
  /** Time spent on the horizons' results, which is not this task's training. */
  let asideMs = 0;
  const trainMs = () => performance.now() - startedAt - asideMs;
  for (let epoch = 0; epoch < task.params.epochs; epoch++) {
    stoppedEpoch = epoch;
    const trainMetrics = await trainer.trainEpoch(epoch);
    lastMetrics = scopedMetrics('val', await trainer.evaluate());
    await pacer.epochBoundary(epoch);
    stoppedByRequest = onEpoch(epoch, { ...trainMetrics, ...lastMetrics }) === 'stop';
    const stopped = best.observe(epoch, lastMetrics);
    while (horizons.length > 0 && (horizons[0]!.epochs === epoch + 1 || stopped)) {
      const { runId } = horizons.shift()!;
      const asideFrom = performance.now();
      const own = { stoppedEpoch: epoch, paramCount: trainer.paramCount, trainMs: trainMs() };
      const result = await best.withChosenWeights(epoch, lastMetrics, (chosen) => complete({ ...own, ...chosen }));
      options.onHorizon!(runId, result);
      asideMs += performance.now() - asideFrom;
    }
    if (stoppedByRequest || stopped) break;
  }
  const result = {
    stoppedEpoch,
    paramCount: trainer.paramCount,
    trainMs: trainMs(),
    ...(stoppedByRequest ? { stoppedByRequest } : {}),
  };
  return complete({ ...result, ...best.finish(stoppedEpoch, lastMetrics) });
}

/** The task's horizons, shortest first. @throws {Error} when one is not shorter than the task, or the task is not a search. */
function shorterRuns(task: Task): NonNullable<Task['horizons']>[number][] {
  const horizons = [...(task.horizons ?? [])].sort((a, b) => a.epochs - b.epochs);
  const long = horizons.find((horizon) => horizon.epochs >= task.params.epochs);
  if (long !== undefined)
    throw new Error(`task ${task.taskId} trains ${task.params.epochs} epochs; it cannot answer run ${long.runId} of ${long.epochs}`);
  if (horizons.length > 0 && task.kind !== 'search')
    throw new Error(`task ${task.taskId} is a ${task.kind}; only search tasks have horizons`);
  return horizons;
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
  finish(lastEpoch: number, lastMetrics: EpochMetrics): ChosenEpoch {
    if (this.#restoresBefore(lastEpoch) && this.#trainer.restore()) return this.#best();
    // Otherwise the weights kept are the last epoch's (the contract's meaning of bestEpoch).
    return { bestEpoch: lastEpoch, bestMetrics: lastMetrics };
  }

  /**
   * Runs `body` with the weights `finish` would keep were `lastEpoch` the last epoch (a shorter
   * run's end), then puts the current weights back, so training goes on exactly as before.
   */
  async withChosenWeights<T>(lastEpoch: number, lastMetrics: EpochMetrics, body: (chosen: ChosenEpoch) => Promise<T>): Promise<T> {
    if (!this.#restoresBefore(lastEpoch)) return body({ bestEpoch: lastEpoch, bestMetrics: lastMetrics });
    this.#trainer.snapshot('parked');
    try {
      return await body(this.finish(lastEpoch, lastMetrics));
    } finally {
      this.#trainer.restore('parked');
    }
  }

  #restoresBefore(lastEpoch: number): boolean {
    const bestEpoch = this.#tracker?.bestEpoch;
    return this.#restoreBest && bestEpoch != null && bestEpoch !== lastEpoch;
  }

  #best(): ChosenEpoch {
    return { bestEpoch: this.#tracker!.bestEpoch!, bestMetrics: this.#bestMetrics };
  }
}

/** The epoch whose weights a result describes, and its validation metrics. */
type ChosenEpoch = Pick<TaskResult, 'bestEpoch' | 'bestMetrics'>;

function checkMonitor(monitor: string, task: TaskKind): void {
  const { scope, name } = parseMetricKey(monitor);
  if (scope !== 'val' || !isRecordedMetric(task, name)) {
    const recorded = TASK_METRICS[task].map((metric) => metricKey('val', metric));
    throw new Error(`early stopping monitors "${monitor}", but a ${task} task records ${recorded.join(', ')}`);
  }
}
