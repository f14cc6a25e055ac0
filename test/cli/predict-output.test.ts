import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, writeFile } from '../helpers/cli.js';

const SPEC = `
name: sines
dataset: { kind: sine, rows: 300 }
model: { width: 8, epochs: 3 }
validation: { kind: holdout, fraction: 0.25 }
`;

test('predict never writes over its input (under any name), an existing output only with --force; a missing folder is made', async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const run = await runCli(['run', writeFile(dir, 'spec.yaml', SPEC)], dataDir);
  assert.equal(run.code, 0, run.stderr);
  const input = writeFile(dir, 'rows.csv', 'x\n0.5\n-1\n');
  const predict = (...extra: string[]) => runCli(['predict', '--experiment', 'sines', '--input', input, ...extra], dataDir);
  const refused = async (extra: string[], pattern: RegExp) => {
    const result = await predict(...extra);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, pattern);
    assert.equal(readFileSync(input, 'utf8'), 'x\n0.5\n-1\n', 'the input is untouched');
  };

  await refused(['--output', input], /--output: .*rows\.csv is the input file/);
  await refused(['--output', join(dir, '.', 'sub', '..', 'rows.csv'), '--force'], /is the input file/);
  const link = join(dir, 'same.csv');
  linkSync(input, link);
  await refused(['--output', link, '--force'], /same\.csv is the input file/);
  await refused(['--output', dir], /is a folder; expected a file name/);

  const out = join(dir, 'new', 'folder', 'predictions.csv');
  const first = await predict('--output', out);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /Wrote 2 predictions to/);
  assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n')[0], 'row,prediction');
  writeFile(join(dir, 'new', 'folder'), 'predictions.csv', 'keep me\n');
  await refused(['--output', out], /predictions\.csv exists; pass --force to overwrite it/);
  assert.equal(readFileSync(out, 'utf8'), 'keep me\n');
  const forced = await predict('--output', out, '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(readFileSync(out, 'utf8'), /^row,prediction\n1,/);
  assert.deepEqual(readdirSync(join(dir, 'new', 'folder')), ['predictions.csv'], 'no staging file left');
  assert.ok(!existsSync(join(dir, 'sub')), 'no folder made for a refused output');
});
