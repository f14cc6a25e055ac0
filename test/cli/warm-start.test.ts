import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, tempDir, writeFile } from '../helpers/cli.js';

const spec = (name: string, width: string, extra = '') => `
name: ${name}
dataset: { kind: fraud, rows: 400, features: 4 }
search: { strategy: tpe, trials: 4, startupTrials: 2 }
space:
  learningRate: { float: [1.0e-3, 1.0e-1], log: true }
  width: ${width}
model: { epochs: 3 }
validation: { kind: holdout, fraction: 0.25 }
seed: 3
${extra}`;

function tables(dataDir: string): string {
  const db = new Database(join(dataDir, 'foldwise.db'), { readonly: true });
  try {
    return JSON.stringify(['experiments', 'runs', 'folds'].map((table) => db.prepare(`SELECT * FROM ${table} ORDER BY 1`).all()));
  } finally {
    db.close();
  }
}

test('run --from: a new tpe experiment starts from the finished trials of another; run and show say so; a mismatch exits 2', async () => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  const source = await runCli(['run', writeFile(dir, 'source.yaml', spec('source', '{ int: [4, 32] }')), '--no-refit'], dataDir);
  assert.equal(source.code, 0, source.stderr);
  const db = new Database(join(dataDir, 'foldwise.db'), { readonly: true });
  const narrow = (db.prepare(`SELECT count(*) AS n FROM runs WHERE json_extract(params_json, '$.width') < 8`).get() as { n: number }).n;
  db.close();

  const warmSpec = writeFile(dir, 'warm.yaml', spec('warm', '{ int: [8, 32] }'));
  const warm = await runCli(['run', warmSpec, '--from', 'source', '--no-refit'], dataDir);
  assert.equal(warm.code, 0, warm.stderr);
  const kept = 4 - narrow;
  const leftOut = narrow ? ` (${narrow} outside this space left out)` : '';
  const line = `warm-started from "source": ${kept} trial${kept === 1 ? '' : 's'}${leftOut}`;
  assert.ok(warm.stdout.includes(`\n  ${line}\n`), warm.stdout);
  const show = await runCli(['show', 'warm'], dataDir);
  assert.equal(show.code, 0, show.stderr);
  assert.ok(show.stdout.includes(`\n  ${line}\n`), show.stdout);

  // Other folds: the source's trials were scored otherwise. Exit 2, nothing written.
  const before = tables(dataDir);
  const other = writeFile(dir, 'other.yaml', spec('other', '{ int: [8, 32] }').replace('fraction: 0.25', 'fraction: 0.3'));
  const refused = await runCli(['run', other, '--from', 'source'], dataDir);
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(
    refused.stderr,
    'foldwise: --from: "source" scored its trials otherwise: validation.fraction 0.25 there, 0.3 here ' +
      '(warm-starting needs the same data, task, validation, selection metric and searched hyperparameters)\n',
  );
  const random = await runCli(
    [
      'run',
      writeFile(dir, 'random.yaml', spec('random', '{ int: [8, 32] }').replace(/tpe, trials: 4, startupTrials: 2/, 'random, trials: 4')),
      '--from',
      'source',
    ],
    dataDir,
  );
  assert.equal(random.code, 2);
  assert.match(random.stderr, /^foldwise: --from: strategy random ignores earlier trials/);
  assert.equal(tables(dataDir), before, 'nothing written');
});
