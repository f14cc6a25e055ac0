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
