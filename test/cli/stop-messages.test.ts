import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startCli, tempDir, writeFile } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

const BIN = new URL('../../bin/foldwise.js', import.meta.url).pathname;
const SPEC = `
name: stopped
dataset: { kind: fraud, rows: 3000, features: 6, positiveRate: 0.1 }
model: { learningRate: 0.01, batchSize: 64, epochs: 200 }
grid: { width: [8, 16, 24, 32] }
validation: { kind: kfold, k: 3 }
`;

/** util-linux `script` gives the command a terminal, so the progress bar draws as it does for a person. */
const hasScript = spawnSync('script', ['--version']).status === 0;

test('Ctrl-C on a terminal: the bar stops first, then the line prints whole; nothing redraws over it', { skip: !hasScript }, async () => {
  const dir = tempDir();
  const spec = writeFile(dir, 'stopped.yaml', SPEC);
  const command = [process.execPath, BIN, '--data-dir', join(dir, 'data'), 'run', spec, '--workers', '1'].join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waitFor(() => /search \|.*\| [1-9]\d*\/12 tasks/.test(out) || undefined, 'a task done on the bar', 60_000);
  child.stdin.write('\x03'); // Ctrl-C, through the terminal
  assert.equal(await code, 130, out);
  const message = /\r\nSIGINT: stopping(; 1 running task will be marked interrupted)? \(again to force\)\.\r\n/.exec(out);
  assert.ok(message, `the line on a line of its own: ${JSON.stringify(out.slice(-600))}`);
  const after = out.slice(message.index + message[0].length);
  assert.ok(after.startsWith('Search interrupted in '), JSON.stringify(after.slice(0, 80)));
  // The bar's redraws (cursor to column 1, cursor restore) and frames all come before the line.
  for (const redraw of ['search |', '\x1b[1G', '\x1b8']) assert.ok(!after.includes(redraw), `no ${JSON.stringify(redraw)} after the line`);
});

test('Ctrl-C in an idle serve says it closes the dashboard, not that it stops running tasks', async () => {
  const dir = tempDir();
  const serve = startCli(['serve', '--workers', '1'], join(dir, 'data'), { FOLDWISE_PORT: '0', FOLDWISE_EXPERIMENTS_DIR: dir });
  await waitFor(() => /Dashboard: http/.test(serve.output()) || undefined, 'the dashboard URL', 30_000);
  serve.child.kill('SIGINT');
  const result = await serve.finished;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, 'SIGINT: closing the dashboard (again to force).\n');
});

test('Ctrl-C of a run without a terminal: one line naming the running tasks, exit 130', async () => {
  const dir = tempDir();
  const run = startCli(['run', writeFile(dir, 'stopped.yaml', SPEC), '--workers', '1'], join(dir, 'data'));
  await waitFor(() => /search \d+\/12 tasks/.test(run.output()) || undefined, 'the first progress line', 60_000);
  run.child.kill('SIGINT');
  const result = await run.finished;
  assert.equal(result.code, 130);
  assert.match(result.stderr, /^SIGINT: stopping(; 1 running task will be marked interrupted)? \(again to force\)\.$/m);
  assert.ok(!result.stderr.includes('\n\n'), 'no blank line before it');
});
