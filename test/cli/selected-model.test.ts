import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selectBackend } from '../../worker/backend.js';
import { runTask } from '../../worker/training/run-task.js';
import { onnxExportPlan } from '../../server/cli/export.js';
import { rankRuns } from '../../server/selection/ranking.js';
import { openStorage } from '../../server/storage/storage.js';
import type { Run } from '../../server/storage/run-store.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { taskMaker, writeEasyCsv } from '../helpers/run-task.js';
import { seedExperiment } from '../helpers/seed-db.js';

const dir = tempDir('foldwise-selected-');
const dataDir = join(dir, 'data');
let best: Run;
let runnerUp: Run;
let selectedModelId: number;
let runnerUpModelId: number;
let rowsCsv: string;
let runnerUpDir: string;

// A seeded experiment ("chosen", after another one, so its run ids are not its numbers) with a real refit model of its best
// run, and a newer refit of its runner-up: `predict`, `show` and `export` must still use the selected configuration's.
before(async () => {
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  let bestModelDir: string;
  try {
    seedExperiment(storage, { name: 'other', runs: 3, folds: 3, epochs: 4 });
    const seeded = seedExperiment(storage, { name: 'chosen', runs: 4, folds: 3, epochs: 5, modelDataDir: dataDir });
    const experiment = storage.experiments.get(seeded.experimentId);
    [best, runnerUp] = rankRuns(experiment, storage.runs.list(seeded.experimentId)) as [Run, Run];
    const bestModel = storage.models.ofExperiment(seeded.experimentId)[0]!;
    selectedModelId = bestModel.modelId;
    bestModelDir = bestModel.path;
    const refit = storage.runs.createRefitRun(seeded.experimentId, runnerUp.paramsJson, runnerUp.runId);
    storage.runs.startFold(refit.runId, 0, 1);
    runnerUpDir = join(dataDir, 'models', 'chosen', `run-${refit.number}`);
    const result = {
      bestEpoch: 2,
      stoppedEpoch: 2,
      score: 0.8,
      bestMetrics: {},
      paramCount: 10,
      trainMs: 5,
      backend: 'cpu',
      workerName: 'w',
    };
    const model = { runId: refit.runId, experimentId: seeded.experimentId, sourceRunId: runnerUp.runId, format: 'tfjs-layers' };
    storage.finishRefit(refit.runId, 1, result, { ...model, path: runnerUpDir, testMetrics: { test_auc: 0.8 } }, Date.now() + 1000);
    runnerUpModelId = storage.models.ofExperiment(seeded.experimentId)[0]!.modelId;
    assert.notEqual(runnerUpModelId, selectedModelId, 'the runner-up’s refit is the newest model');
  } finally {
    storage.close();
  }
  rmSync(bestModelDir, { recursive: true, force: true });
  const easy = writeEasyCsv(dir);
  const { tf, backend } = await selectBackend('wasm');
  await runTask(taskMaker(easy, 'selected')({ kind: 'refit', refit: { epochs: 2, modelDir: bestModelDir } }), { tf, backend }, () => {});
  cpSync(bestModelDir, runnerUpDir, { recursive: true });
  rowsCsv = join(dir, 'rows.csv');
  writeFileSync(rowsCsv, readFileSync(easy, 'utf8').split('\n').slice(0, 6).join('\n'));
});
after(() => (process.env.KEEP_TEST_DIR ? console.log(dir) : rmSync(dir, { recursive: true, force: true })));

test('show: the leaderboard by run number, the selected run marked, the rule, the tied group, and the model it used', async () => {
  const show = await runCli(['show', 'chosen'], dataDir);
  assert.equal(show.code, 0, show.stderr);
  assert.notEqual(best.runId, best.number, 'numbers are per experiment, not ids');
  assert.match(show.stdout, new RegExp(`^1\\s+#${best.number} \\*\\s`, 'm'), 'rank 1, its number, marked selected');
  assert.match(show.stdout, /\bp vs best\s+vs best\b/);
  assert.equal(show.stdout.match(/^\s*\d*\s+#\d+ /gm)?.length, 4, 'each finished run listed once');
  assert.match(show.stdout, new RegExp(`Selected run #${best.number} by rule best`));
  assert.match(show.stdout, /Tied with the best: \d of 4 finished runs \(best included\)/);
  assert.match(
    show.stdout,
    new RegExp(`Model used: model ${selectedModelId}: refit run #5 of run #${best.number}, the selected configuration \\(rule best\\)`),
    'the selected configuration’s refit, not the newest model',
  );

  const other = await runCli(['show', 'chosen', '--run', String(runnerUp.number)], dataDir);
  assert.equal(other.code, 0, other.stderr);
  assert.match(
    other.stdout,
    new RegExp(
      `Model used: model ${runnerUpModelId}: refit run #6 of run #${runnerUp.number}, ` +
        `not the selected configuration \\(that is run #${best.number}\\)`,
    ),
  );
});

test('predict (and export’s plan) use the selected configuration’s refit by default, --run N another, and say which', async () => {
  const predicted = await runCli(['predict', '--experiment', 'chosen', '--input', rowsCsv], dataDir);
  assert.equal(predicted.code, 0, predicted.stderr);
  assert.match(
    predicted.stderr,
    new RegExp(`Using model ${selectedModelId}: refit run #5 of run #${best.number}, the selected configuration`),
  );
  assert.equal(predicted.stdout.trim().split('\n').length, 6, 'a header and five predictions');

  const byRun = await runCli(['predict', '--experiment', 'chosen', '--input', rowsCsv, '--run', String(runnerUp.number)], dataDir);
  assert.equal(byRun.code, 0, byRun.stderr);
  assert.match(byRun.stderr, new RegExp(`Using model ${runnerUpModelId}: refit run #6 of run #${runnerUp.number}, not the selected`));

  // export plans its model the same way (the ONNX conversion itself is export.test.ts's).
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const plan = onnxExportPlan(storage, 'chosen', { by: 'selected' }, join(dir, 'export'), false);
    assert.deepEqual([plan.metadata.sourceRunNumber, plan.metadata.selected, plan.metadata.refitRunNumber], [best.number, true, 5]);
    assert.match(plan.description, new RegExp(`^model ${selectedModelId}: refit run #5 of run #${best.number}, the selected`));
    const byModel = onnxExportPlan(storage, 'chosen', { by: 'modelId', modelId: runnerUpModelId }, join(dir, 'export'), false);
    assert.equal(byModel.metadata.sourceRunNumber, runnerUp.number);
    assert.throws(
      () => onnxExportPlan(storage, 'chosen', { by: 'runNumber', number: 99 }, join(dir, 'export'), false),
      /run #99 is not a run of "chosen"; its runs are #1–#6$/,
    );
  } finally {
    storage.close();
  }
});

test('an unknown --run lists the valid numbers; --run with --model is refused; exit 2, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['show', 'chosen', '--run', '99'], /run #99 is not a run of "chosen"; its runs are #1–#6$/m],
    [['predict', '--experiment', 'chosen', '--input', rowsCsv, '--run', '99'], /run #99 is not a run of "chosen"; its runs are #1–#6$/m],
    [['refit', 'chosen', '--run', '5'], /run #5 is not a search run of "chosen"; its search runs are #1–#4$/m],
    [['show', 'chosen', '--run', '1', '--model', '1'], /--run and --model: choose the model one way/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args, dataDir)));
  for (const [index, [args, message]] of cases.entries()) {
    const result = results[index]!;
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(' '));
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
});
