import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../../worker/data/load.js';
import { splitTest, validationSplits } from '../../../worker/data/splits.js';
import type { Column } from '../../../worker/data/table.js';
import { datasetDigest } from '../../../worker/contract/dataset-digest.js';
import { loadDescribedTable, loadTable, prepareData, taskSeeds } from '../../../worker/training/task-data.js';
import { scratchDir, taskMaker } from '../../helpers/run-task.js';

const scratch = scratchDir('foldwise-task-data-');
const N = 120;
const labels = Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 'yes' : 'no'));
const validation = { kind: 'kfold', k: 3, stratified: true } as const;

/**
 * A CSV whose `amount` is 1, 2, 3, … on fold 0's training rows (some blank), 1000 on its
 * validation rows and 5000 on the test rows: the folds depend on the labels and the seed only,
 * so they can be cut before the cells are written. `city` has a category seen only in validation.
 */
function writeFoldCsv(seed: number): { path: string; train: Int32Array; validation: Int32Array } {
  const y = Float32Array.from(labels, (label) => (label === 'yes' ? 1 : 0));
  const { train: nonTest, test } = splitTest(y, 'binary', 0.2, seed);
  const fold = validationSplits(y, nonTest, validation, 'binary', seed)[0]!;
  const amount = new Array<string>(N);
  const city = new Array<string>(N);
  fold.train.forEach((row, i) => {
    amount[row] = i % 10 === 0 ? '' : String(i + 1);
    city[row] = i % 4 === 0 ? 'Lyon' : 'Paris';
  });
  for (const row of fold.validation) [amount[row], city[row]] = ['1000', 'Nice'];
  for (const row of test) [amount[row], city[row]] = ['5000', 'Nice'];
  const lines = ['amount,city,label', ...labels.map((label, r) => `${amount[r]},${city[r]},${label}`)];
  const path = join(scratch, `fold-${seed}.csv`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, train: fold.train, validation: fold.validation };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

test("prepareData: the imputer's median, the category levels and the standardiser come from the fold's training part only", async () => {
  const seed = 7;
  const { path, train, validation: held } = writeFoldCsv(seed);
  const dataset = { kind: 'csv', path, target: 'label', impute: { numeric: 'median', indicator: true } };
  const task = taskMaker(path, 'fold-median')({ spec: { dataset, validation, seed }, kind: 'search', foldIndex: 0 });
  const table = await loadDataset(task.spec.dataset, seed, 'binary');
  const data = prepareData(table, task);

  const trainValues = Array.from(train, (_, i) => i + 1).filter((_, i) => i % 10 !== 0);
  const expected = median(trainValues);
  const withValidation = median([...trainValues, ...Array.from(held, () => 1000)]);
  assert.notEqual(expected, withValidation, 'the validation part would move the median');
  const amount = data.encoding.columns[0] as Extract<Column, { kind: 'numeric' }>;
  assert.deepEqual(amount, { name: 'amount', kind: 'numeric', impute: { strategy: 'median', value: expected }, indicator: true });
  // "Nice" occurs only in validation and test rows: not a level, so those rows' city block is all zero.
  assert.deepEqual(data.encoding.featureNames, ['amount', 'amount=(missing)', 'city=Lyon', 'city=Paris']);
  assert.equal(data.train.n, train.length);
  const width = data.train.inputs[0]!.width;
  const heldX = data.held.inputs[0]!.values;
  const zero = [2, 3].map((f) => Math.fround(-data.standardizer.mean[f]! / data.standardizer.std[f]!));
  for (let i = 0; i < data.held.n; i++) assert.deepEqual([heldX[i * width + 2], heldX[i * width + 3]], zero);
  // The standardiser is fitted on the imputed training rows: their amount has mean 0.
  const trainX = data.train.inputs[0]!.values;
  const meanAmount = Array.from({ length: data.train.n }, (_, i) => trainX[i * width]!).reduce((a, b) => a + b, 0) / data.train.n;
  assert.ok(Math.abs(meanAmount) < 1e-6, `training amount mean ${meanAmount}`);

  // The whole-table view (for the describe step) is another fit; the task's is cached per split.
  assert.notDeepEqual((table.encoding.columns[0] as typeof amount).impute, amount.impute);
  assert.equal(prepareData(table, task).encoding, data.encoding);
});

test('prepareData: the runs of a fold share its prepared rows, equal to a fresh preparation; class weights stay per run', async () => {
  const { path } = writeFoldCsv(11);
  const make = taskMaker(path, 'fold-shared');
  const spec = { dataset: { kind: 'csv', path, target: 'label', impute: { numeric: 'median' } }, validation, seed: 11 };
  const task = (foldIndex: number, params: Parameters<typeof make>[0]['params'] = {}) => make({ spec, kind: 'search', foldIndex, params });
  const table = await loadDataset(task(0).spec.dataset, 11, 'binary');
  const first = prepareData(table, task(0, { width: 8 }));
  const again = prepareData(table, task(0, { width: 32, depth: 2, classWeight: 'balanced' }));
  assert.equal(again.train, first.train, 'the same arrays, not a copy');
  assert.equal(again.held, first.held);
  assert.equal(first.classWeights, null);
  const positives = first.train.y.reduce((sum, label) => sum + label, 0);
  const balanced = [first.train.n - positives, positives].map((count) => Math.fround(first.train.n / (2 * count)));
  assert.deepEqual(Array.from(again.classWeights!), balanced);
  const otherFold = prepareData(table, task(1));
  assert.notEqual(otherFold.train, first.train);
  // Another table object (a fresh load) gets fresh rows with the same values.
  const fresh = prepareData(await loadDataset(task(0).spec.dataset, 11, 'binary'), task(0));
  assert.notEqual(fresh.train, first.train);
  assert.deepEqual(fresh.train, first.train);
  assert.deepEqual(fresh.held, first.held);
});

test('loadDescribedTable: the described table is the one the search tasks of the same bytes get, an inferred task included', async () => {
  const { path } = writeFoldCsv(13);
  const dataset = { kind: 'csv', path, target: 'label', impute: { numeric: 'median' } };
  const task = taskMaker(path, 'described')({ spec: { dataset, validation, seed: 13 } });
  assert.equal(task.spec.task, undefined, 'the spec leaves the task to be inferred');
  const described = await loadDescribedTable(task.spec);
  const sha256 = (await datasetDigest(task.spec.dataset))!;
  rmSync(path);
  // The file is gone: only the cache can answer, for the digest the search started with.
  assert.equal(await loadTable({ ...task, taskKind: 'binary', dataSha256: sha256 }), described);
  await assert.rejects(loadTable({ ...task, taskKind: 'binary', dataSha256: '0'.repeat(64) }), /ENOENT|no such file|not found/i);
});

test('taskSeeds: epochs are a budget, not a model choice: runs differing only in epochs share their seeds, other params do not', () => {
  const makeTask = taskMaker('never-read.csv', 'seeds');
  const seedsOf = (overrides: Parameters<typeof makeTask>[0]) => taskSeeds(makeTask(overrides));
  assert.deepEqual(seedsOf({ params: { epochs: 3 } }), seedsOf({ params: { epochs: 6 } }));
  assert.notDeepEqual(seedsOf({ params: { epochs: 3 } }), seedsOf({ params: { epochs: 3, width: 8 } }));
  assert.notDeepEqual(seedsOf({ params: { epochs: 3 } }), seedsOf({ params: { epochs: 3 }, foldIndex: 1 }));
  // A refit keeps seeds of its own (kind), the same whatever epochs its search chose.
  const refit = (epochs: number) => seedsOf({ kind: 'refit', params: { epochs }, refit: { epochs, modelDir: '/nonexistent' } });
  assert.deepEqual(refit(2), refit(5));
  assert.notDeepEqual(refit(3), seedsOf({ params: { epochs: 3 } }));
});
