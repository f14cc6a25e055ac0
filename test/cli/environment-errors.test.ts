import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type CliResult, runCli, tempDir, writeFile } from '../helpers/cli.js';

const TINY = `
name: tiny
dataset: { kind: sine, rows: 200 }
grid: { width: [8, 16], epochs: 3 }
validation: { kind: holdout, fraction: 0.25 }
`;

/**
 * The command ends with one line "foldwise: …" matching `pattern` (after any progress lines),
 * no stack trace, and the exit code.
 */
function assertOneLine(result: CliResult, exitCode: number, pattern: RegExp): void {
  assert.equal(result.code, exitCode, result.stderr);
  const last = result.stderr.trim().split('\n').at(-1)!;
  assert.match(last, /^foldwise: /, result.stderr);
  assert.match(last, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at |node:internal/, 'no stack trace');
}

/** A tmpfs of `size` at a new folder, or null where this machine does not allow mounting. */
function mountTmpfs(size: string): string | null {
  const dir = join(tempDir('foldwise-tmpfs-'), 'mnt');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return null;
  }
  process.on('exit', () => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  });
  return dir;
}

test('bad usage and flag values exit 2: --workers 0 / abc, an unknown flag, a port out of range, a folder as the spec', async () => {
  const dir = tempDir();
  const spec = writeFile(dir, 'tiny.yaml', TINY);
  const data = join(dir, 'data');
  for (const args of [
    ['run', spec, '--workers', '0'],
    ['run', spec, '--workers', 'abc'],
    ['list', '--bogus'],
    ['serve', '--port', '70000'],
  ]) {
    const result = await runCli(args, data);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /^error: /, 'commander names the option');
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
  assertOneLine(await runCli(['run', dir], data), 2, /spec: .* is a folder; expected a YAML or JSON spec file/);
  assertOneLine(
    await runCli(['serve'], data, { FOLDWISE_PORT: 'eighty' }),
    2,
    /FOLDWISE_PORT: expected a port from 0 to 65535, got "eighty"/,
  );
  assert.equal(existsSync(data), false, 'nothing written');
});

test('a YAML file built to exhaust the parser is a spec error (exit 2); a first run with bad data leaves no database', async () => {
  const dir = tempDir();
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  lines.push('name: bomb', 'dataset: { kind: sine }', 'description: *a11');
  const data = join(dir, 'data');
  const bomb = await runCli(['run', writeFile(dir, 'bomb.yaml', lines.join('\n'))], data);
  assert.equal(bomb.code, 2, bomb.stderr);
  assert.match(bomb.stderr, /^foldwise: invalid spec:\n\(spec\): unreadable YAML: Excessive alias count/);
  assert.doesNotMatch(bomb.stderr, /\n\s+at /);
  const badData = writeFile(dir, 'bad.yaml', 'name: bad\ndataset: { kind: csv, path: missing.csv, target: y }\n');
  assertOneLine(await runCli(['run', badData], data), 2, /file not found: .*missing\.csv/);
  assert.equal(existsSync(data), false, 'no data directory, no empty database');
});

test('a corrupted database: exit 3 naming the file, and the file is left as it was', async () => {
  const dir = tempDir();
  const data = join(dir, 'data');
  mkdirSync(data);
  const junk = Buffer.from('this is no SQLite database, '.repeat(200));
  writeFileSync(join(data, 'foldwise.db'), junk);
  for (const args of [['list'], ['run', writeFile(dir, 'tiny.yaml', TINY)]])
    assertOneLine(await runCli(args, data), 3, /foldwise\.db is not a foldwise database \(corrupted, or another kind of file\)/);
  assert.deepEqual(readFileSync(join(data, 'foldwise.db')), junk, 'never overwritten');
});

test('a port in use: exit 3 with one line', async () => {
  const dir = tempDir();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    assertOneLine(await runCli(['serve', '--port', String(port)], join(dir, 'data')), 3, new RegExp(`127\\.0\\.0\\.1:${port} is in use`));
  } finally {
    server.close();
  }
});

test('internal errors print one line without the stack; FOLDWISE_DEBUG=1 prints the stack too', async () => {
  const dir = tempDir();
  const spec = writeFile(dir, 'tiny.yaml', TINY);
  // An internal failure of the dataset description (worker/fault-injection.ts).
  const plain = await runCli(['run', spec], join(dir, 'a'), { FOLDWISE_INJECT_FAULT: 'throw:describe' });
  assertOneLine(plain, 1, /injected fault in describe/);
  const debug = await runCli(['run', spec], join(dir, 'b'), { FOLDWISE_INJECT_FAULT: 'throw:describe', FOLDWISE_DEBUG: '1' });
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /\n\s+at /, 'the stack on request');
});

test('a read-only data directory: list and show still work; run exits 3 with one line', async (t) => {
  const data = mountTmpfs('8m');
  if (data === null) return t.skip('this machine does not allow mounting a tmpfs');
  const dir = tempDir();
  const spec = writeFile(dir, 'tiny.yaml', TINY);
  assert.equal((await runCli(['run', spec, '--workers', '1'], data)).code, 0);
  execFileSync('mount', ['-o', 'remount,ro', data]);
  const list = await runCli(['list'], data);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^tiny\s.*\bdone\b/m);
  const show = await runCli(['show', 'tiny', '--format', 'csv'], data);
  assert.equal(show.code, 0, show.stderr);
  assert.equal(show.stdout.trim().split('\n').length, 3, 'header and two runs');
  assertOneLine(await runCli(['run', spec], data), 3, /read-only|cannot open/);
});

test('disk full mid-search: exit 3 with one line, the experiment left resumable, and it resumes once there is room', async (t) => {
  const data = mountTmpfs('600k');
  if (data === null) return t.skip('this machine does not allow mounting a tmpfs');
  const dir = tempDir();
  // Enough curve points to outgrow 600 kB: 24 runs × 3 folds × 40 epochs × ~6 metrics.
  const spec = writeFile(
    dir,
    'big.yaml',
    `name: big
dataset: { kind: fraud, rows: 600, features: 5 }
grid: { width: [4, 5, 6, 7, 8, 9], depth: [1, 2], learningRate: [0.01, 0.02], epochs: 40 }
validation: { kind: kfold, k: 3 }
`,
  );
  const full = await runCli(['run', spec, '--workers', '1', '--no-refit'], data);
  assertOneLine(full, 3, /disk full/);
  execFileSync('mount', ['-o', 'remount,size=64m', data]);
  const list = await runCli(['list'], data);
  assert.match(list.stdout, /^big\s.*\binterrupted\b/m, 'resumable, not running');
  const resumed = await runCli(['run', spec, '--workers', '1', '--no-refit'], data);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /Resuming "big"/);
});
