import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { selectBackend } from '../../worker/backend.js';
import { exportOnnx } from '../../worker/models/onnx/export.js';
import { runTask } from '../../worker/training/run-task.js';
import { openStorage } from '../../server/storage/storage.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { taskMaker, writeEasyCsv } from '../helpers/run-task.js';
import { seedExperiment, type SeededExperiment } from '../helpers/seed-db.js';

const dir = tempDir('foldwise-export-');
const dataDir = join(dir, 'data');
let seeded: SeededExperiment;
let modelDir: string;

// A seeded database whose refit model folder holds a real model: a small refit on easy.csv (a, b, c, d → label).
before(async () => {
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    seeded = seedExperiment(storage, { name: 'seeded', runs: 4, folds: 3, epochs: 5, modelDataDir: dataDir });
    // Its model folder keeps the seeder's placeholder files, which are no model.
    seedExperiment(storage, { name: 'placeholder', runs: 2, folds: 2, epochs: 3, modelDataDir: dataDir });
    modelDir = storage.models.ofExperiment(seeded.experimentId)[0]!.path;
  } finally {
    storage.close();
  }
  rmSync(modelDir, { recursive: true, force: true });
  const { tf, backend } = await selectBackend('wasm');
  await runTask(taskMaker(writeEasyCsv(dir), 'export')({ kind: 'refit', refit: { epochs: 3, modelDir } }), { tf, backend }, () => {});
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('export --format onnx: model.onnx (the exporter’s bytes, loadable by ONNX Runtime) and metadata.json in a new folder', async () => {
  const out = join(dir, 'exports', 'best');
  const result = await runCli(['export', 'seeded', '--format', 'onnx', '--output', out], dataDir);
  assert.equal(result.code, 0, result.stderr);
  // The first experiment of the database: its run numbers are its run ids.
  assert.match(
    result.stdout,
    new RegExp(`Exported model \\d+: refit run #${seeded.refitRunId} of run #${seeded.bestRunId}, the selected configuration`),
  );
  assert.deepEqual(readdirSync(out).sort(), ['metadata.json', 'model.onnx']);
  assert.deepEqual(readdirSync(join(dir, 'exports')), ['best'], 'no temporary files left beside it');
  const bytes = readFileSync(join(out, 'model.onnx'));
  const { tf } = await selectBackend('wasm');
  assert.ok(bytes.equals(Buffer.from(await exportOnnx(tf, modelDir))), 'the bytes exportOnnx gives for the model folder');
  const session = await InferenceSession.create(bytes);
  const feeds = Object.fromEntries(['a', 'b', 'c', 'd'].map((name) => [name, new Tensor('float32', Float32Array.from([1.5]), [1, 1])]));
  const outputs = await session.run(feeds);
  assert.deepEqual([...(outputs.probabilities!.data as Float32Array)].length, 2);
  const metadata = JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8'));
  assert.equal(metadata.experiment, 'seeded');
  assert.equal(metadata.refitRunId, seeded.refitRunId);
  assert.equal(metadata.sourceRunId, seeded.bestRunId);
  assert.deepEqual([metadata.sourceRunNumber, metadata.refitRunNumber, metadata.selected], [seeded.bestRunId, seeded.refitRunId, true]);
  assert.equal(metadata.file, 'model.onnx');
  assert.ok(metadata.metrics.some((m: { name: string; test: number }) => m.name === 'auc' && typeof m.test === 'number'));
});

test('export refuses a folder that is not empty (nothing written), writes into it with --force, and into an empty one', async () => {
  const full = join(dir, 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'notes.txt'), 'mine');
  const refused = await runCli(['export', 'seeded', '--output', full], dataDir);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--output: .*full is not empty.*--force/);
  assert.deepEqual(readdirSync(full), ['notes.txt']);

  const forced = await runCli(['export', 'seeded', '--run', String(seeded.bestRunId), '--output', full, '--force'], dataDir);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(readdirSync(full).sort(), ['metadata.json', 'model.onnx', 'notes.txt']);
  assert.equal(readFileSync(join(full, 'notes.txt'), 'utf8'), 'mine');

  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const intoEmpty = await runCli(['export', 'seeded', '--output', empty], dataDir);
  assert.equal(intoEmpty.code, 0, intoEmpty.stderr);
  assert.deepEqual(readdirSync(empty).sort(), ['metadata.json', 'model.onnx']);
});

test(
  'export of a run without a refit model, of an unknown run, of files that are no model, or without --output: ' +
    'exit 2, the command to run, nothing written',
  async () => {
    const other = seeded.runIds.find((id) => id !== seeded.bestRunId)!;
    const out = join(dir, 'never');
    const cases: [string[], RegExp][] = [
      [['export', 'seeded', '--run', String(other), '--output', out], new RegExp(`\`foldwise refit seeded --run ${other}\``)],
      [['export', 'seeded', '--run', '999', '--output', out], /run #999 is not a run of "seeded"; its runs are #1–#5\n/],
      [['export', 'seeded', '--model', '999', '--output', out], /model 999 is not a model of "seeded"; its models are \d+/],
      [['export', 'seeded', '--format', 'tflite', '--output', out], /--format: expected onnx/],
      [['export', 'placeholder', '--output', out], /models\/placeholder\/run-\d+\/preprocessing\.json: /],
      [['export', 'seeded'], /--output: expected a folder/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, dataDir)));
    for (const [index, [args, message]] of cases.entries()) {
      const result = results[index]!;
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.ok(!existsSync(out));
  },
);

test('export --curves: every curve point in long format; an existing file is refused unless --force', async () => {
  const file = join(dir, 'curves.csv');
  const first = await runCli(['export', 'seeded', '--curves', file], dataDir);
  assert.equal(first.code, 0, first.stderr);
  const rows = parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  try {
    const stored = storage.runs.list(seeded.experimentId).flatMap((run) => storage.metrics.ofRun(run.runId));
    assert.equal(rows.length, stored.length);
    assert.match(first.stdout, new RegExp(`Wrote ${stored.length} curve points`));
    const point = stored.at(-1)!;
    const row = rows.find(
      (r) =>
        Number(r.run) === point.runId &&
        Number(r.fold) === point.foldIndex + 1 &&
        Number(r.epoch) === point.epoch + 1 &&
        r.metric === point.name,
    );
    assert.equal(Number(row!.value), point.value);
  } finally {
    storage.close();
  }
  writeFileSync(file, 'keep me');
  const refused = await runCli(['export', 'seeded', '--curves', file], dataDir);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--curves: .* exists.*--force/);
  assert.equal(readFileSync(file, 'utf8'), 'keep me');
  const forced = await runCli(['export', 'seeded', '--curves', file, '--force'], dataDir);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(parse(readFileSync(file, 'utf8'), { columns: true }).length, rows.length);
});

test('show --format csv and --json print the results table, list --json the experiments; a bad --format exits 2', async () => {
  const [csv, json, list, bad] = await Promise.all(
    [
      ['show', 'seeded', '--format', 'csv'],
      ['show', 'seeded', '--json'],
      ['list', '--json'],
      ['show', 'seeded', '--format', 'xml'],
    ].map((args) => runCli(args, dataDir)),
  );
  assert.equal(csv!.code, 0, csv!.stderr);
  const rows = parse(csv!.stdout, { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 4);
  assert.equal(rows[0]!.run, String(seeded.bestRunId));
  assert.equal(rows[0]!.rank, '1');
  assert.equal(json!.code, 0, json!.stderr);
  const body = JSON.parse(json!.stdout);
  assert.equal(body.format, 'foldwise-results');
  assert.equal(body.selection.bestRunId, seeded.bestRunId);
  assert.deepEqual(
    body.runs.map((run: { runId: number }) => String(run.runId)),
    rows.map((row) => row.run),
  );
  assert.deepEqual(
    JSON.parse(list!.stdout)
      .experiments.map((e: { name: string }) => e.name)
      .sort(),
    ['placeholder', 'seeded'],
  );
  assert.equal(bad!.code, 2);
  assert.match(bad!.stderr, /--format: expected one of table, csv, json, got "xml"/);
});
