import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localComposition, queueComposition, queueTestSuite, startWorkers, tempDir, withTimeout } from './helpers.js';
import type { Composition } from '../../../server/compose.js';

const suite = queueTestSuite();
const { skip, cleanup } = suite;

// concurrentTrials fixed in the spec: the local pool and the queue sample the same sequence.
const SPEC = `
name: queue-tpe
dataset: { kind: fraud, rows: 1000, features: 6, positiveRate: 0.2 }
search: { strategy: tpe, trials: 6, startupTrials: 2, concurrentTrials: 2 }
space:
  learningRate: { float: [1.0e-3, 1.0e-1], log: true }
  width: { int: [4, 32], log: true }
model: { epochs: 5, batchSize: 32 }
validation: { kind: kfold, k: 2 }
seed: 3
`;

function trialsOf(composition: Composition, experimentId: number): string[] {
  return composition.storage.runs
    .list(experimentId)
    .map((run) => `${run.trialNumber} ${run.paramsJson} ${run.status} ${run.scoreMean} ${run.scoreStd}`);
}

test("queue: foldwise worker processes train sampled trials like grid runs; the trials equal the local pool's", {
  skip: skip ?? false,
  timeout: 240_000,
}, async () => {
  const local = localComposition(cleanup, tempDir('tpe-local'), 2);
  const reference = await local.coordinator.prepare(SPEC, { baseDir: '.' });
  await local.coordinator.search(reference.experiment.experimentId);
  const expected = trialsOf(local, reference.experiment.experimentId);
  await local.close();
  assert.equal(expected.length, 6);

  await startWorkers(cleanup, suite.redis.url, 2);
  const { composition, runner } = queueComposition(cleanup, tempDir('tpe-queue'), { url: suite.redis.url });
  const { experiment } = await composition.coordinator.prepare(SPEC, { baseDir: '.' });
  await runner.whenReady();
  const summary = await withTimeout(composition.coordinator.search(experiment.experimentId), 180_000, 'search');
  assert.equal(summary.experiment.status, 'done');
  assert.equal(runner.stats.published, 12, 'every fold of every trial went through the queue');
  assert.deepEqual(trialsOf(composition, experiment.experimentId), expected);
  await composition.close();
});
