import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PARAMS, validateSpec } from '../../../worker/contract/spec.js';
import type { Task } from '../../../worker/contract/protocol.js';
import { loadDataset } from '../../../worker/data/load.js';
import { outerSplits, splitTest, validationSplits } from '../../../worker/data/splits.js';
import { prepareData, taskSeeds } from '../../../worker/training/task-data.js';

const spec = validateSpec({ name: 'outer', dataset: { kind: 'iris' }, validation: { kind: 'kfold', k: 3, outer: { k: 4 } }, seed: 5 });

function task(kind: 'search' | 'refit', foldIndex: number, outerFold?: number): Task {
  return {
    taskId: `1:${foldIndex}:1`,
    runId: 1,
    foldIndex,
    attempt: 1,
    kind,
    spec,
    taskKind: 'multiclass',
    params: { ...DEFAULT_PARAMS, depth: 1, width: 4, epochs: 1 },
    ...(outerFold === undefined ? {} : { outerFold }),
    ...(kind === 'refit' ? { refit: { epochs: 1, modelDir: '/nonexistent' } } : {}),
  };
}

test("an outer fold's tasks: inner folds cut from its training part, its refit scored on the outer fold", async () => {
  const table = await loadDataset(spec.dataset, spec.seed, 'multiclass');
  const { train: nonTest, test: testRows } = splitTest(table.y, 'multiclass', 0.2, spec.seed);
  const outer = outerSplits(table.y, nonTest, { k: 4 }, 'multiclass', spec.seed);
  for (const [o, part] of outer.entries()) {
    const refit = prepareData(table, task('refit', 0, o));
    assert.deepEqual([refit.train.n, refit.held.n], [part.train.length, part.validation.length], `outer fold ${o}'s refit`);
    const inner = validationSplits(table.y, part.train, spec.validation, 'multiclass', spec.seed);
    for (let f = 0; f < 3; f++) {
      const fold = prepareData(table, task('search', f, o));
      assert.deepEqual([fold.train.n, fold.held.n], [inner[f]!.train.length, inner[f]!.validation.length]);
      assert.equal(fold.train.n + fold.held.n, part.train.length, 'within the outer training part');
    }
  }
  // Without an outer fold: the plain search on all non-test rows, the refit scored on the test split.
  const plain = prepareData(table, task('refit', 0));
  assert.deepEqual([plain.train.n, plain.held.n], [nonTest.length, testRows.length]);
  // Another outer fold, other weights: the seeds name it (and the plain task's seeds are what they always were).
  assert.notDeepEqual(taskSeeds(task('search', 0, 1)), taskSeeds(task('search', 0, 2)));
  assert.notDeepEqual(taskSeeds(task('search', 0, 1)), taskSeeds(task('search', 0)));
});
