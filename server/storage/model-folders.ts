import { join } from 'node:path';

/**
 * Where refit models live under the data directory: one folder per experiment, one subfolder per refit run.
 * Written once so that saving a model and deleting an experiment's models agree on the layout.
 */
export function experimentModelsDir(dataDir: string, experimentName: string): string {
  return join(dataDir, 'models', experimentName);
}

/** The folder a refit run's model (model.json, weights, preprocessing.json) is saved to: `run-<its number in the experiment>`. */
export function refitModelDir(dataDir: string, experimentName: string, refitRunNumber: number | string): string {
  return join(experimentModelsDir(dataDir, experimentName), `run-${refitRunNumber}`);
}
