import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openStorage } from '../../server/storage/storage.js';
import { countRows, runCli, startCli, tempDir, writeFile } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait-for.js';

// 10 TPE trials × 2 folds (TPE from trial 4), long enough per task that a kill lands mid-search.
const SPEC = `
name: tpe-resume
dataset: { kind: fraud, rows: 1500, features: 6, positiveRate: 0.2 }
search: { strategy: tpe, trials: 10, startupTrials: 3 }
space:
  learningRate: { float: [1.0e-3, 1.0e-1], log: true }
  width: { int: [4, 32], log: true }
model: { epochs: 10, batchSize: 32 }
validation: { kind: kfold, k: 2 }
seed: 5
`;

/** The trials as recorded: number, configuration, state and scores, read without the coordinator. */
function trials(dataDir: string): string[] {
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const experiment = storage.experiments.getByName('tpe-resume');
    return storage.runs
      .list(experiment.experimentId)
      .map((r) => `${r.trialNumber} ${r.paramsJson} ${r.status} ${r.scoreMean} ${r.scoreStd} ${r.refitEpochs}`);
  } finally {
    storage.close();
  }
}

test('tpe: coordinator SIGKILLed mid-search, the same command continues the same trials: none lost, none sampled twice', async () => {
  const dir = tempDir();
  const specPath = writeFile(dir, 'spec.yaml', SPEC);
  const args = ['run', specPath, '--workers', '2', '--no-refit'];

  const reference = join(dir, 'reference');
  const clean = await runCli(args, reference);
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /Starting "tpe-resume": 10 tpe trials × 2 folds/);
  const expected = trials(reference);
  assert.equal(expected.length, 10);

  const crashed = join(dir, 'crashed');
  const first = startCli(args, crashed);
  await waitFor(() => countRows(crashed, `SELECT count(*) AS n FROM runs WHERE status = 'done'`) >= 4, 'four finished trials', 120_000, 10);
  first.child.kill('SIGKILL');
  await first.finished;
  const before = trials(crashed);
  assert.ok(before.length < 10, `killed mid-search (${before.length} trials recorded)`);

  const resumed = await runCli(args, crashed);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /Resuming "tpe-resume"/);
  assert.deepEqual(trials(crashed), expected, 'the same trials, configurations and scores as the uninterrupted search');
  assert.equal(countRows(crashed, `SELECT count(DISTINCT params_json) AS n FROM runs WHERE kind = 'search'`), 10);
});

test('search strategies, bad input: exit 2 with the field and what was expected; nothing written', async () => {
  const cases: [string, RegExp][] = [
    [`${SPEC}`.replace('[1.0e-3, 1.0e-1]', '[1.0e-1, 1.0e-3]'), /space\.learningRate\.float: expected low < high/],
    [`${SPEC}`.replace('strategy: tpe', 'strategy: bayes'), /search\.strategy: expected one of grid, random, tpe/],
    [`${SPEC}`.replace('trials: 10', 'trials: 10, timeBudget: soon'), /search\.timeBudget: expected a duration such as 90s, 20m or 1h30m/],
  ];
  for (const [spec, expected] of cases) {
    const dir = tempDir();
    const result = await runCli(['run', writeFile(dir, 'spec.yaml', spec), '--workers', '1'], join(dir, 'data'));
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, expected);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(join(dir, 'data', 'foldwise.db')), false, 'no database written');
  }
  const dir = tempDir();
  const result = await runCli(['run', writeFile(dir, 'spec.yaml', SPEC), '--add-trials', '5'], join(dir, 'data'));
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--add-trials: no experiment named "tpe-resume" yet/);
  assert.equal(existsSync(join(dir, 'data', 'foldwise.db')), false);
});
