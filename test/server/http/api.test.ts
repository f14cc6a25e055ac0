import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestDashboard, type TestDashboard } from '../../helpers/dashboard-server.js';
import { seedExperiment, type SeededExperiment } from '../../helpers/seed-db.js';
import { waitFor } from '../../helpers/wait-for.js';

let dash: TestDashboard;
let big: SeededExperiment;
let small: SeededExperiment;

before(async () => {
  dash = await startTestDashboard({
    seed: (storage, { dataDir }) => {
      big = seedExperiment(storage, { name: 'big', runs: 30, folds: 3, epochs: 8, failed: 1, queued: 2, modelDataDir: dataDir });
      small = seedExperiment(storage, { name: 'small', runs: 3, folds: 1, epochs: 4 });
    },
  });
});
after(() => dash.close());

const get = (path: string) => fetch(dash.url + path);
const json = async (path: string) => {
  const response = await get(path);
  return { status: response.status, body: (await response.json()) as any };
};
const post = (path: string, body: unknown) =>
  fetch(dash.url + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

test('GET /api/experiments lists every experiment with counts and best score', async () => {
  const { status, body } = await json('/api/experiments');
  assert.equal(status, 200);
  const byName = new Map(body.experiments.map((e: any) => [e.name, e]));
  const entry: any = byName.get('big');
  assert.equal(entry.runsTotal, 30);
  assert.equal(entry.runsFailed, 1);
  assert.equal(entry.runsFinished, 28);
  // Recorded as running, but no process owns it (no lease): it reads as resumable.
  assert.equal(entry.status, 'interrupted');
  assert.equal(typeof entry.bestScore, 'number');
  assert.equal(entry.datasetKind, 'fraud');
  assert.ok(byName.has('small'));
});

test('GET /api/experiments/:id returns the detail; unknown id → 404, non-numeric → 400', async () => {
  const { status, body } = await json(`/api/experiments/${big.experimentId}`);
  assert.equal(status, 200);
  assert.equal(body.experiment.name, 'big');
  assert.equal(body.experiment.best.runId, big.bestRunId);
  assert.deepEqual(body.experiment.columns, ['depth', 'learningRate', 'width']);
  assert.equal(body.experiment.models.length, 1);
  assert.match(body.experiment.validationLabel, /^stratified CV, 3 folds,/);

  const missing = await json('/api/experiments/99999');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'not_found');
  assert.match(missing.body.error.message, /99999/);

  for (const bad of ['abc', '1.5', '-1', '1e3', '%20']) {
    const malformed = await json(`/api/experiments/${bad}`);
    assert.equal(malformed.status, 400, bad);
    assert.equal(malformed.body.error.code, 'invalid_argument');
    assert.equal(malformed.body.error.path, 'experimentId');
  }
});

test('GET /api/experiments/:id/runs is the leaderboard: ranked runs first, best first, then the rest', async () => {
  const { status, body } = await json(`/api/experiments/${big.experimentId}/runs`);
  assert.equal(status, 200);
  assert.equal(body.runs.length, 30);
  assert.equal(body.metric, 'auc');
  const ranked = body.runs.filter((r: any) => r.rank !== null);
  assert.equal(ranked.length, 27);
  assert.deepEqual(
    ranked.map((r: any) => r.rank),
    ranked.map((_: unknown, i: number) => i + 1),
  );
  for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1].scoreMean >= ranked[i].scoreMean);
  assert.equal(ranked[0].runId, big.bestRunId);
  assert.equal(ranked[0].isBest, true);
  assert.equal(typeof ranked[0].trainLoss, 'number', 'metrics at the chosen epoch for the complexity chart');
  assert.equal(typeof ranked[0].valLoss, 'number');
  assert.equal(typeof ranked[0].valScore, 'number');
  const rest = body.runs.slice(27).map((r: any) => r.status);
  assert.deepEqual(rest, ['queued', 'queued', 'failed']);
  assert.equal((await json('/api/experiments/424242/runs')).status, 404);
});

test('GET /api/experiments/:id/runs/:runId returns the run with its folds; a run of another experiment → 404', async () => {
  const runId = big.bestRunId!;
  const { status, body } = await json(`/api/experiments/${big.experimentId}/runs/${runId}`);
  assert.equal(status, 200);
  assert.equal(body.run.runId, runId);
  assert.equal(body.folds.length, 3);
  assert.equal(typeof body.folds[0].bestEpoch, 'number');
  assert.ok(body.metricNames.includes('val_auc'));
  assert.equal(body.refits.length, 1, 'the seeded refit of the best run');
  assert.equal((await json(`/api/experiments/${small.experimentId}/runs/${runId}`)).status, 404);
  assert.equal((await json(`/api/experiments/${big.experimentId}/runs/999999`)).status, 404);
  assert.equal((await json(`/api/experiments/${big.experimentId}/runs/x1`)).status, 400);
  const failed = big.runIds[27]!;
  const failedRun = await json(`/api/experiments/${big.experimentId}/runs/${failed}`);
  assert.equal(failedRun.body.run.status, 'failed');
  assert.match(failedRun.body.run.error, /diverged/);
});

test('GET /api/experiments/:id/curves returns only the runs and metrics asked for, aggregated over folds', async () => {
  const ids = big.runIds.slice(0, 3);
  const { status, body } = await json(`/api/experiments/${big.experimentId}/curves?runs=${ids.join(',')}&names=loss,val_auc`);
  assert.equal(status, 200);
  assert.deepEqual(
    body.runs.map((r: any) => r.runId),
    ids,
  );
  for (const run of body.runs) {
    assert.deepEqual(Object.keys(run.metrics).sort(), ['loss', 'val_auc']);
    const curve = run.metrics.val_auc;
    assert.equal(curve.folds.length, 3);
    assert.equal(curve.mean.length, 8);
    for (let epoch = 0; epoch < 8; epoch++) {
      const values = curve.folds.map((fold: number[]) => fold[epoch]);
      assert.ok(Math.abs(curve.mean[epoch] - values.reduce((a: number, b: number) => a + b, 0) / 3) < 1e-12);
      assert.equal(curve.min[epoch], Math.min(...values));
      assert.equal(curve.max[epoch], Math.max(...values));
    }
  }
  const all = await json(`/api/experiments/${big.experimentId}/curves?runs=${ids[0]}`);
  assert.equal(Object.keys(all.body.runs[0].metrics).length, 6, 'no names → every metric');
});

test('GET /api/experiments/:id/curves refuses malformed or oversized run lists and runs of other experiments', async () => {
  const base = `/api/experiments/${big.experimentId}/curves`;
  assert.equal((await json(base)).status, 400);
  assert.equal((await json(`${base}?runs=`)).status, 400);
  assert.equal((await json(`${base}?runs=1,abc`)).status, 400);
  assert.equal((await json(`${base}?runs=${big.runIds[0]}&names=loss;drop`)).status, 400);
  const tooMany = Array.from({ length: 51 }, (_, i) => i + 1).join(',');
  const many = await json(`${base}?runs=${tooMany}`);
  assert.equal(many.status, 400);
  assert.match(many.body.error.message, /at most 50/);
  assert.equal((await json(`${base}?runs=${small.runIds[0]}`)).status, 404);
});

test('GET /api/experiments/:id/compare: two or more runs, differing hyperparameters marked', async () => {
  const [a, b] = [big.runIds[0]!, big.runIds[1]!];
  const { status, body } = await json(`/api/experiments/${big.experimentId}/compare?runs=${a},${b}`);
  assert.equal(status, 200);
  assert.deepEqual(
    body.runs.map((r: any) => r.runId),
    [a, b],
  );
  const differing = body.params.filter((p: any) => p.differs).map((p: any) => p.name);
  assert.deepEqual(differing, ['width']);
  assert.equal((await json(`/api/experiments/${big.experimentId}/compare?runs=${a}`)).status, 400);
});

test('models: list, get, and download model.json, weights and preprocessing.json from the data directory', async () => {
  const { body } = await json(`/api/experiments/${big.experimentId}/models`);
  assert.equal(body.models.length, 1);
  const model = body.models[0];
  assert.equal(model.sourceRunId, big.bestRunId);
  assert.deepEqual(
    model.files.map((f: any) => f.name),
    ['model.json', 'preprocessing.json', 'weights.bin'],
  );
  assert.equal(model.location, join('models', 'big', `run-${big.refitRunId}`));
  const auc = model.metrics.find((m: any) => m.name === 'auc');
  assert.equal(typeof auc.cvMean, 'number', 'cross-validation estimate beside the test score');
  assert.equal(typeof auc.test, 'number');

  assert.equal((await json(`/api/models/${model.modelId}`)).body.model.modelId, model.modelId);
  assert.equal((await json('/api/models/987654')).status, 404);
  assert.equal((await json('/api/models/zz')).status, 400);

  const download = await get(`/api/models/${model.modelId}/files/model.json`);
  assert.equal(download.status, 200);
  assert.match(download.headers.get('content-disposition') ?? '', /^attachment; filename="?model\.json"?$/);
  const onDisk = readFileSync(join(dash.dataDir, model.location, 'model.json'), 'utf8');
  assert.equal(await download.text(), onDisk);
  const weights = await get(`/api/models/${model.modelId}/files/weights.bin`);
  assert.equal((await weights.arrayBuffer()).byteLength, 64);
  assert.equal((await get(`/api/models/${model.modelId}/files/nope.json`)).status, 404);
});

test('specs: list the experiments folder by file name, read one; unknown → 404', async () => {
  const { body } = await json('/api/specs');
  const names = body.specs.map((s: any) => s.fileName);
  assert.ok(names.includes('default.yaml'));
  assert.equal(body.specs.find((s: any) => s.fileName === 'default.yaml').specName, 'fraud-default');
  const one = await json('/api/specs/default.yaml');
  assert.equal(one.status, 200);
  assert.match(one.body.text, /name: fraud-default/);
  assert.equal((await json('/api/specs/missing.yaml')).status, 404);
  assert.equal((await json('/api/specs/notes.txt')).status, 400);
});

test('unknown API paths → 404 JSON', async () => {
  const { status, body } = await json('/api/nothing/here');
  assert.equal(status, 404);
  assert.equal(body.error.code, 'not_found');
});

test('POST /api/experiments starts a search in the background; the run table fills in and the search ends', async () => {
  const specText =
    'name: api-started\ndataset: { kind: sine, rows: 200 }\ntask: regression\ngrid: { width: [4, 8], epochs: 3 ' +
    '}\nvalidation: { kind: holdout }\n';
  const response = await post('/api/experiments', { specText });
  assert.equal(response.status, 201);
  const body = (await response.json()) as any;
  assert.equal(body.experiment.name, 'api-started');
  assert.equal(body.runsTotal, 2);
  assert.equal(body.url, `/experiments/${body.experiment.experimentId}`);
  const done = await waitFor(async () => {
    const detail = await json(`/api/experiments/${body.experiment.experimentId}`);
    return detail.body.experiment.status === 'done' ? detail.body.experiment : null;
  }, 'the background search to finish');
  assert.equal(done.runsFinished, 2);
  assert.equal(done.best.params.width === 8 || done.best.params.width === 4, true);
});

test('POST /api/experiments from a spec file name; a path instead of a name is refused', async () => {
  const bad = await post('/api/experiments', { specFile: '../package.json' });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as any).error.path, 'specFile');
  const missing = await post('/api/experiments', { specFile: 'nope.yaml' });
  assert.equal(missing.status, 404);
});

test('POST /api/experiments with an invalid spec → 400 naming each bad field; nothing is written', async () => {
  const before = (await json('/api/experiments')).body.experiments.length;
  const response = await post('/api/experiments', { specText: 'name: ok-name\ndataset: { kind: sine, rows: 5 }\ngrid: { widht: [1] }\n' });
  assert.equal(response.status, 400);
  const { error } = (await response.json()) as any;
  assert.equal(error.code, 'invalid_argument');
  const paths = error.issues.map((i: any) => i.path);
  assert.ok(paths.includes('dataset.rows'), JSON.stringify(paths));
  assert.ok(paths.includes('grid'), JSON.stringify(paths));
  const malformed = await post('/api/experiments', { specText: 'name: [unclosed' });
  assert.equal(malformed.status, 400);
  assert.match(((await malformed.json()) as any).error.message, /malformed YAML/);
  assert.equal((await post('/api/experiments', {})).status, 400);
  assert.equal((await json('/api/experiments')).body.experiments.length, before);
});

test('POST /api/experiments: a CSV outside the experiments folder and data directory is refused', async () => {
  const response = await post('/api/experiments', { specText: 'name: outside\ndataset: { kind: csv, path: /etc/passwd, target: x }\n' });
  assert.equal(response.status, 400);
  const { error } = (await response.json()) as any;
  assert.equal(error.path, 'dataset.path');
  const relative = await post('/api/experiments', {
    specText: 'name: outside2\ndataset: { kind: csv, path: ../../../etc/passwd, target: x }\n',
  });
  assert.equal(relative.status, 400);
  const folder = await post('/api/experiments', { specText: 'name: outside3\ndataset: { kind: movielens, path: /etc }\n' });
  assert.equal(folder.status, 400, 'any dataset kind with a path');
  assert.equal(((await folder.json()) as any).error.path, 'dataset.path');
});

test('POST /api/experiments/:id/refit refits in the background; the model and its test metrics appear', async () => {
  const id = small.experimentId;
  const response = await post(`/api/experiments/${id}/refit`, {});
  assert.equal(response.status, 202);
  const { job } = (await response.json()) as any;
  assert.equal(job.state, 'running');
  assert.equal(job.sourceRunId, (await json(`/api/experiments/${id}`)).body.experiment.best.runId);
  const finished = await waitFor(async () => {
    const state = await json(`/api/experiments/${id}/refit`);
    return state.body.job.state !== 'running' ? state.body.job : null;
  }, 'the refit to finish');
  assert.equal(finished.state, 'done', finished.error);
  const { body } = await json(`/api/experiments/${id}/models`);
  assert.equal(body.models.length, 1);
  assert.equal(body.models[0].modelId, finished.modelId);
  assert.ok(Object.keys(body.models[0].testMetrics).includes('test_auc'));
  assert.deepEqual(
    body.models[0].files.map((f: any) => f.name),
    ['model.json', 'preprocessing.json', 'weights.bin'],
  );
});

test('POST /api/experiments/:id/refit: an unfinished run → 409, unknown run → 404, malformed → 400', async () => {
  const queuedRun = big.runIds[29]!;
  assert.equal((await post(`/api/experiments/${big.experimentId}/refit`, { runId: queuedRun })).status, 409);
  assert.equal((await post(`/api/experiments/${big.experimentId}/refit`, { runId: 999999 })).status, 404);
  assert.equal((await post(`/api/experiments/${big.experimentId}/refit`, { runId: 'one' })).status, 400);
  assert.equal((await post(`/api/experiments/${big.experimentId}/refit`, { runId: small.runIds[0] })).status, 404);
  assert.equal((await post('/api/experiments/31337/refit', {})).status, 404);
});

test('GET /api/experiments/:id/events streams the coordinator events of that experiment', async () => {
  const specText =
    'name: streamed\ndataset: { kind: sine, rows: 200 }\ntask: regression\ngrid: { width: [4, 8], epochs: 3 ' +
    '}\nvalidation: { kind: holdout }\n';
  // Prepare first (so the id is known), then listen, then search.
  const prepared = await dash.coordinator.prepare(specText, { baseDir: dash.experimentsDir });
  const id = prepared.experiment.experimentId;
  const controller = new AbortController();
  const response = await fetch(`${dash.url}/api/experiments/${id}/events`, { signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value);
      if (text.includes('"status":"done"') && text.includes('event: experiment')) {
        if (/event: experiment\ndata: \{[^\n]*"status":"done"/.test(text)) return;
      }
    }
  })();
  await waitFor(() => text.includes('event: hello'), 'the stream to open');
  await dash.coordinator.search(id);
  await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 3000))]);
  controller.abort();
  for (const name of ['epoch', 'run', 'progress', 'experiment']) assert.match(text, new RegExp(`event: ${name}\\n`), name);
  const epochs = text.split('\n').filter((line) => line.startsWith('data: ') && line.includes('"foldIndex"'));
  assert.equal(epochs.length, 2 * 3, 'one epoch event per run per epoch');
  assert.ok(
    epochs.every((line) => JSON.parse(line.slice(6)).experimentId === id),
    'only this experiment',
  );
  assert.equal((await get('/api/experiments/777777/events')).status, 404);
});

test('POST /api/experiments/:id/delete needs the name; deletes rows and model files', async () => {
  const modelsDir = join(dash.dataDir, 'models', 'big');
  assert.ok(existsSync(modelsDir));
  const wrong = await post(`/api/experiments/${big.experimentId}/delete`, { confirm: 'bigg' });
  assert.equal(wrong.status, 400);
  assert.equal(((await wrong.json()) as any).error.path, 'confirm');
  assert.equal((await post(`/api/experiments/${big.experimentId}/delete`, {})).status, 400);
  const response = await post(`/api/experiments/${big.experimentId}/delete`, { confirm: 'big' });
  assert.equal(response.status, 200);
  assert.equal((await json(`/api/experiments/${big.experimentId}`)).status, 404);
  assert.equal(existsSync(modelsDir), false);
  assert.equal((await post(`/api/experiments/${big.experimentId}/delete`, { confirm: 'big' })).status, 404);
});
