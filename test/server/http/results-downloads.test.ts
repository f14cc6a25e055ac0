import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { rankRuns } from '../../../server/selection/ranking.js';
import { selectBackend } from '../../../worker/backend.js';
import { exportOnnx } from '../../../worker/models/onnx/export.js';
import { runTask } from '../../../worker/training/run-task.js';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import { scratchDir, taskMaker, writeEasyCsv } from '../../helpers/run-task.js';
import { seedExperiment, type SeededExperiment } from '../../helpers/seed-db.js';

let dash: TestDashboard;
let real: SeededExperiment;
let fake: SeededExperiment;
let bare: SeededExperiment;
let modelDir: string;

// `real` gets a real refit model (a small refit on easy.csv); `fake` keeps the seeder's placeholder files; `bare` has no refit.
before(async () => {
  dash = await startTestDashboard({
    copyExperiments: false,
    seed: (storage, { dataDir }) => {
      real = seedExperiment(storage, { name: 'real', runs: 4, folds: 3, epochs: 5, modelDataDir: dataDir });
      fake = seedExperiment(storage, { name: 'fake', runs: 2, folds: 2, epochs: 3, modelDataDir: dataDir });
      bare = seedExperiment(storage, { name: 'bare', runs: 2, folds: 1, epochs: 3 });
      modelDir = storage.models.ofExperiment(real.experimentId)[0]!.path;
    },
  });
  rmSync(modelDir, { recursive: true, force: true });
  const { tf, backend } = await selectBackend('wasm');
  const task = taskMaker(writeEasyCsv(scratchDir('foldwise-downloads-')), 'downloads')({ kind: 'refit', refit: { epochs: 3, modelDir } });
  await runTask(task, { tf, backend }, () => {});
});
after(() => dash.close());

const get = (path: string) => fetch(dash.url + path);

test('GET …/runs.csv: an attachment named after the experiment, one row per search run in rank order', async () => {
  const response = await get(`/api/experiments/${real.experimentId}/runs.csv`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /^text\/csv/);
  assert.equal(response.headers.get('content-disposition'), 'attachment; filename=real-runs.csv');
  const rows = parse(await response.text(), { columns: true }) as Record<string, string>[];
  const runs = dash.storage.runs.list(real.experimentId);
  const experiment = dash.storage.experiments.get(real.experimentId);
  assert.deepEqual(
    rows.map((row) => Number(row.run)),
    rankRuns(experiment, runs).map((run) => run.number),
    'runs by their number in the experiment',
  );
  for (const row of rows) {
    const run = runs.find((r) => r.number === Number(row.run))!;
    assert.equal(Number(row.val_auc_mean), run.scoreMean);
    assert.equal(Number(row.val_auc_std), run.scoreStd);
    assert.equal(Number(row.parameters), run.paramCount);
    assert.deepEqual(
      [1, 2, 3].map((fold) => Number(row[`fold_${fold}_val_auc`])),
      dash.storage.runs.folds(run.runId).map((fold) => fold.score),
    );
  }
});

test('GET …/runs.json: the documented shape as an attachment', async () => {
  const response = await get(`/api/experiments/${real.experimentId}/runs.json`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /^application\/json/);
  assert.equal(response.headers.get('content-disposition'), 'attachment; filename=real-runs.json');
  const body = (await response.json()) as any;
  assert.equal(body.format, 'foldwise-results');
  assert.equal(body.experiment.name, 'real');
  assert.deepEqual(
    [body.selection.metric, body.selection.direction, body.selection.scoreKey, body.selection.bestRunId, body.selection.rule],
    ['auc', 'maximize', 'val_auc', real.bestRunId, 'best'],
  );
  assert.equal(body.runs.length, 4);
  assert.equal(body.refits[0].refitRunId, real.refitRunId);
});

test('GET …/curves.csv: every stored point of the search runs, long format', async () => {
  const response = await get(`/api/experiments/${real.experimentId}/curves.csv`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-disposition'), 'attachment; filename=real-curves.csv');
  const [header, ...rows] = parse(await response.text()) as string[][];
  assert.deepEqual(header, ['run', 'fold', 'epoch', 'metric', 'value']);
  const stored = dash.storage.runs.list(real.experimentId).flatMap((run) => dash.storage.metrics.ofRun(run.runId));
  assert.equal(rows.length, stored.length);
});

test('GET …/runs/:runId/model.onnx: the refit model of a search run (or of the refit run itself) as ONNX', async () => {
  const { tf } = await selectBackend('wasm');
  const expected = Buffer.from(await exportOnnx(tf, modelDir));
  for (const runId of [real.bestRunId, real.refitRunId]) {
    const response = await get(`/api/experiments/${real.experimentId}/runs/${runId}/model.onnx`);
    assert.equal(response.status, 200, await response.clone().text());
    const number = dash.storage.runs.get(runId!).number;
    assert.equal(response.headers.get('content-disposition'), `attachment; filename=real-run-${number}.onnx`);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(expected));
  }
});

test('model.onnx without a refit model → 404 saying how to make one; unknown ids 404, malformed 400; bad model files 409', async () => {
  const other = real.runIds.find((id) => id !== real.bestRunId)!;
  const missing = await get(`/api/experiments/${real.experimentId}/runs/${other}/model.onnx`);
  assert.equal(missing.status, 404);
  const body = (await missing.json()) as any;
  assert.equal(body.error.code, 'not_found');
  assert.match(body.error.message, new RegExp(`foldwise refit real --run ${dash.storage.runs.get(other).number}\``));
  const none = await get(`/api/experiments/${bare.experimentId}/runs/${bare.runIds[0]}/model.onnx`);
  assert.equal(none.status, 404);
  assert.match(((await none.json()) as any).error.message, /has no refit model/);

  assert.equal((await get(`/api/experiments/${real.experimentId}/runs/${bare.runIds[0]}/model.onnx`)).status, 404);
  for (const path of ['runs.csv', 'runs.json', 'curves.csv']) {
    assert.equal((await get(`/api/experiments/99999/${path}`)).status, 404, path);
    assert.equal((await get(`/api/experiments/abc/${path}`)).status, 400, path);
  }
  assert.equal((await get(`/api/experiments/${real.experimentId}/runs/x/model.onnx`)).status, 400);

  const broken = await get(`/api/experiments/${fake.experimentId}/runs/${fake.bestRunId}/model.onnx`);
  assert.equal(broken.status, 409);
  const message = ((await broken.json()) as any).error.message as string;
  assert.match(message, new RegExp(`refit model of run #${dash.storage.runs.get(fake.bestRunId!).number}/`));
  assert.ok(!message.includes(dash.dataDir), `the data directory is not shown: ${message}`);
});
