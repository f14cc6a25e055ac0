import { setTimeout as sleep } from 'node:timers/promises';
import type { Experiment } from '../storage/experiment-store.js';
import type { Storage } from '../storage/storage.js';
import { StandingsTracker } from '../coordinator/search-standings.js';
import { createSearchProgressBar } from './progress.js';

/** How often a follower reads the database. */
const FOLLOW_POLL_MS = 1000;

/**
 * `foldwise run SPEC --follow` on an experiment another process owns: shows that search's
 * progress, read-only, until its owner gives the lease up (it finished, or stopped, or died).
 * Writes nothing. Returns the experiment as it stands then.
 */
export async function followExperiment(storage: Storage, experiment: Experiment, signal: AbortSignal): Promise<Experiment> {
  const { experimentId } = experiment;
  const bar = createSearchProgressBar(experiment.selectionMetric);
  const standings = new StandingsTracker(storage, experiment);
  const startedAt = Date.now();
  try {
    while (!signal.aborted) {
      const owned = storage.leases.holder(experimentId) !== null;
      const tasksTotal = storage.runs.list(experimentId).reduce((sum, run) => sum + run.nFolds, 0);
      const tasksDone = tasksTotal - storage.runs.pendingFolds(experimentId).length;
      bar.update({ experimentId, tasksDone, tasksTotal, elapsedMs: Date.now() - startedAt, ...standings.current(!owned) });
      if (!owned) break;
      await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    bar.stop();
  }
  return storage.experiments.get(experimentId);
}
