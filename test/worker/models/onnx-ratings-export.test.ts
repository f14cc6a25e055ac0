import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { selectBackend } from '../../../worker/backend.js';
import { ModelFileError, predictFromCsv, type Preprocessing } from '../../../worker/models/model-files.js';
import { exportOnnx } from '../../../worker/models/onnx/export.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../../../worker/contract/spec.js';
import type { Task } from '../../../worker/contract/protocol.js';
import { runTask } from '../../../worker/training/run-task.js';

const scratch = mkdtempSync(join(tmpdir(), 'foldwise-onnx-ratings-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const { tf, backend } = await selectBackend('wasm');
const TOLERANCE = 1e-5;

const spec = validateSpec({
  name: 'onnx-ratings',
  dataset: { kind: 'ratings', users: 120, items: 200, ratingsPerUser: 12 },
  seed: 5,
  validation: { kind: 'holdout', fraction: 0.25 },
  // A large test part leaves users and items of the side tables without training ratings.
  testSplit: { fraction: 0.5 },
});

async function refit(name: string, params: Partial<Params>): Promise<string> {
  const modelDir = join(scratch, `model-${name}`);
  const task: Task = {
    taskId: 'refit:0:1',
    runId: 1,
    foldIndex: 0,
    attempt: 1,
    kind: 'refit',
    spec,
    taskKind: 'regression',
    params: { ...DEFAULT_PARAMS, depth: 1, width: 16, batchSize: 64, learningRate: 0.02, l2: 0.01, factors: 4, ...params },
    refit: { epochs: 3, modelDir },
  };
  await runTask(task, { tf, backend }, () => {});
  return modelDir;
}

/**
 * Rows of every kind predict handles: known users and items, a user of the side table without
 * training ratings (if the split has one), new ids with their side features in the row (cells
 * with spaces around them, as a CSV may hold), and new ids with none.
 */
function rowsFor(preprocessing: Preprocessing): Record<string, string>[] {
  const { users, items } = preprocessing.ratings!;
  const [u1, u2] = users.embedded;
  const [i1, i2] = items.embedded;
  const coldUser = users.table.ids.find((id) => !users.embedded.includes(id));
  const coldItem = items.table.ids.find((id) => !items.embedded.includes(id));
  assert.ok(coldUser !== undefined && coldItem !== undefined, 'the refit leaves users and items of the side tables without ratings');
  return [
    { user: u1!, item: i1! },
    { user: u2!, item: i2!, age: '99', gender: 'M' },
    { user: u1!, item: 'new-item', genres: 'Drama|Comedy', year: '1975' },
    { user: u2!, item: 'new-item', genres: ' Drama | SciFi |Unheard ', year: '' },
    { user: 'new-user', item: i1!, age: '30', gender: 'F', occupation: 'artist' },
    { user: 'new-user', item: i2!, age: ' 61 ', gender: ' M ', occupation: 'unheard-of' },
    { user: 'new-user', item: 'new-item' },
    ...(coldUser === undefined ? [] : [{ user: coldUser, item: i1! }]),
    ...(coldItem === undefined ? [] : [{ user: u1!, item: coldItem }]),
  ];
}

/** The ONNX inputs of `rows`: a numeric side column as float (blank or absent: NaN), the rest as strings. */
function feedsFor(session: InferenceSession, preprocessing: Preprocessing, rows: readonly Record<string, string>[]) {
  const { users, items } = preprocessing.ratings!;
  const numeric = new Set([...users.encoder.columns, ...items.encoder.columns].filter((c) => c.kind === 'numeric').map((c) => c.name));
  const feeds: Record<string, Tensor> = {};
  for (const name of session.inputNames) {
    const cells = rows.map((row) => row[name] ?? '');
    feeds[name] = numeric.has(name)
      ? new Tensor(
          'float32',
          Float32Array.from(cells, (cell) => (cell.trim() === '' ? Number.NaN : Number(cell))),
          [rows.length, 1],
        )
      : new Tensor('string', cells, [rows.length, 1]);
  }
  return feeds;
}

/** Exports, runs in ONNX Runtime and compares with predict; returns the session's inputs, the opset and the difference. */
async function assertSameAsPredict(modelDir: string) {
  const preprocessing = JSON.parse(readFileSync(join(modelDir, 'preprocessing.json'), 'utf8')) as Preprocessing;
  const rows = rowsFor(preprocessing);
  const bytes = await exportOnnx(tf, modelDir);
  const session = await InferenceSession.create(bytes);
  const outputs = await session.run(feedsFor(session, preprocessing, rows));
  const expected = await predictFromCsv(tf, modelDir, [...rows]);
  assert.deepEqual(expected.header, ['row', 'prediction', 'user_seen', 'item_seen']);
  assert.deepEqual(outputs.prediction!.dims, [rows.length]);
  const predictions = outputs.prediction!.data as Float32Array;
  let difference = 0;
  expected.rows.forEach((row, i) => {
    difference = Math.max(difference, Math.abs(predictions[i]! - (row[1] as number)));
  });
  assert.ok(difference < TOLERANCE, `max abs difference ${difference}`);
  assert.ok(new Set(predictions).size > rows.length / 2, 'the rows get different predictions');
  for (const [k, name] of [
    [2, 'user_seen'],
    [3, 'item_seen'],
  ] as const)
    assert.deepEqual(
      Array.from(outputs[name]!.data as Uint8Array, (seen) => String(seen === 1)),
      expected.rows.map((row) => row[k]),
      name,
    );
  const inputs = [...session.inputNames];
  await session.release();
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const metadata = Object.fromEntries(model.metadataProps.map((prop) => [prop.key, prop.value]));
  assert.deepEqual(JSON.parse(metadata.inputs!), inputs);
  assert.equal(metadata.task, 'regression');
  const opset = Number(model.opsetImport.find((entry) => entry.domain === '')!.version);
  return { inputs, opset, difference };
}

const SIDE_INPUTS = ['age', 'gender', 'occupation', 'genres', 'year'];

test('mf: ids in, biases and factors gathered; unknown ids use the zero row as predict does; opset 13 (no string operators)', async () => {
  const modelDir = await refit('mf', { family: 'mf' });
  const { inputs, opset, difference } = await assertSameAsPredict(modelDir);
  assert.deepEqual(inputs, ['user', 'item']);
  assert.equal(opset, 13);
  console.log(`mf: max abs difference ${difference}`);

  // A layer configuration the export cannot express is refused by name, not exported wrongly.
  const tampered = join(scratch, 'model-mf-normalized');
  cpSync(modelDir, tampered, { recursive: true });
  const modelJson = readFileSync(join(tampered, 'model.json'), 'utf8');
  assert.ok(modelJson.includes('"normalize":false'));
  writeFileSync(join(tampered, 'model.json'), modelJson.replace('"normalize":false', '"normalize":true'));
  await assert.rejects(exportOnnx(tf, tampered), (error: unknown) => error instanceof ModelFileError && /layer dot/.test(error.message));
});

for (const useDotTerm of [false, true]) {
  test(`ncf${useDotTerm ? ' with the dot term (NeuMF)' : ''}: side features from the saved tables, else from the row`, async () => {
    const params: Partial<Params> = { family: 'ncf', useDotTerm, depth: 2, activation: 'relu', dropout: 0.2 };
    const { inputs, opset, difference } = await assertSameAsPredict(await refit(`ncf-${useDotTerm}`, params));
    assert.deepEqual(inputs, ['user', 'item', ...SIDE_INPUTS]);
    assert.equal(opset, 20);
    console.log(`ncf useDotTerm=${useDotTerm}: max abs difference ${difference}`);
  });
}

test('mlp on a ratings dataset: the side features alone, seen flags from the id maps', async () => {
  const { inputs, difference } = await assertSameAsPredict(await refit('mlp', { family: 'mlp', activation: 'tanh' }));
  assert.deepEqual(inputs, ['user', 'item', ...SIDE_INPUTS]);
  console.log(`ratings mlp: max abs difference ${difference}`);
});
