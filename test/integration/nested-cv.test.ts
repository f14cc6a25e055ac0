import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openStorage } from '../../server/storage/storage.js';
import { runCli, tempDir, writeFile } from '../helpers/cli.js';

// A tiny grid: 2 runs × 2 folds, searched on all non-test rows and again in each of 2 outer folds.
const SPEC = `name: iris-nested
dataset: { kind: iris }
model: { learningRate: 0.05, batchSize: 16, depth: 1 }
grid: { width: [4, 8], epochs: 3 }
validation: { kind: kfold, k: 2, outer: { k: 2 } }
selection: { metric: accuracy }
`;

test('nested CV, real workers: the task count up front, each outer fold searched, refitted, scored; the estimate in show', async () => {
  const dir = tempDir('foldwise-nested-');
  try {
    const spec = writeFile(dir, 'iris.yaml', SPEC);
    const dataDir = join(dir, 'data');
    const run = await runCli(['run', spec, '--workers', '1'], dataDir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Nested CV \(validation\.outer\.k = 2\): .*2 × 2 folds.*: 8 more search tasks and 2 refits, 3× the tasks/);
    assert.ok(run.stdout.indexOf('Nested CV (validation') < run.stdout.indexOf('outer fold 1 of 2'), 'the cost is said before training');
    assert.match(run.stdout, /Nested CV, outer fold 2 of 2: searching "iris-nested\/outer-2"/);
    assert.match(run.stdout, /\(12 tasks trained\)/);
    assert.match(run.stdout, /Outer estimate of the procedure: accuracy \d\.\d{4} ± \d\.\d{4} over 2 outer folds; the inner CV score/);
    assert.match(run.stdout, /^\s+1\s+iris-nested\/outer-1\s+#\d \(width \d\)\s+\d\.\d{4}\s+\d\.\d{4}$/m);

    const json = await runCli(['show', 'iris-nested', '--json'], dataDir);
    assert.equal(json.code, 0, json.stderr);
    const nested = JSON.parse(json.stdout).nested;
    assert.equal(nested.k, 2);
    assert.equal(nested.scored, 2);
    assert.deepEqual(
      nested.folds.map((fold: { state: string }) => fold.state),
      ['scored', 'scored'],
    );
    const list = JSON.parse((await runCli(['list', '--json'], dataDir)).stdout);
    assert.deepEqual(
      list.experiments.map((e: { name: string }) => e.name),
      ['iris-nested'],
    );

    const storage = openStorage(join(dataDir, 'foldwise.db'));
    try {
      const experiment = storage.experiments.getByName('iris-nested');
      const outerFolds = storage.experiments.outerFoldsOf(experiment.experimentId);
      for (const [o, child] of outerFolds.entries()) {
        const [model] = storage.models.ofExperiment(child.experimentId);
        assert.ok(model, `outer fold ${o + 1} refitted`);
        assert.ok(existsSync(join(model.path, 'model.json')));
        // Scored on the outer fold, about half of the 120 non-test rows; the test split (30 rows) is not it.
        assert.equal(typeof model.testMetrics.test_accuracy, 'number');
        assert.equal(storage.runs.list(child.experimentId).filter((r) => r.kind === 'search' && r.status === 'done').length, 2);
      }
      // The model predict uses is the main search's refit, on all non-test rows.
      const [main] = storage.models.ofExperiment(experiment.experimentId);
      assert.ok(main && !main.path.includes('outer-'));
    } finally {
      storage.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validation.outer.k below 2: exit 2 naming the field, nothing written', async () => {
  const dir = tempDir('foldwise-nested-');
  try {
    const spec = writeFile(dir, 'bad.yaml', SPEC.replace('outer: { k: 2 }', 'outer: { k: 1 }'));
    const dataDir = join(dir, 'data');
    const run = await runCli(['run', spec, '--workers', '1'], dataDir);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /validation\.outer\.k: expected an integer of at least 2/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(join(dataDir, 'foldwise.db')), false, 'no database made');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
