import { existsSync, renameSync, rmSync } from 'node:fs';
import { experimentModelsDir } from '../storage/model-folders.js';
import type { Storage } from '../storage/storage.js';
import { assertNotLeased } from './experiment-lease.js';

/**
 * Deletes an experiment's rows (runs, folds, curves, models: one cascading transaction) and
 * its model files. The files are first moved aside, so a failed delete puts them back and a
 * successful one never leaves rows pointing at missing files. The one delete path: the dashboard
 * reaches it through Coordinator.deleteExperiment, `foldwise delete` directly (it needs the
 * experiment store and the data directory, not a task runner).
 * An experiment that a process is searching or refitting is not deleted.
 * @throws {NotFoundError | LeaseHeldError}
 */
export function deleteExperiment(storage: Pick<Storage, 'experiments' | 'leases'>, dataDir: string, experimentId: number): void {
  const experiment = storage.experiments.get(experimentId);
  assertNotLeased(storage.leases, experiment);
  const modelsDir = experimentModelsDir(dataDir, experiment.name);
  const trash = `${modelsDir}.deleting-${process.pid}-${Date.now()}`;
  const hasFiles = existsSync(modelsDir);
  if (hasFiles) renameSync(modelsDir, trash);
  try {
    storage.experiments.delete(experimentId);
  } catch (error) {
    if (hasFiles) renameSync(trash, modelsDir);
    throw error;
  }
  if (hasFiles) rmSync(trash, { recursive: true, force: true });
}
