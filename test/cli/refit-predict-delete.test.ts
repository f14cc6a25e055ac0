import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runCli, tempDir, writeFile } from '../helpers/cli.js';

function csvRows(n: number, withLabel: boolean): string {
  const lines = [withLabel ? 'size,colour,weight,label' : 'size,colour,weight'];
  for (let i = 0; i < n; i++) {
    const size = ((i * 37) % 100) / 10;
    const colour = ['red', 'green', 'blue'][i % 3]!;
    const weight = ((i * 11) % 50) / 5;
    const label = size + (colour === 'red' ? 3 : 0) > 6 ? 'big' : 'small';
    lines.push(withLabel ? `${size},${colour},${weight},${label}` : `${size},${colour},${weight}`);
  }
  return `${lines.join('\n')}\n`;
}

test('run → show → predict → delete on a user CSV with string labels and a categorical column', async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  writeFile(dir, 'train.csv', csvRows(240, true));
  const input = writeFile(dir, 'new.csv', csvRows(25, false));
  const spec = writeFile(
    dir,
    'spec.yaml',
    `name: shapes\ndataset: { kind: csv, path: train.csv, target: label }\nmodel: { learningRate: 0.02, ` +
      `batchSize: 16, epochs: 8, width: 16, depth: 1 }\nvalidation: { kind: kfold, k: 3, earlyStopping: { monitor: ` +
      `val_loss, patience: 3 } }\n`,
  );

  const run = await runCli(['run', spec, '--workers', '2'], dataDir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Model used: model \d+: refit run #\d+ of run #\d+, the selected configuration \(rule best\)/);
  assert.match(run.stdout, /auc\s+\d\.\d{4} ± \d\.\d{4}\s+\d\.\d{4}/, 'CV estimate next to the test score');
  const modelDir = /Model saved in (.+)/.exec(run.stdout)![1]!.trim();
  assert.ok(existsSync(join(modelDir, 'model.json')));

  const show = await runCli(['show', 'shapes'], dataDir);
  assert.equal(show.code, 0);
  assert.match(show.stdout, /auc mean ± std/);
  const list = await runCli(['list'], dataDir);
  assert.match(list.stdout, /shapes\s+csv\s+binary\s+done\s+1\/1/);

  const out = join(dir, 'predictions.csv');
  const predict = await runCli(['predict', '--experiment', 'shapes', '--input', input, '--output', out], dataDir);
  assert.equal(predict.code, 0, predict.stderr);
  const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 25);
  for (const row of rows) {
    assert.ok(['big', 'small'].includes(row.prediction!), row.prediction);
    // The probability of the positive class and the label at the threshold (0.5: the spec sets none).
    const [column] = Object.keys(row).filter((name) => name.startsWith('probability_'));
    const p = Number(row[column!]);
    assert.ok(p >= 0 && p <= 1, `a probability, got ${p}`);
    assert.equal(
      row.prediction,
      p > 0.5 ? column!.slice('probability_'.length) : ['big', 'small'].find((l) => `probability_${l}` !== column),
    );
  }

  const badInput = writeFile(dir, 'bad.csv', 'size,colour,weight\n1,red,oops\n');
  const bad = await runCli(['predict', '--experiment', 'shapes', '--input', badInput], dataDir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /row 2.*column "weight"|column "weight".*row 2/);

  const refused = await runCli(['delete', 'shapes'], dataDir);
  assert.equal(refused.code, 2, 'no confirmation without a terminal');
  assert.match(refused.stderr, /--yes/);
  assert.ok(existsSync(modelDir));

  const deleted = await runCli(['delete', 'shapes', '--yes'], dataDir);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.ok(!existsSync(modelDir), 'model files removed');
  const after = await runCli(['list'], dataDir);
  assert.match(after.stdout, /No experiments yet/);
});
