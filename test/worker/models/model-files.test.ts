import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../../worker/backend.js';
import { readCsvRecords } from '../../../worker/data/csv.js';
import { loadDataset } from '../../../worker/data/load.js';
import { evaluate } from '../../../worker/training/metrics.js';
import { loadSavedModel, ModelFileError, predictFromCsv, predictRows } from '../../../worker/models/model-files.js';
import type { EpochMetrics, Task } from '../../../worker/contract/protocol.js';
import { createRng } from '../../../worker/rng.js';
import { DEFAULT_PARAMS, validateSpec, type Params } from '../../../worker/contract/spec.js';
import type { TaskKind } from '../../../worker/contract/vocabulary.js';
import { splitTest } from '../../../worker/data/splits.js';
import { runTask } from '../../../worker/training/run-task.js';

const scratch = mkdtempSync(join(tmpdir(), 'foldwise-model-files-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const { tf, backend } = await selectBackend('wasm');

/** Three classes by the sign pattern of two numbers, plus a categorical column. */
function writeMulticlassCsv(): string {
  const rng = createRng(8);
  const lines = ['x1,x2,shape,kind'];
  for (let i = 0; i < 300; i++) {
    const [x1, x2] = [rng.normal() * 2, rng.normal() * 2];
    const kind = x1 > 0 ? 'alpha' : x2 > 0 ? 'beta' : 'gamma';
    lines.push([x1.toFixed(3), x2.toFixed(3), rng.next() < 0.5 ? 'round' : 'square', kind].join(','));
  }
  const path = join(scratch, 'three.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function refitTask(dataset: Record<string, unknown>, task: TaskKind, modelDir: string, epochs: number, params: Partial<Params> = {}): Task {
  return {
    taskId: 'refit:0:1',
    runId: 7,
    foldIndex: 0,
    attempt: 1,
    kind: 'refit',
    spec: validateSpec({ name: 'refit-test', dataset }),
    taskKind: task,
    params: { ...DEFAULT_PARAMS, depth: 2, width: 16, dropout: 0.1, l2: 0.001, batchSize: 32, learningRate: 0.02, ...params },
    refit: { epochs, modelDir },
  };
}

test('refit: trains on all non-test rows, reports train metrics only, scores the test split and saves the model', async () => {
  const csv = writeMulticlassCsv();
  const modelDir = join(scratch, 'model-multiclass');
  const before = tf.memory().numTensors;
  const curve: EpochMetrics[] = [];
  const task = refitTask({ kind: 'csv', path: csv, target: 'kind' }, 'multiclass', modelDir, 12);
  const result = await runTask(task, { tf, backend }, (_, metrics) => void curve.push(metrics));
  assert.equal(tf.memory().numTensors, before);

  assert.equal(curve.length, 12);
  assert.deepEqual(Object.keys(curve[0]!), ['loss', 'accuracy']);
  assert.deepEqual([result.bestEpoch, result.stoppedEpoch, result.bestMetrics], [11, 11, {}]);
  assert.deepEqual(Object.keys(result.testMetrics ?? {}), ['test_loss', 'test_accuracy']);
  assert.ok(result.testMetrics!.test_accuracy! > 0.8, `test accuracy ${result.testMetrics!.test_accuracy}`);
  for (const file of ['model.json', 'weights.bin', 'preprocessing.json']) assert.ok(existsSync(join(modelDir, file)), file);
  const preprocessing = JSON.parse(readFileSync(join(modelDir, 'preprocessing.json'), 'utf8'));
  assert.deepEqual(preprocessing.classes, ['alpha', 'beta', 'gamma']);
  assert.equal(preprocessing.backend, backend);
  assert.equal(preprocessing.encoding.featureNames.length, 4);

  // Predicting the test rows from the saved files reproduces the refit's test score exactly.
  const { rows } = await readCsvRecords(csv);
  const table = await loadDataset(task.spec.dataset, task.spec.seed, 'multiclass');
  const { test: testRows } = splitTest(table.y, 'multiclass', task.spec.testSplit.fraction, task.spec.seed);
  const predicted = await predictFromCsv(
    tf,
    modelDir,
    Array.from(testRows, (row) => rows[row]!),
  );
  // No id column: the first column is the 1-based row number of the input.
  assert.deepEqual(predicted.header, ['row', 'prediction', 'probability_alpha', 'probability_beta', 'probability_gamma']);
  assert.deepEqual(
    predicted.rows.map((row) => row[0]),
    Array.from(testRows, (_, i) => i + 1),
  );
  const probabilities = Float32Array.from(predicted.rows.flatMap((row) => row.slice(2) as number[]));
  const yTest = Float32Array.from(testRows, (row) => table.y[row]!);
  const recomputed = evaluate('multiclass', yTest, probabilities, 3);
  assert.deepEqual(Object.fromEntries(Object.entries(recomputed).map(([name, value]) => [`test_${name}`, value])), result.testMetrics);
  assert.ok(
    predicted.rows.every(
      (row) =>
        row[1] ===
        ['alpha', 'beta', 'gamma'][[2, 3, 4].reduce((best, k) => ((row[k] as number) > (row[best] as number) ? k : best), 2) - 2],
    ),
  );
  assert.equal(tf.memory().numTensors, before);
});

test('refit: binary and regression models predict a label with probabilities, or a value', async () => {
  const fraudDir = join(scratch, 'model-fraud');
  await runTask(
    refitTask({ kind: 'fraud', rows: 300, features: 5, positiveRate: 0.2 }, 'binary', fraudDir, 2),
    { tf, backend },
    () => undefined,
  );
  const saved = await loadSavedModel(tf, fraudDir);
  const binary = await predictRows(tf, saved, [{ v1: '0', v2: '1', v3: '-1', v4: '0.5', v5: '2', extra: 'ignored' }]);
  saved.model.dispose();
  // The probability of the positive class ("1") and the label at the frozen threshold (0.5 without selection.threshold).
  assert.deepEqual(binary.header, ['row', 'prediction', 'probability_1']);
  assert.deepEqual(saved.preprocessing.threshold, { value: 0.5, objective: null, positiveClass: '1' });
  const [, label, p1] = binary.rows[0] as [number, string, number];
  assert.ok(p1 >= 0 && p1 <= 1);
  assert.equal(label, p1 > 0.5 ? '1' : '0');

  const sineDir = join(scratch, 'model-sine');
  const result = await runTask(
    refitTask({ kind: 'sine', rows: 300 }, 'regression', sineDir, 2, { activation: 'tanh', dropout: 0 }),
    { tf, backend },
    () => undefined,
  );
  assert.deepEqual(Object.keys(result.testMetrics ?? {}), ['test_loss', 'test_rmse', 'test_mae', 'test_r2']);
  const regression = await predictFromCsv(tf, sineDir, [{ x: '0' }, { x: '1.5' }]);
  assert.deepEqual(regression.header, ['row', 'prediction']);
  assert.equal(regression.rows.length, 2);
  assert.ok(regression.rows.every((row) => typeof row[1] === 'number' && Number.isFinite(row[1])));
});

test('loadSavedModel: a missing folder, a malformed preprocessing.json or a weight path outside the folder → ModelFileError', async () => {
  await assert.rejects(
    loadSavedModel(tf, join(scratch, 'nowhere')),
    (error: unknown) => error instanceof ModelFileError && /cannot read .*preprocessing\.json/.test(error.message),
  );

  const source = join(scratch, 'model-fraud');
  const broken = join(scratch, 'broken');
  const copy = (name: string, edit: (text: string) => string = (text) => text) =>
    writeFileSync(join(broken, name), edit(readFileSync(join(source, name), 'utf8')));
  mkdirSync(broken);
  writeFileSync(join(broken, 'weights.bin'), readFileSync(join(source, 'weights.bin')));
  copy('model.json');
  copy('preprocessing.json', (text) => text.replace('"std"', '"spread"'));
  await assert.rejects(
    loadSavedModel(tf, broken),
    (error: unknown) => error instanceof ModelFileError && /preprocessing\.json: standardizer/.test(error.message),
  );

  copy('preprocessing.json');
  copy('model.json', (text) => text.replace('"weights.bin"', '"../../etc/passwd"'));
  await assert.rejects(
    loadSavedModel(tf, broken),
    (error: unknown) => error instanceof ModelFileError && /must be a plain file name/.test(error.message),
  );
});
