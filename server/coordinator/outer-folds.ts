/**
 * Nested cross-validation (spec `validation.outer`), run after the search on all non-test rows:
 * the whole procedure again on each outer fold's training part. Each outer fold is an experiment of
 * its own (outerFoldName: runs numbered within it, its own leaderboard and selection), whose tasks
 * carry the outer fold (Task.outerFold), so the worker cuts its validation folds from that training
 * part, and refits its selected configuration on all of it, scored on the outer fold instead of the
 * test split (worker/training/task-data.ts). Those refits' scores are the outer estimate of the
 * procedure (selection/nested-estimate.ts). The test split is never touched.
 */
import { foldCountOf, type ExperimentSpec } from '../../worker/contract/spec.js';
import { AppError } from '../errors.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { Storage } from '../storage/storage.js';
import { selectionOf } from '../selection/selection.js';
import type { CoordinatorEventBus } from './events.js';

/** What an outer fold's procedure runs: the coordinator's search and refit of that fold's experiment. */
export type OuterFoldSteps = {
  search(outerFold: Experiment): Promise<{ readonly interrupted: boolean; readonly tasksTrained: number }>;
  refit(outerFold: Experiment): Promise<unknown>;
};

export type OuterFoldsOutcome = { readonly interrupted: boolean; readonly tasksTrained: number };

/**
 * The cost of nested CV before it starts: `k` more searches of `runs` configurations (a grid's
 * runs, or a sampled search's trials) × the folds of each, and `k` refits.
 */
export function nestedTaskCount(
  spec: ExperimentSpec,
  runs: number,
): { readonly k: number; readonly searchTasks: number; readonly refits: number } {
  const k = spec.validation.outer?.k ?? 0;
  return { k, searchTasks: k * runs * foldCountOf(spec.validation), refits: k };
}

/**
 * Searches each outer fold's experiment (recorded by prepareExperiment), then refits the
 * configuration its selection rule chose unless that refit exists (a resumed search). An outer fold
 * without a finished configuration, or whose refit fails, has no outer score (nested-estimate.ts says
 * why) and the others go on. Stops at the first interruption.
 */
export async function searchOuterFolds(
  storage: Pick<Storage, 'experiments' | 'runs' | 'models'>,
  events: CoordinatorEventBus,
  parent: Experiment,
  steps: OuterFoldSteps,
  signal?: AbortSignal,
): Promise<OuterFoldsOutcome> {
  const outerFolds = storage.experiments.outerFoldsOf(parent.experimentId);
  let tasksTrained = 0;
  const interrupted = () => ({ interrupted: true, tasksTrained });
  for (const outerFold of outerFolds) {
    if (signal?.aborted) return interrupted();
    events.emit('outerFold', {
      experimentId: parent.experimentId,
      outerFoldExperimentId: outerFold.experimentId,
      name: outerFold.name,
      outerFold: outerFold.outerOf!.outerFold,
      k: outerFolds.length,
    });
    const searched = await steps.search(outerFold);
    tasksTrained += searched.tasksTrained;
    if (searched.interrupted) return interrupted();
    const { selected } = selectionOf(outerFold, storage.runs);
    if (!selected) continue;
    if (storage.models.ofExperiment(outerFold.experimentId).some((model) => model.sourceRunId === selected.runId)) continue;
    try {
      await steps.refit(outerFold);
    } catch (error) {
      // A failed refit is recorded as a failed run of the outer fold's experiment; the next outer fold goes on.
      if (signal?.aborted) return interrupted();
      if (!(error instanceof AppError)) throw error;
    }
  }
  return { interrupted: false, tasksTrained };
}
