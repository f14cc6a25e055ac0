/**
 * The dashboard the experiment page's "at a glance" tests read (issue 11 item 5): a seeded
 * experiment of `runs` runs with a refit (the tied group, the estimate against the test score) and
 * a nested-CV experiment searched through a fake runner (the outer estimate).
 */
import { startTestDashboard, type TestDashboard } from './dashboard-server.js';
import { FakeRunner } from './fake-runner.js';
import { seedExperiment, type SeededExperiment } from './seed-db.js';

const NESTED = `
name: nested
dataset: { kind: fraud, rows: 200 }
grid: { width: [8, 16, 32], epochs: 2 }
validation: { kind: kfold, k: 2, outer: { k: 3 } }
selection: { metric: auc }
`;

export type GlanceDashboard = { readonly dash: TestDashboard; readonly seeded: SeededExperiment; readonly nestedId: number };

export async function startGlanceDashboard(runs: number): Promise<GlanceDashboard> {
  // Wider is better on the inner folds; an outer fold's refit scores by its outer fold (as in the coordinator's nested-CV test).
  const runner = new FakeRunner((task) => ({ curve: [0.5, 0.6 + task.params.width / 100 + (task.outerFold ?? 0) / 100] }));
  let seeded: SeededExperiment | undefined;
  const dash = await startTestDashboard({
    runner,
    copyExperiments: false,
    seed: (storage, { dataDir }) => {
      seeded = seedExperiment(storage, { name: 'ranked', runs, folds: 3, epochs: 12, earlyStop: true, seed: 6, modelDataDir: dataDir });
    },
  });
  const { experiment } = await dash.coordinator.prepare(NESTED, { baseDir: dash.experimentsDir });
  await dash.coordinator.search(experiment.experimentId);
  return { dash, seeded: seeded!, nestedId: experiment.experimentId };
}
