import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runCli, tempDir, writeFile } from '../helpers/cli.js';

/** Customers with an id, blanks in a number and a category, and a 500-category zip code. */
function customers(n: number, withLabel: boolean, offset = 0): string {
  const lines = [withLabel ? 'customer_id,age,zip,plan,churned' : 'customer_id,age,zip,plan'];
  for (let i = offset; i < offset + n; i++) {
    const age = 20 + ((i * 37) % 50);
    const zip = `Z${String((i * 7919) % 500).padStart(3, '0')}`;
    const plan = ['basic', 'plus', 'pro'][i % 3]!;
    const churned = age < 40 !== (plan === 'pro') ? 'yes' : 'no';
    const cells = [`C-${10_000 + i}`, i % 9 === 4 ? '' : String(age), zip, i % 11 === 5 ? '' : plan];
    lines.push((withLabel ? [...cells, churned] : cells).join(','));
  }
  return `${lines.join('\n')}\n`;
}

test('a CSV with an id column, blanks and a 500-category column trains with `foldwise run` and predicts by id', async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  writeFile(dir, 'customers.csv', customers(1500, true));
  const spec = writeFile(
    dir,
    'spec.yaml',
    [
      'name: churn',
      'dataset:',
      '  kind: csv',
      '  path: customers.csv',
      '  target: churned',
      '  columns: { id: customer_id }',
      '  impute: { numeric: median, categorical: most_frequent, indicator: true }',
      'model: { epochs: 3, width: 16, depth: 1, batchSize: 64, learningRate: 0.01 }',
      'validation: { kind: kfold, k: 3 }',
      '',
    ].join('\n'),
  );
  const run = await runCli(['run', spec, '--workers', '2'], dataDir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /column "zip": 500 categories, more than maxCategories \(200\): each training part keeps its 199 most frequent/);
  const modelDir = /Model saved in (.+)/.exec(run.stdout)![1]!.trim();
  const { encoding } = JSON.parse(readFileSync(join(modelDir, 'preprocessing.json'), 'utf8'));
  assert.equal(encoding.id, 'customer_id');
  assert.deepEqual(
    encoding.columns.map((column: { name: string }) => column.name),
    ['age', 'zip', 'plan'],
  );
  const zip = encoding.columns[1];
  assert.equal(zip.categories.length, 199);
  assert.ok(zip.other.grouped > 0);
  assert.equal(encoding.columns[0].impute.strategy, 'median');
  assert.ok(encoding.featureNames.includes('age=(missing)') && encoding.featureNames.includes('zip=(other)'));

  // New customers: blanks, a zip never seen (→ other, no warning), a plan never seen (→ a warning with counts).
  const input = writeFile(dir, 'new.csv', `${customers(6, false, 5000).trimEnd()}\nC-1,,Z999,\nC-2,33,Z001,gold\nC-3,50,Z002,gold\n`);
  const out = join(dir, 'predictions.csv');
  const predict = await runCli(['predict', '--experiment', 'churn', '--input', input, '--output', out], dataDir);
  assert.equal(predict.code, 0, predict.stderr);
  assert.match(predict.stderr, /warning: .*new\.csv: column "plan": 2 rows with a category not seen in training \("gold"\)/);
  assert.equal(predict.stderr.match(/warning:/g)?.length, 1, 'one line per column');
  const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
  // Binary: the label at the frozen threshold and the probability of the positive class ("yes").
  assert.deepEqual(Object.keys(rows[0]!), ['customer_id', 'prediction', 'probability_yes']);
  assert.deepEqual(
    rows.slice(-3).map((row) => row.customer_id),
    ['C-1', 'C-2', 'C-3'],
  );
  assert.ok(rows.every((row) => ['yes', 'no'].includes(row.prediction!)));

  const strict = await runCli(['predict', '--experiment', 'churn', '--input', input, '--strict'], dataDir);
  assert.equal(strict.code, 2);
  assert.match(strict.stderr, /column "plan": 2 rows with a category not seen in training/);
  assert.doesNotMatch(strict.stderr, /\n\s+at /, 'no stack trace');

  // Without the id column in the input, the first column is the row number.
  const noId = writeFile(dir, 'no-id.csv', 'age,zip,plan\n30,Z001,basic\n,Z002,pro\n');
  const numbered = await runCli(['predict', '--experiment', 'churn', '--input', noId], dataDir);
  assert.equal(numbered.code, 0, numbered.stderr);
  const byRow = parse(numbered.stdout, { columns: true }) as Record<string, string>[];
  assert.deepEqual(
    byRow.map((row) => row.row),
    ['1', '2'],
  );
});
