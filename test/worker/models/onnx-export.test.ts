import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { selectBackend } from '../../../worker/backend.js';
import { readCsvRecords } from '../../../worker/data/csv.js';
import { ModelFileError, predictFromCsv } from '../../../worker/models/model-files.js';
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

async function refit(name: string, csv: string, task: TaskKind, params: Partial<Params>): Promise<string> {
  const modelDir = join(scratch, `model-${name}`);
  const spec: Task = {
    taskId: 'refit:0:1',
    runId: 1,
    foldIndex: 0,
    attempt: 1,
    kind: 'refit',
    spec: validateSpec({ name: `onnx-${name}`, dataset: { kind: 'csv', path: csv, target: 'y' } }),
    taskKind: task,
    params: { ...DEFAULT_PARAMS, depth: 2, width: 8, batchSize: 32, learningRate: 0.02, ...params },
    refit: { epochs: 4, modelDir },
  };
  await runTask(spec, { tf, backend }, () => {});
  return modelDir;
}

/** Runs the exported model in ONNX Runtime on the raw CSV rows and compares with `predict`. */
async function assertSameAsPredict(modelDir: string, csv: string, task: TaskKind): Promise<number> {
  const { rows } = await readCsvRecords(csv);
  const session = await InferenceSession.create(await exportOnnx(tf, modelDir));
  const n = rows.length;
  const feeds = {
    x1: new Tensor(
      'float32',
      Float32Array.from(rows, (row) => Number(row.x1)),
      [n, 1],
    ),
    x2: new Tensor(
      'float32',
      Float32Array.from(rows, (row) => Number(row.x2)),
      [n, 1],
    ),
    colour: new Tensor(
      'string',
      rows.map((row) => row.colour!),
      [n, 1],
    ),
  };
  const outputs = await session.run(feeds);
  const expected = await predictFromCsv(tf, modelDir, [...rows]);
  let maxDifference = 0;
  if (task === 'regression') {
    const values = outputs.prediction!.data as Float32Array;
    expected.rows.forEach((row, i) => {
      maxDifference = Math.max(maxDifference, Math.abs(values[i]! - (row[0] as number)));
    });
  } else {
    assert.deepEqual(
      Array.from(outputs.prediction!.data as string[]),
      expected.rows.map((row) => row[0]),
    );
    const probabilities = outputs.probabilities!.data as Float32Array;
    const nClasses = expected.header.length - 1;
    assert.deepEqual(outputs.probabilities!.dims, [n, nClasses]);
    expected.rows.forEach((row, i) => {
      for (let k = 0; k < nClasses; k++)
        maxDifference = Math.max(maxDifference, Math.abs(probabilities[i * nClasses + k]! - (row[k + 1] as number)));
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
