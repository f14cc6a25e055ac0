import type { DatasetInfo, EpochMetrics, ExperimentSpec, Task } from '../../worker/contract/protocol.js';
import type { EpochListener, TaskOutcome, TaskRunner } from '../../server/coordinator/task-runner.js';
import { scopedMetrics } from '../../worker/contract/vocabulary.js';

export type Script = (task: Task, delivery: number) => { curve: number[]; outcome?: TaskOutcome };

/**
 * A TaskRunner that trains nothing: for each task it replays a scripted validation-AUC curve as
 * epoch messages, then reports done (best epoch = argmax) unless the script gives an outcome.
 */
export class FakeRunner implements TaskRunner {
  readonly concurrency: number;
  readonly deliveries: Task[] = [];
  readonly #script: Script;
  readonly #info: DatasetInfo;

  constructor(script: Script, options: { concurrency?: number; info?: Partial<DatasetInfo> } = {}) {
    this.#script = script;
    this.concurrency = options.concurrency ?? 2;
    this.#info = {
      task: 'binary',
      nRows: 100,
      nFeatures: 3,
      testRows: 20,
      classes: ['0', '1'],
      featureNames: ['a', 'b', 'c'],
      ...options.info,
    };
  }

  async run(task: Task, onEpoch: EpochListener, signal?: AbortSignal): Promise<TaskOutcome> {
    this.deliveries.push(task);
    const delivery = this.deliveries.filter((t) => t.runId === task.runId && t.foldIndex === task.foldIndex).length;
    const script = this.#script(task, delivery);
    const outcome = script.outcome;
    let curve = script.curve;
    let stoppedByRequest = false;
    for (let epoch = 0; epoch < curve.length; epoch++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) return { status: 'failed', reason: 'interrupted', message: 'stopped', workerName: 'fake' };
      const metrics: EpochMetrics =
        task.kind === 'refit'
          ? { loss: 1 - curve[epoch]! }
          : { loss: 1 - curve[epoch]!, ...scopedMetrics('val', { loss: 1 - curve[epoch]!, auc: curve[epoch]! }) };
      if (onEpoch(epoch, metrics) === 'stop') {
        curve = curve.slice(0, epoch + 1);
        stoppedByRequest = true;
        break;
      }
    }
    if (outcome) return outcome;
    const bestEpoch = curve.indexOf(Math.max(...curve));
    return {
      status: 'done',
      workerName: 'fake',
      backend: 'cpu',
      result: {
        bestEpoch,
        stoppedEpoch: curve.length - 1,
        paramCount: 10 * task.params.width,
        trainMs: 5,
        bestMetrics: task.kind === 'refit' ? {} : scopedMetrics('val', { loss: 1 - curve[bestEpoch]!, auc: curve[bestEpoch]! }),
        testMetrics: task.kind === 'refit' ? scopedMetrics('test', { loss: 0.2, auc: 0.9 }) : undefined,
        ...(stoppedByRequest ? { stoppedByRequest } : {}),
      },
    };
  }

  async describe(_spec: ExperimentSpec): Promise<DatasetInfo> {
    return this.#info;
  }

  async close(): Promise<void> {}
}
