import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { selectBackend } from '../../../worker/backend.js';
import { readCsvRecords } from '../../../worker/data/csv.js';
import { ModelFileError, type Preprocessing, predictFromCsv } from '../../../worker/models/model-files.js';
import { exportOnnx } from '../../../worker/models/onnx/export.js';
import type { Task } from '../../../worker/contract/protocol.js';
import { createRng } from '../../../worker/rng.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../../../worker/contract/spec.js';
import type { TaskKind } from '../../../worker/contract/vocabulary.js';
import { runTask } from '../../../worker/training/run-task.js';

const scratch = mkdtempSync(join(tmpdir(), 'foldwise-onnx-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const { tf, backend } = await selectBackend('wasm');
const TOLERANCE = 1e-5;

/** Two numbers and a categorical column; targets for each task. */
function writeCsv(name: string, target: (x1: number, x2: number, colour: string) => string): string {
  const rng = createRng(3);
  const colours = ['red', 'green', 'blue'];
  const lines = ['x1,x2,colour,y'];
  for (let i = 0; i < 160; i++) {
    const [x1, x2] = [rng.normal() * 2, rng.normal() + 5];
    const colour = colours[i % 3]!;
    lines.push([x1.toFixed(3), x2.toFixed(3), colour, target(x1, x2, colour)].join(','));
  }
  const path = join(scratch, `${name}.csv`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function refit(
  name: string,
  csv: string,
  task: TaskKind,
  params: Partial<Params>,
  dataset: Record<string, unknown> = {},
  specFields: Record<string, unknown> = {},
): Promise<string> {
  const modelDir = join(scratch, `model-${name}`);
  const spec = validateSpec({ name: `onnx-${name}`, dataset: { kind: 'csv', path: csv, target: 'y', ...dataset }, ...specFields });
  const base = {
    runId: 1,
    attempt: 1,
    spec,
    taskKind: task,
    params: { ...DEFAULT_PARAMS, depth: 2, width: 8, batchSize: 32, learningRate: 0.02, ...params },
  };
  // With a threshold objective: the search's folds first, whose out-of-fold predictions the refit chooses it on.
  const outOfFold = [];
  if (spec.selection?.threshold !== undefined) {
    for (let fold = 0; fold < 5; fold++) {
      const result = await runTask({ ...base, taskId: `1:${fold}:1`, foldIndex: fold, kind: 'search' }, { tf, backend }, () => {});
      outOfFold.push(result.outOfFold!);
    }
  }
  const refitTask: Task = { ...base, taskId: 'refit:0:1', foldIndex: 0, kind: 'refit', refit: { epochs: 4, modelDir, outOfFold } };
  await runTask(refitTask, { tf, backend }, () => {});
  return modelDir;
}

/** One ONNX input per feature column of the model: float32 (NaN for a blank) or string, [N, 1]. */
function feedsFor(modelDir: string, rows: readonly Record<string, string>[]): Record<string, Tensor> {
  const { encoding } = JSON.parse(readFileSync(join(modelDir, 'preprocessing.json'), 'utf8')) as Preprocessing;
  const n = rows.length;
  return Object.fromEntries(
    encoding.columns.map((column) => [
      column.name,
      column.kind === 'numeric'
        ? new Tensor(
            'float32',
            Float32Array.from(rows, (row) => (row[column.name]!.trim() === '' ? Number.NaN : Number(row[column.name]))),
            [n, 1],
          )
        : new Tensor(
            'string',
            rows.map((row) => row[column.name]!.trim()),
            [n, 1],
          ),
    ]),
  );
}

/** Runs the exported model in ONNX Runtime on the raw CSV rows and compares with `predict` (whose first column is the row key). */
async function assertSameAsPredict(modelDir: string, csv: string, task: TaskKind): Promise<number> {
  const { rows } = await readCsvRecords(csv);
  const session = await InferenceSession.create(await exportOnnx(tf, modelDir));
  const n = rows.length;
  const outputs = await session.run(feedsFor(modelDir, rows));
  const expected = await predictFromCsv(tf, modelDir, [...rows]);
  let maxDifference = 0;
  if (task === 'regression') {
    const values = outputs.prediction!.data as Float32Array;
    expected.rows.forEach((row, i) => {
      maxDifference = Math.max(maxDifference, Math.abs(values[i]! - (row[1] as number)));
    });
  } else {
    assert.deepEqual(
      Array.from(outputs.prediction!.data as string[]),
      expected.rows.map((row) => row[1]),
    );
    const probabilities = outputs.probabilities!.data as Float32Array;
    // predict writes the positive class's probability for binary (ONNX: both columns), every class's otherwise.
    const nClasses = task === 'binary' ? 2 : expected.header.length - 2;
    assert.deepEqual(outputs.probabilities!.dims, [n, nClasses]);
    expected.rows.forEach((row, i) => {
      const written = task === 'binary' ? [1 - (row[2] as number), row[2] as number] : (row.slice(2) as number[]);
      for (let k = 0; k < nClasses; k++) maxDifference = Math.max(maxDifference, Math.abs(probabilities[i * nClasses + k]! - written[k]!));
    });
  }
  assert.ok(maxDifference < TOLERANCE, `max abs difference ${maxDifference}`);
  await session.release();
  return maxDifference;
}

test('binary with a categorical column: labels exact, probabilities within 1e-5, classes in the metadata', async () => {
  const csv = writeCsv('binary', (x1, _, colour) => (x1 + (colour === 'red' ? 1 : 0) > 0.5 ? 'yes' : 'no'));
  const modelDir = await refit('binary', csv, 'binary', { activation: 'relu', dropout: 0.1 });
  const difference = await assertSameAsPredict(modelDir, csv, 'binary');
  const session = await InferenceSession.create(await exportOnnx(tf, modelDir));
  assert.deepEqual([...session.inputNames], ['x1', 'x2', 'colour']);
  assert.deepEqual([...session.outputNames].sort(), ['prediction', 'probabilities']);
  await session.release();
  console.log(`binary: max abs difference ${difference}`);
});

test('multiclass (tanh, halving widths) and unknown categories score as all-zero like predict', async () => {
  const csv = writeCsv('multiclass', (x1, x2) => (x1 > 1 ? 'a' : x2 > 5 ? 'b' : 'c'));
  const modelDir = await refit('multiclass', csv, 'multiclass', { activation: 'tanh', depth: 3, width: 16, widthSchedule: 'halve' });
  console.log(`multiclass: max abs difference ${await assertSameAsPredict(modelDir, csv, 'multiclass')}`);
  const unknown = join(scratch, 'unknown.csv');
  writeFileSync(unknown, 'x1,x2,colour,y\n0.5,5.1,purple,a\n-1,4,red,b\n');
  await assertSameAsPredict(modelDir, unknown, 'multiclass');
});

for (const activation of ['elu', 'selu', 'sigmoid', 'linear'] as const) {
  test(`regression with ${activation}`, async () => {
    const csv = writeCsv(`regression-${activation}`, (x1, x2, colour) => (2 * x1 - x2 + (colour === 'blue' ? 3 : 0)).toFixed(3));
    const modelDir = await refit(`regression-${activation}`, csv, 'regression', { activation });
    console.log(`regression ${activation}: max abs difference ${await assertSameAsPredict(modelDir, csv, 'regression')}`);
  });
}

test('binary with threshold: the label at the frozen threshold (chosen on out-of-fold predictions), as predict writes it', async () => {
  // Imbalanced (about 1 in 5 positive) with string labels whose minority sorts first: positive class "churned" by default.
  const csv = writeCsv('threshold', (x1, x2, colour) => (x1 + 0.5 * (x2 - 5) + (colour === 'red' ? 0.8 : 0) > 1.6 ? 'churned' : 'stayed'));
  const modelDir = await refit('threshold', csv, 'binary', {}, {}, { selection: { threshold: { objective: 'f1' } } });
  const { threshold, classes } = JSON.parse(readFileSync(join(modelDir, 'preprocessing.json'), 'utf8')) as Preprocessing;
  assert.deepEqual(classes, ['stayed', 'churned']);
  assert.equal(threshold?.positiveClass, 'churned');
  assert.deepEqual(threshold?.objective, { objective: 'f1' });
  assert.ok(
    threshold !== undefined && threshold.value !== 0.5 && threshold.value === Math.fround(threshold.value),
    JSON.stringify(threshold),
  );
  console.log(`binary with threshold ${threshold.value}: max abs difference ${await assertSameAsPredict(modelDir, csv, 'binary')}`);

  const predicted = await predictFromCsv(tf, modelDir, [...(await readCsvRecords(csv)).rows]);
  assert.deepEqual(predicted.header, ['row', 'prediction', 'probability_churned']);
  for (const [, label, p] of predicted.rows as [number, string, number][]) assert.equal(label, p > threshold.value ? 'churned' : 'stayed');
});

test('depth 0 (logistic regression) exports the output layer alone', async () => {
  const csv = writeCsv('depth0', (x1) => (x1 > 0 ? '1' : '0'));
  const modelDir = await refit('depth0', csv, 'binary', { depth: 0 });
  console.log(`depth 0: max abs difference ${await assertSameAsPredict(modelDir, csv, 'binary')}`);
});

test('a folder without a model is a ModelFileError', async () => {
  const empty = join(scratch, 'empty');
  mkdirSync(empty);
  await assert.rejects(
    exportOnnx(tf, empty),
    (error: unknown) => error instanceof ModelFileError && /preprocessing\.json/.test(error.message),
  );
});

/** An id column, blanks in a numeric and a categorical column, and a 60-category column (skewed counts); `label` of a score. */
function writeMessyCsv(name: string, label: (score: number) => string): string {
  const rng = createRng(5);
  const lines = ['order_id,x1,zip,colour,y'];
  for (let i = 0; i < 240; i++) {
    const x1 = rng.normal() * 2;
    const zip = `z${Math.floor(60 * rng.next() ** 2)}`;
    const colour = ['red', 'green', 'blue'][i % 3]!;
    const score = x1 + (colour === 'red' ? 1 : 0) + (zip < 'z3' ? 1 : 0);
    lines.push([`ord-${i}`, i % 7 === 3 ? '' : x1.toFixed(3), zip, i % 5 === 1 ? '' : colour, label(score)].join(','));
  }
  const path = join(scratch, `${name}.csv`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

test('imputation, indicators, "other" and unseen categories: ONNX Runtime matches predict, the id column is no input', async () => {
  const csv = writeMessyCsv('messy', (score) => (score > 0.7 ? 'yes' : 'no'));
  const dataset = {
    columns: { id: 'order_id' },
    impute: { numeric: 'median', categorical: 'most_frequent', indicator: true },
    maxCategories: 10,
  };
  const modelDir = await refit('messy', csv, 'binary', {}, dataset);
  const { encoding } = JSON.parse(readFileSync(join(modelDir, 'preprocessing.json'), 'utf8')) as Preprocessing;
  assert.equal(encoding.id, 'order_id');
  const zip = encoding.columns.find((column) => column.name === 'zip');
  assert.ok(zip?.kind === 'categorical' && zip.other !== undefined && zip.categories.length === 9, JSON.stringify(zip));
  assert.ok(encoding.featureNames.includes('x1=(missing)') && encoding.featureNames.includes('colour=(missing)'));
  console.log(`imputed, grouped: max abs difference ${await assertSameAsPredict(modelDir, csv, 'binary')}`);

  const session = await InferenceSession.create(await exportOnnx(tf, modelDir));
  assert.deepEqual([...session.inputNames], ['x1', 'zip', 'colour']);
  await session.release();
  // New rows: blanks everywhere, a zip never seen (→ other), a colour never seen (→ all zero, reported).
  const fresh = join(scratch, 'messy-new.csv');
  writeFileSync(fresh, 'order_id,x1,zip,colour\nA,,z1,red\nB,0.3,,\nC,-2,z999,purple\nD,1.5,z2,green\n');
  await assertSameAsPredict(modelDir, fresh, 'binary');
  const predicted = await predictFromCsv(tf, modelDir, [...(await readCsvRecords(fresh)).rows]);
  assert.deepEqual(
    predicted.rows.map((row) => row[0]),
    ['A', 'B', 'C', 'D'],
  );
  assert.deepEqual(predicted.unseen, [{ column: 'colour', count: 1, examples: ['purple'] }]);
});

test('constant imputation and a regression: ONNX Runtime matches predict on blanks', async () => {
  const csv = writeMessyCsv('messy-constant', (score) => score.toFixed(3));
  const dataset = {
    columns: { drop: ['order_id'], categorical: ['zip'] },
    impute: { numeric: 'constant', categorical: 'constant', fill: { numeric: -1, categorical: 'unknown' }, columns: { x1: 'mean' } },
  };
  const modelDir = await refit('messy-constant', csv, 'regression', {}, dataset);
  const { encoding } = JSON.parse(readFileSync(join(modelDir, 'preprocessing.json'), 'utf8')) as Preprocessing;
  assert.deepEqual(
    encoding.columns.map((column) => [column.name, column.impute?.strategy]),
    [
      ['x1', 'mean'],
      ['zip', 'constant'],
      ['colour', 'constant'],
    ],
  );
  console.log(`constant, regression: max abs difference ${await assertSameAsPredict(modelDir, csv, 'regression')}`);
  const fresh = join(scratch, 'messy-constant-new.csv');
  writeFileSync(fresh, 'x1,zip,colour\n,,\n0.3,z999,purple\n1,z1,unknown\n');
  await assertSameAsPredict(modelDir, fresh, 'regression');
});
