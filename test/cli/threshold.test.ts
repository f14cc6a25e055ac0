import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { openStorage } from '../../server/storage/storage.js';
import { validateSpec } from '../../worker/contract/spec.js';
import { splitTest } from '../../worker/data/splits.js';
import { loadDataset } from '../../worker/data/load.js';
import { confusionAt } from '../../worker/training/metrics.js';
import { chooseThreshold } from '../../worker/training/threshold.js';
import { runCli, tempDir, writeFile } from '../helpers/cli.js';

const FRAUD = { kind: 'fraud', rows: 1500, features: 6, positiveRate: 0.1 } as const;

test('fraud, threshold f1: chosen on out-of-fold predictions, frozen, the test split scored at it, predict writes it', async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const spec = writeFile(
    dir,
    'fraud.yaml',
    'name: fraud-threshold\n' +
      `dataset: { kind: fraud, rows: ${FRAUD.rows}, features: ${FRAUD.features}, positiveRate: ${FRAUD.positiveRate} }\n` +
      'model: { depth: 1, width: 16, epochs: 6, batchSize: 64, learningRate: 0.01 }\n' +
      'grid: { classWeight: [none, balanced] }\n' +
      'validation: { kind: kfold, k: 3 }\n' +
      'selection: { threshold: { objective: f1 } }\n',
  );
  const run = await runCli(['run', spec, '--workers', '2'], dataDir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /positive class "1" \(a usual positive label: 1, true or yes\); positiveClass in the spec chooses the other/);
  assert.match(
    run.stdout,
    new RegExp(
      'Operating threshold (0\\.\\d{4}) for "1": the best F1 on the pooled out-of-fold predictions ' +
        '\\(0\\.\\d{4}; cross-validation F1 0\\.\\d{4} ± 0\\.\\d{4} over folds\\)',
    ),
  );
  for (const name of ['precision', 'recall', 'f1', 'mcc', 'brier'])
    assert.match(
      run.stdout,
      new RegExp(`\\n${name}\\s+\\d\\.\\d{4} ± \\d\\.\\d{4}\\s+\\d\\.\\d{4}`),
      `${name}: CV estimate beside the test score`,
    );
  assert.match(run.stdout, /actual positive\s+\d+\s+\d+\nactual negative\s+\d+\s+\d+/);
  const modelDir = /Model saved in (.+)/.exec(run.stdout)![1]!.trim();

  // What was recorded: the threshold is the one the pooled out-of-fold predictions of the refitted run give, and frozen as such.
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  const experiment = storage.experiments.findByName('fraud-threshold')!;
  assert.equal(experiment.positiveClass, '1');
  const [model] = storage.models.ofExperiment(experiment.experimentId);
  const decision = model!.decision!;
  const folds = storage.outOfFold.ofRun(model!.sourceRunId!);
  assert.equal(folds.length, 3);
  const pooled = (key: 'targets' | 'predictions') => Float32Array.from(folds.flatMap((fold) => [...fold[key]]));
  const choice = chooseThreshold(pooled('targets'), pooled('predictions'), { objective: 'f1' });
  assert.equal(decision.threshold, choice.threshold);
  assert.equal(decision.pooled, choice.value);
  assert.equal(decision.folds.f1!.length, 3);
  storage.close();
  const preprocessing = JSON.parse(readFileSync(join(modelDir, 'preprocessing.json'), 'utf8'));
  assert.deepEqual(preprocessing.threshold, { value: decision.threshold, objective: { objective: 'f1' }, positiveClass: '1' });

  // predict on the test split's rows: the probability of "1" and the label at the threshold; its confusion is the one recorded.
  const table = await loadDataset(validateSpec({ name: 'x', dataset: FRAUD }).dataset, 42);
  const { test: testRows } = splitTest(table.y, 'binary', 0.2, 42);
  const header = table.encoding.featureNames;
  const lines = [header.join(','), ...Array.from(testRows, (row) => header.map((_, f) => table.x[row * header.length + f]).join(','))];
  const input = writeFile(dir, 'test-rows.csv', `${lines.join('\n')}\n`);
  const out = join(dir, 'predictions.csv');
  const predict = await runCli(['predict', '--experiment', 'fraud-threshold', '--input', input, '--output', out], dataDir);
  assert.equal(predict.code, 0, predict.stderr);
  const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(rows[0]!), ['row', 'prediction', 'probability_1']);
  const p = rows.map((row) => Number(row.probability_1));
  rows.forEach((row, i) => {
    assert.equal(row.prediction, p[i]! > decision.threshold ? '1' : '0');
  });
  const y = Float32Array.from(testRows, (row) => table.y[row]!);
  // The CSV carries the float32 features exactly, so predict reproduces the refit's test predictions and its confusion matrix.
  assert.deepEqual(confusionAt(y, p, decision.threshold), decision.confusion);
});

/** Runs `foldwise run` on a spec and returns its result and whether a database was left behind. */
async function refused(spec: string, csv?: string) {
  const dir = tempDir();
  if (csv !== undefined) writeFile(dir, 'data.csv', csv);
  const result = await runCli(['run', writeFile(dir, 'spec.yaml', spec), '--workers', '1'], join(dir, 'data'));
  return { ...result, written: existsSync(join(dir, 'data', 'foldwise.db')) };
}

const yesNo = `a,b,label\n${Array.from({ length: 40 }, (_, i) => `${i},${(i * 7) % 5},${i % 3 === 0 ? 'yes' : 'no'}`).join('\n')}\n`;
const csvSpec = (extra: string) => `name: bad\ndataset: { kind: csv, path: data.csv, target: label }\ngrid: { epochs: 1 }\n${extra}`;

const cases: [string, string, string | undefined, RegExp][] = [
  [
    'a positiveClass that is not a label',
    csvSpec('positiveClass: maybe\n'),
    yesNo,
    /positiveClass: "maybe" is not a label of the target column "label" \(its labels: "no", "yes"\)/,
  ],
  [
    'a threshold on a multiclass task (inferred)',
    'name: bad\ndataset: { kind: iris }\nselection: { threshold: { objective: f1 } }\n',
    undefined,
    /selection\.threshold: an operating threshold applies to binary tasks, not to a multiclass task/,
  ],
  [
    'a threshold on a regression task (named)',
    'name: bad\ndataset: { kind: sine }\ntask: regression\nselection: { threshold: { objective: mcc } }\n',
    undefined,
    /selection\.threshold: an operating threshold applies to binary tasks, not to a regression task/,
  ],
  [
    'a value outside (0, 1)',
    csvSpec('selection: { threshold: { objective: recall_at_precision, value: 1.5 } }\n'),
    yesNo,
    /selection\.threshold\.value/,
  ],
  [
    'a negative cost',
    csvSpec('selection: { threshold: { objective: cost, falsePositive: -1, falseNegative: 5 } }\n'),
    yesNo,
    /selection\.threshold\.falsePositive/,
  ],
  [
    'two zero costs',
    csvSpec('selection: { threshold: { objective: cost, falsePositive: 0, falseNegative: 0 } }\n'),
    yesNo,
    /selection\.threshold: .*at least one cost must be positive/,
  ],
  ['an unknown objective', csvSpec('selection: { threshold: { objective: accuracy } }\n'), yesNo, /selection\.threshold\.objective/],
  [
    'class weights on a regression',
    'name: bad\ndataset: { kind: sine }\nmodel: { classWeight: balanced }\n',
    undefined,
    /model\.classWeight: class weights apply to classification/,
  ],
  [
    'a class weight for a label the data lacks',
    csvSpec('model: { classWeight: { fraud: 10 } }\n'),
    yesNo,
    /classWeight: "fraud" is not a class label of the data \(its labels: "no", "yes"\)/,
  ],
  [
    'a positiveClass on a multiclass task',
    'name: bad\ndataset: { kind: iris }\npositiveClass: setosa\n',
    undefined,
    /positiveClass: a positive class applies to binary tasks/,
  ],
];

for (const [what, spec, csv, message] of cases) {
  test(`bad input: ${what} → exit 2, the field named, nothing written`, async () => {
    const result = await refused(spec, csv);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(result.written, false, 'no database left behind');
  });
}
