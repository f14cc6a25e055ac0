import { validateSpec } from '../../worker/contract/spec.js';
import type { Storage } from '../../server/storage/storage.js';

/**
 * An experiment row and nothing else (no runs): a fraud spec ranked by AUC, for store tests.
 * `spec` adds to the spec (e.g. its validation).
 */
export function createBareExperiment(storage: Storage, name = 'e', spec: Record<string, unknown> = {}) {
  return storage.experiments.create({
    name,
    specText: 'x',
    spec: validateSpec({ name, dataset: { kind: 'fraud' }, ...spec }),
    specHash: 'h',
    datasetKind: 'fraud',
    task: 'binary',
    selectionMetric: 'auc',
    selectionDirection: 'maximize',
  });
}

/** A fold's result as a worker reports it (score 0.8 at epoch 1 of 2), for store tests; `changes` overrides fields. */
export function foldResult(changes: { bestEpoch?: number; stoppedEpoch?: number; score?: number } = {}) {
  return {
    bestEpoch: 1,
    stoppedEpoch: 2,
    score: 0.8,
    bestMetrics: { val_auc: 0.8 },
    paramCount: 10,
    trainMs: 5,
    backend: 'cpu',
    workerName: 'w',
    ...changes,
  };
}
