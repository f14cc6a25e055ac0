/**
 * A finished TPE search over a FakeRunner, for the search views' and the notes' tests: 12 trials
 * × 3 folds over learning rate (log), width (log int), dropout and activation, with ASHA pruning
 * some; the scripted validation AUC peaks near learning rate 1e-2 and width 32 and ignores dropout.
 */
import type { Task } from '../../worker/contract/protocol.js';
import type { Coordinator } from '../../server/coordinator/coordinator.js';
import { FakeRunner } from './fake-runner.js';

export const TPE_SPEC = `
name: tpe-views
dataset: { kind: fraud, rows: 200 }
search: { strategy: tpe, trials: 12, startupTrials: 5 }
space:
  learningRate: { float: [1.0e-4, 1.0e-1], log: true }
  width: { int: [8, 128], log: true }
  dropout: { float: [0, 0.5] }
  activation: [relu, tanh]
model: { epochs: 9 }
validation: { kind: kfold, k: 3 }
pruning: { asha: { minEpochs: 2, reductionFactor: 3 } }
selection: { metric: auc }
seed: 7
`;

/** A validation-AUC curve whose peak depends on the learning rate and the width only. */
export function tpeCurve(task: Task): number[] {
  const { learningRate, width } = task.params;
  const q = 0.93 - 0.06 * (Math.log10(learningRate) + 2) ** 2 - 0.02 * (Math.log2(width) - 5) ** 2 + task.foldIndex * 0.002;
  return Array.from({ length: task.params.epochs }, (_, epoch) => 0.5 + (q - 0.5) * (1 - Math.exp(-(epoch + 1) / 2)));
}

export const tpeRunner = () => new FakeRunner((task) => ({ curve: tpeCurve(task) }), { concurrency: 2 });

/** Records and searches the TPE experiment; returns its id. */
export async function searchTpe(coordinator: Coordinator, spec = TPE_SPEC): Promise<number> {
  const { experiment } = await coordinator.prepare(spec, { baseDir: '.' });
  await coordinator.search(experiment.experimentId);
  return experiment.experimentId;
}
