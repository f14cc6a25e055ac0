import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStorage, type Storage } from '../../server/storage/storage.js';
import { Coordinator } from '../../server/coordinator/coordinator.js';
import { WorkerPool } from '../../server/coordinator/worker-pool.js';
import { datasetDigest, sha256Hex } from '../../worker/contract/dataset-digest.js';
import { manifestBytes } from '../../worker/contract/queue.js';
import { scratchDir, writeEasyCsv } from '../helpers/run-task.js';

const dir = scratchDir('foldwise-digest-');
const csv = writeEasyCsv(dir);
const original = readFileSync(csv, 'utf8');
/** The same header and rows with every label flipped: other data at the same path. */
const flipped = original.replace(/,([01])$/gm, (_, label: string) => `,${label === '1' ? '0' : '1'}`);

const specOf = (name: string) => `
name: ${name}
dataset: { kind: csv, path: ${csv}, target: label }
model: { depth: 1, learningRate: 0.01, batchSize: 32, epochs: 4 }
grid: { width: [4, 8, 12] }
validation: { kind: kfold, k: 2 }
`;

async function withCoordinator(body: (coordinator: Coordinator, pool: WorkerPool, storage: Storage) => Promise<void>): Promise<void> {
  const dataDir = scratchDir('foldwise-digest-data-');
  const storage = openStorage(join(dataDir, 'foldwise.db'));
  const pool = new WorkerPool({ size: 1 });
  try {
    await body(new Coordinator(storage, pool, { dataDir, maxAttempts: 2 }), pool, storage);
  } finally {
    await pool.close();
    storage.close();
  }
}

const lossCurves = (storage: Storage, experimentId: number) =>
  storage.runs.list(experimentId).map((run) =>
    storage.metrics
      .ofRun(run.runId)
      .filter((p) => p.name === 'val_loss')
      .map((p) => p.value),
  );

test('a CSV edited mid-search is refused by a local worker that loads it afresh, not silently trained on', async () => {
  writeFileSync(csv, original);
  await withCoordinator(async (coordinator, pool, storage) => {
    const { experiment } = await coordinator.prepare(specOf('edited-mid-search'), { baseDir: dir });
    let killed = 0;
    coordinator.events.on('epoch', () => {
      if (killed !== 0) return;
      // The file changes, and the worker that had read it dies: its replacement reads the new bytes.
      writeFileSync(csv, flipped);
      killed = pool.busyPids[0]!;
      process.kill(killed, 'SIGKILL');
    });
    await coordinator.search(experiment.experimentId);
    assert.ok(killed > 0);
    const runs = storage.runs.list(experiment.experimentId);
    assert.deepEqual(
      runs.map((run) => run.status),
      ['failed', 'failed', 'failed'],
      'no run trains on the edited file',
    );
    for (const run of runs) {
      assert.match(run.error!, /changed after the search started: its bytes hash to sha256:[0-9a-f]{12}…, not sha256:[0-9a-f]{12}…/);
      assert.ok(run.error!.includes(csv), 'the message names the file');
    }
  });
});

test('a long-lived pool does not reuse a table read from older bytes of the same path', async () => {
  writeFileSync(csv, original);
  let edited: (number | null)[][] = [];
  await withCoordinator(async (coordinator, _pool, storage) => {
    const first = await coordinator.prepare(specOf('before-edit'), { baseDir: dir });
    await coordinator.search(first.experiment.experimentId);
    writeFileSync(csv, flipped);
    // Another experiment on the edited file, in the same worker that cached the first table.
    const second = await coordinator.prepare(specOf('after-edit'), { baseDir: dir });
    await coordinator.search(second.experiment.experimentId);
    for (const run of storage.runs.list(second.experiment.experimentId)) assert.equal(run.status, 'done');
    edited = lossCurves(storage, second.experiment.experimentId);
    assert.notDeepEqual(edited, lossCurves(storage, first.experiment.experimentId));
  });
  // The same as a fresh process trains on the edited file.
  await withCoordinator(async (coordinator, _pool, storage) => {
    const fresh = await coordinator.prepare(specOf('after-edit'), { baseDir: dir });
    await coordinator.search(fresh.experiment.experimentId);
    assert.deepEqual(lossCurves(storage, fresh.experiment.experimentId), edited);
  });
});

test('datasetDigest: a CSV is its sha256, a MovieLens folder the queue address of its manifest, generated data none', async () => {
  writeFileSync(csv, original);
  assert.equal(await datasetDigest({ kind: 'csv', path: csv, target: 'label' }), sha256Hex(readFileSync(csv)));
  const folder = join(dir, 'ml');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'u.data'), '1\t1\t5\t0\n');
  writeFileSync(join(folder, 'u.user'), '1|20|M|x|0\n');
  writeFileSync(join(folder, 'README'), 'not read by the loader');
  const files = ['u.data', 'u.user'].map((name) => ({ name: name as 'u.data', sha256: sha256Hex(readFileSync(join(folder, name))) }));
  assert.equal(await datasetDigest({ kind: 'movielens', path: folder, layout: 'auto' }), sha256Hex(manifestBytes({ files })));
  assert.equal(await datasetDigest({ kind: 'iris' }), null);
  assert.equal(await datasetDigest({ kind: 'csv', path: join(dir, 'missing.csv'), target: 'label' }), null);
});
