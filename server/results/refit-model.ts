/**
 * Which refit model an export uses. By default the newest refit of the experiment: the model
 * `foldwise predict` uses. `runId` picks the refit of that search run (the number `foldwise
 * refit --run` takes), or the model of that refit run itself. When there is none, the error
 * says which command makes one.
 */
import { NotFoundError } from '../errors.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { ModelRecord } from '../storage/model-store.js';
import type { Storage } from '../storage/storage.js';

/** @throws {NotFoundError} for a run that is not the experiment's, or when the chosen run has no refit model. */
export function refitModelFor(storage: Pick<Storage, 'runs' | 'models'>, experiment: Experiment, runId?: number): ModelRecord {
  const models = storage.models.ofExperiment(experiment.experimentId);
  const name = experiment.name;
  if (runId === undefined) {
    const newest = models[0];
    if (!newest) throw new NotFoundError(`experiment "${name}" has no refit model yet: run \`foldwise refit ${name}\` first`);
    return newest;
  }
  const model = models.find((m) => m.sourceRunId === runId) ?? models.find((m) => m.runId === runId);
  if (model) return model;
  const run = storage.runs.list(experiment.experimentId).find((r) => r.runId === runId);
  if (!run) {
    const refitted = [...new Set(models.map((m) => m.sourceRunId).filter((id) => id !== null))].sort((a, b) => a - b);
    throw new NotFoundError(
      `run ${runId} is not a run of "${name}"; ` +
        (refitted.length > 0
          ? `runs with a refit model: ${refitted.join(', ')}`
          : `it has no refit model yet: run \`foldwise refit ${name}\` first`),
    );
  }
  if (run.status !== 'done')
    throw new NotFoundError(`run ${runId} of "${name}" is ${run.status} and has no refit model (only finished runs can be refitted)`);
  throw new NotFoundError(`run ${runId} of "${name}" has no refit model: run \`foldwise refit ${name} --run ${runId}\` first`);
}
