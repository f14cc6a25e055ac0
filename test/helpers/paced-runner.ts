/**
 * A TaskRunner that trains nothing but looks like training: for each task it emits the metrics
 * the real worker records for the task kind (binary, multiclass, regression), one epoch every
 * `epochDelayMs`, stops early on the spec's monitor, and on a refit writes model.json,
 * weights.bin and preprocessing.json into the model folder. For dashboard tests that must watch
 * a search fill in live without TensorFlow.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetInfo, EpochMetrics, ExperimentSpec, Task } from '../../worker/contract/protocol.js';
import { directionOf, isBetter, metricKey, parseMetricKey, scopedMetrics, type TaskKind } from '../../worker/contract/vocabulary.js';
import type { TaskOutcome, TaskRunner } from '../../server/coordinator/task-runner.js';

export type PacedRunnerOptions = {
  /** Pause between epochs. @default 0 (one event-loop turn) */
  readonly epochDelayMs?: number;
  /** @default 2 */
  readonly concurrency?: number;
  /** Make some tasks fail: return a message to fail with. */
  readonly failWhen?: (task: Task) => string | null;
};

function taskOf(spec: ExperimentSpec): TaskKind {
  if (spec.task) return spec.task;
  return spec.dataset.kind === 'sine' ? 'regression' : spec.dataset.kind === 'iris' ? 'multiclass' : 'binary';
}

const FEATURES: Record<string, number> = { sine: 1, iris: 4 };

function quality(task: Task): number {
  const { depth, width, learningRate, dropout } = task.params;
  return Math.min(
    0.95,
    0.62 +
      0.05 * Math.min(depth, 3) +
      (0.03 * Math.log2(Math.max(width, 2))) / 2 -
      Math.abs(Math.log10(learningRate) + 2) * 0.03 -
      dropout * 0.05 +
      task.foldIndex * 0.002,
  );
}

function epochMetrics(kind: TaskKind, q: number, epoch: number, total: number, refit: boolean): EpochMetrics {
  const progress = 1 - Math.exp(-(epoch + 1) / Math.max(2, total / 4));
  const loss = 0.7 - 0.5 * q * progress;
  const overfit = Math.max(0, epoch - total * 0.6) * 0.004;
  const valLoss = loss + 0.03 + overfit;
  const score = 0.5 + (q - 0.5) * progress - overfit;
  const train: Record<string, number> = kind === 'regression' ? { loss } : { loss, accuracy: 0.5 + 0.45 * progress * q };
  if (refit) return train;
  switch (kind) {
    case 'binary':
      return { ...train, ...scopedMetrics('val', { loss: valLoss, accuracy: 0.5 + 0.45 * progress * q, auc: score, pr_auc: score - 0.3 }) };
    case 'multiclass':
      return { ...train, ...scopedMetrics('val', { loss: valLoss, accuracy: score }) };
    case 'regression':
      return { ...train, ...scopedMetrics('val', { loss: valLoss, rmse: Math.sqrt(valLoss), mae: valLoss * 0.8, r2: score }) };
  }
}

export class PacedRunner implements TaskRunner {
  readonly concurrency: number;
  readonly deliveries: Task[] = [];
  readonly #delayMs: number;
  readonly #failWhen: PacedRunnerOptions['failWhen'];

  constructor(options: PacedRunnerOptions = {}) {
    this.concurrency = options.concurrency ?? 2;
    this.#delayMs = options.epochDelayMs ?? 0;
    this.#failWhen = options.failWhen;
  }

  async run(task: Task, onEpoch: (epoch: number, metrics: EpochMetrics) => void, signal?: AbortSignal): Promise<TaskOutcome> {
    this.deliveries.push(task);
    const kind = task.taskKind;
    const refit = task.kind === 'refit';
    const total = refit ? (task.refit?.epochs ?? task.params.epochs) : task.params.epochs;
    const monitor = task.spec.validation.earlyStopping?.monitor ?? metricKey('val', 'loss');
    const direction = directionOf(monitor);
    const patience = task.spec.validation.earlyStopping?.patience ?? Infinity;
    const q = quality(task);
    let bestEpoch = 0;
    let best: number | null = null;
    let bestMetrics: EpochMetrics = {};
    let stoppedEpoch = 0;
    const failure = this.#failWhen?.(task) ?? null;
    for (let epoch = 0; epoch < total; epoch++) {
      await new Promise((resolve) => (this.#delayMs > 0 ? setTimeout(resolve, this.#delayMs) : setImmediate(resolve)));
      if (signal?.aborted) return { status: 'failed', reason: 'interrupted', message: 'stopped', workerName: 'paced-1' };
      const metrics = epochMetrics(kind, q, epoch, total, refit);
      onEpoch(epoch, metrics);
      stoppedEpoch = epoch;
      if (failure && epoch >= 1) return { status: 'failed', reason: 'diverged', message: failure, workerName: 'paced-1' };
      if (refit) continue;
      const value = metrics[monitor] ?? null;
      if (value !== null && (best === null || isBetter(direction, value, best))) {
        best = value;
        bestEpoch = epoch;
        bestMetrics = Object.fromEntries(Object.entries(metrics).filter(([name]) => parseMetricKey(name).scope === 'val'));
      } else if (task.spec.validation.earlyStopping && epoch - bestEpoch >= patience) {
        break;
      }
    }
    const { depth, width } = task.params;
    const inputs = FEATURES[task.spec.dataset.kind] ?? (task.spec.dataset.kind === 'fraud' ? task.spec.dataset.features : 3);
    const paramCount = depth === 0 ? inputs + 1 : inputs * width + width + (depth - 1) * (width * width + width) + width + 1;
    let testMetrics: EpochMetrics | undefined;
    if (refit && task.refit) {
      const last = epochMetrics(kind, q, total - 1, total, false);
      testMetrics = Object.fromEntries(
        Object.entries(last).flatMap(([key, value]) => {
          const { scope, name } = parseMetricKey(key);
          return scope === 'val' ? [[metricKey('test', name), value === null ? null : value - 0.01]] : [];
        }),
      );
      await mkdir(task.refit.modelDir, { recursive: true });
      await writeFile(
        join(task.refit.modelDir, 'model.json'),
        JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] }),
      );
      await writeFile(join(task.refit.modelDir, 'weights.bin'), Buffer.alloc(paramCount * 4));
      await writeFile(
        join(task.refit.modelDir, 'preprocessing.json'),
        JSON.stringify({ format: 'foldwise-preprocessing', version: 1, task: kind }),
      );
    }
    return {
      status: 'done',
      workerName: `paced-${1 + (task.foldIndex % 2)}`,
      backend: 'cpu',
      result: { bestEpoch: refit ? total - 1 : bestEpoch, stoppedEpoch, bestMetrics, paramCount, trainMs: 3 + total, testMetrics },
    };
  }

  async describe(spec: ExperimentSpec): Promise<DatasetInfo> {
    const task = taskOf(spec);
    return {
      task,
      nRows: 200,
      nFeatures: 3,
      testRows: 40,
      classes: task === 'regression' ? null : ['0', '1'],
      featureNames: ['a', 'b', 'c'],
    };
  }

  async close(): Promise<void> {}
}
