import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openStorage } from '../../server/storage/storage.js';
import { runCli, tempDir, writeFile } from '../helpers/cli.js';

const SPEC = `name: iris-repeated
dataset: { kind: iris }
model: { learningRate: 0.05, batchSize: 16, depth: 1 }
grid: { width: [4, 8], epochs: 3 }
validation: { kind: kfold, k: 3, repeats: 2 }
selection: { metric: accuracy }
`;

test('repeated k-fold through real workers: k·n fold rows per run, the mean over all, "3 folds × 2 repeats" in run and show', async () => {
  const dir = tempDir('foldwise-repeats-');
  try {
    const spec = writeFile(dir, 'iris.yaml', SPEC);
    const dataDir = join(dir, 'data');
    const run = await runCli(['run', spec, '--workers', '1', '--no-refit'], dataDir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /2 runs × 3 folds × 2 repeats/);
    const show = await runCli(['show', 'iris-repeated'], dataDir);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /validation: 3 folds × 2 repeats/);
    const storage = openStorage(join(dataDir, 'foldwise.db'));
    try {
      const experiment = storage.experiments.getByName('iris-repeated');
      const runs = storage.runs.list(experiment.experimentId);
      assert.equal(runs.length, 2);
      for (const r of runs) {
        assert.equal(r.status, 'done');
        const folds = storage.runs.folds(r.runId);
        assert.deepEqual(
          folds.map((fold) => fold.foldIndex),
          [0, 1, 2, 3, 4, 5],
        );
        const mean = folds.reduce((sum, fold) => sum + fold.score!, 0) / folds.length;
        assert.ok(Math.abs(r.scoreMean! - mean) < 1e-9, `mean over all 6 folds: ${r.scoreMean} vs ${mean}`);
      }
    } finally {
      storage.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validation.repeats below 1: exit 2 naming the field, nothing written', async () => {
  const dir = tempDir('foldwise-repeats-');
  try {
    const spec = writeFile(dir, 'bad.yaml', SPEC.replace('repeats: 2', 'repeats: 0'));
    const dataDir = join(dir, 'data');
    const run = await runCli(['run', spec, '--workers', '1'], dataDir);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /validation\.repeats: expected an integer of at least 1/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    const db = join(dataDir, 'foldwise.db');
    if (existsSync(db)) {
      const storage = openStorage(db);
      assert.equal(storage.experiments.list().length, 0);
      storage.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
