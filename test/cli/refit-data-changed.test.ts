import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, tempDir, writeFile } from '../helpers/cli.js';
import { writeEasyCsv } from '../helpers/run-task.js';
import { sha256Hex } from '../../worker/contract/dataset-digest.js';

/** Every row of the tables a refit writes, as one string. */
function rowsOf(dataDir: string): string {
  const db = new Database(join(dataDir, 'foldwise.db'), { readonly: true });
  try {
    return JSON.stringify(
      ['runs', 'folds', 'metric_points', 'models'].map((table) => db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2`).all()),
    );
  } finally {
    db.close();
  }
}

test('foldwise refit after the CSV changed since the search: exit 2 naming the file and both digests, nothing written', async () => {
  const dir = tempDir();
  const csv = writeEasyCsv(dir);
  const spec = writeFile(
    dir,
    'edited.yaml',
    `name: edited
dataset: { kind: csv, path: easy.csv, target: label }
model: { depth: 1, learningRate: 0.01, batchSize: 32 }
grid: { width: [4, 8], epochs: 3 }
validation: { kind: holdout, fraction: 0.25 }
`,
  );
  const dataDir = join(dir, 'data');
  const searched = await runCli(['run', spec, '--workers', '1', '--no-refit'], dataDir);
  assert.equal(searched.code, 0, searched.stderr);

  const original = readFileSync(csv);
  writeFileSync(csv, `${original.toString()}0.1,0.2,0.3,0.4,1\n`);
  const before = rowsOf(dataDir);
  const refused = await runCli(['refit', 'edited'], dataDir);
  assert.equal(refused.code, 2, refused.stderr);
  const then = sha256Hex(original).slice(0, 12);
  const now = sha256Hex(readFileSync(csv)).slice(0, 12);
  assert.equal(
    refused.stderr,
    `foldwise: the data file ${csv} changed since the search (sha256 ${then}… then, ${now}… now): ` +
      'run the search again (as a new experiment, or after deleting this one), or put the original data back\n',
  );
  assert.equal(rowsOf(dataDir), before, 'no refit run, fold, curve point or model recorded');

  // The search's bytes back: the refit runs.
  writeFileSync(csv, original);
  const refit = await runCli(['refit', 'edited'], dataDir);
  assert.equal(refit.code, 0, refit.stderr);
  assert.match(refit.stdout, /^Model saved in /m);
});
