import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

/** DESIGN.md's import rules, made checkable: every static and dynamic import specifier of every source file. */
const ROOT = resolve(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
  return found.map((spec) => (spec.startsWith('.') ? relative(ROOT, resolve(dirname(file), spec)).replace(/\.js$/, '.ts') : spec));
}

/** The contract: the only part of worker/ that server/ may import (DESIGN.md). */
const CONTRACT_FOLDER = 'worker/contract/';
const isContract = (spec: string) => spec.startsWith(CONTRACT_FOLDER);
// `foldwise predict` runs TensorFlow.js in the CLI process on purpose (see server/cli/predict.ts).
const DOCUMENTED_EXCEPTIONS = new Set([
  'server/cli/predict.ts → worker/backend.ts',
  'server/cli/predict.ts → worker/models/model-files.ts',
  'server/cli/predict.ts → worker/failures.ts',
  // `foldwise export` and the dashboard's model.onnx read the saved weights with TensorFlow.js,
  // loaded lazily (server/results/onnx-file.ts).
  'server/results/onnx-file.ts → worker/backend.ts',
  'server/results/onnx-file.ts → worker/models/onnx/export.ts',
  'server/results/onnx-file.ts → worker/failures.ts',
  // The run page's curves and slider cut the stored predictions with the worker's own definitions (pure, no
  // TensorFlow.js), so that they count exactly as the frozen threshold was chosen and scored (server/results/run-diagnostics.ts).
  'server/results/run-diagnostics.ts → worker/training/metrics.ts',
  'server/results/run-diagnostics.ts → worker/training/threshold.ts',
]);

test('architecture: worker/ imports nothing from server/', () => {
  const offending = sources(join(ROOT, 'worker')).flatMap((file) =>
    importsOf(file)
      .filter((spec) => spec.startsWith('server/'))
      .map((spec) => `${relative(ROOT, file)} → ${spec}`),
  );
  assert.deepEqual(offending, []);
});

test('architecture: server/ imports only the contract files of the worker', () => {
  const offending = sources(join(ROOT, 'server')).flatMap((file) =>
    importsOf(file)
      .filter((spec) => spec.startsWith('worker/') && !isContract(spec))
      .map((spec) => `${relative(ROOT, file)} → ${spec}`)
      .filter((edge) => !DOCUMENTED_EXCEPTIONS.has(edge)),
  );
  assert.deepEqual(offending, []);
});

test('architecture: SQL stays in server/storage (the only importer of better-sqlite3); HTTP code never touches storage', () => {
  const all = [...sources(join(ROOT, 'server')), ...sources(join(ROOT, 'worker'))];
  const sqlite = all.filter((file) => importsOf(file).includes('better-sqlite3')).map((file) => relative(ROOT, file));
  assert.ok(
    sqlite.every((file) => file.startsWith('server/storage/')),
    sqlite.join(', '),
  );
  const httpToStorage = sources(join(ROOT, 'server/http')).filter((file) =>
    importsOf(file).some((spec) => spec.startsWith('server/storage/') && !spec.endsWith('-store.ts')),
  );
  assert.deepEqual(
    httpToStorage.map((file) => relative(ROOT, file)),
    [],
    'http may use store types, never open the database',
  );
});

test('architecture: the contract files import only the schema libraries and each other', () => {
  for (const file of sources(join(ROOT, CONTRACT_FOLDER))) {
    const external = importsOf(file).filter((spec) => !isContract(spec) && !['zod', 'yaml'].includes(spec) && !spec.startsWith('node:'));
    assert.deepEqual(external, [], relative(ROOT, file));
  }
});

/**
 * The formatter wraps code at 140 characters but not strings or comments; this keeps those within it too. A template line
 * continues on the next with `{{~!}}` (or `{{~` on its first mustache), which drops the line break from the output.
 */
const MAX_LINE = 140;
const LINE_CHECKED = ['.ts', '.js', '.hbs', '.css'];
const LINE_CHECKED_FOLDERS = ['server', 'worker', 'web', 'test', 'bench', 'scripts', 'bin'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || relative(ROOT, path) === join('bench', 'out')) return [];
    if (statSync(path).isDirectory()) return filesUnder(path);
    return LINE_CHECKED.some((ext) => name.endsWith(ext)) ? [path] : [];
  });
}

test('no source line over 140 characters', () => {
  const long = LINE_CHECKED_FOLDERS.flatMap((folder) => filesUnder(join(ROOT, folder))).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => {
        const length = [...line].length; // characters, as the formatter counts them (not UTF-8 bytes)
        return length > MAX_LINE ? [`${relative(ROOT, file)}:${i + 1} (${length})`] : [];
      }),
  );
  assert.deepEqual(long, []);
});
