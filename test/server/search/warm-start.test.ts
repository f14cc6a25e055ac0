import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage, type Storage } from '../../../server/storage/storage.js';
import { Coordinator } from '../../../server/coordinator/coordinator.js';
import type { Task } from '../../../worker/contract/protocol.js';
import type { Params } from '../../../worker/contract/spec.js';
import { ConflictError, ValidationError } from '../../../server/errors.js';
import type { PrepareOptions } from '../../../server/coordinator/prepare-experiment.js';
import { FakeRunner } from '../../helpers/fake-runner.js';
import { startTestDashboard } from '../../helpers/dashboard-server.js';

/** The configuration's quality on this synthetic objective: best near learning rate 1e-2 and width 32. */
const quality = ({ learningRate, width }: Pick<Params, 'learningRate' | 'width'>) =>
  0.92 - 0.05 * (Math.log10(learningRate) + 2) ** 2 - 0.02 * (Math.log2(width) - 5) ** 2;

/** A validation-AUC curve rising to the configuration's quality, slightly different per fold. */
function curveOf(task: Task): number[] {
  const q = quality(task.params) + task.foldIndex * 0.003;
  return Array.from({ length: task.params.epochs }, (_, epoch) => 0.5 + (q - 0.5) * (1 - Math.exp(-(epoch + 1) / 2)));
}

type SpecParts = {
  name?: string;
  strategy?: string;
  trials?: number;
  learningRate?: string;
  extraSpace?: string;
  extra?: string;
  seed?: number;
};

const SPEC = (parts: SpecParts = {}) => `
name: ${parts.name ?? 'source'}
dataset: { kind: fraud, rows: 200 }
search: { strategy: ${parts.strategy ?? 'tpe'}, trials: ${parts.trials ?? 14}${parts.strategy === 'random' ? '' : ', startupTrials: 4'} }
space:
  learningRate: ${parts.learningRate ?? '{ float: [1.0e-4, 1.0e-1], log: true }'}
  width: { int: [8, 128], log: true }
${parts.extraSpace ?? ''}
model: { epochs: 9 }
validation: { kind: kfold, k: 3 }
selection: { metric: auc }
seed: ${parts.seed ?? 7}
${parts.extra ?? ''}`;

function setUp() {
  const storage = openStorage(':memory:');
  const runner = new FakeRunner((task) => ({ curve: curveOf(task) }), { concurrency: 2 });
  const coordinator = new Coordinator(storage, runner, { dataDir: mkdtempSync(join(tmpdir(), 'foldwise-warm-')) });
  return { storage, coordinator };
}

async function search(coordinator: Coordinator, spec: string, options: Omit<PrepareOptions, 'baseDir'> = {}) {
  const prepared = await coordinator.prepare(spec, { baseDir: '.', ...options });
  await coordinator.search(prepared.experiment.experimentId);
  return prepared.experiment.experimentId;
}

/** Trials by number: their sampled learning rate and width. */
const trialsOf = (storage: Storage, experimentId: number) =>
  storage.runs
    .list(experimentId)
    .filter((run) => run.trialNumber !== null)
    .sort((a, b) => a.trialNumber! - b.trialNumber!)
    .map((run) => ({ learningRate: run.params.learningRate, width: run.params.width }));

test("warm start: TPE's first trial uses the source's trials — unlike a cold start's, it lands in their good region", async () => {
  for (const seed of [7, 8, 9]) {
    const { storage, coordinator } = setUp();
    const source = await search(coordinator, SPEC({ seed }));
    const warm = await search(coordinator, SPEC({ name: 'warm', trials: 1, seed }), { from: 'source' });
    const cold = await search(coordinator, SPEC({ name: 'cold', trials: 1, seed }));
    const recorded = storage.experiments.get(warm).warmStart!;
    assert.equal(recorded.from, 'source');
    assert.equal(recorded.trials.length, 14, 'every finished source trial is history');
    assert.equal(recorded.outOfSpace, 0);

    const [first] = trialsOf(storage, warm);
    const [coldFirst] = trialsOf(storage, cold);
    assert.notDeepEqual(first, coldFirst, `seed ${seed}: a cold start draws trial 1 at random`);
    // The good region: the source's best quarter.
    const sourceScores = trialsOf(storage, source)
      .map(quality)
      .sort((a, b) => b - a);
    const upperQuartile = sourceScores[Math.floor(sourceScores.length / 4)]!;
    assert.ok(
      quality(first!) >= upperQuartile,
      `seed ${seed}: warm trial 1 ${JSON.stringify(first)} scores ${quality(first!).toFixed(4)}, ` +
        `below the source's top quarter ${upperQuartile.toFixed(4)}`,
    );
  }
});

test('warm start: the same spec, seed and source give the same trials twice; a second run of the command resumes it', async () => {
  const sequences: unknown[] = [];
  for (let i = 0; i < 2; i++) {
    const { storage, coordinator } = setUp();
    await search(coordinator, SPEC());
    const warm = await search(coordinator, SPEC({ name: 'warm', trials: 6 }), { from: 'source' });
    sequences.push(trialsOf(storage, warm));
    const again = await coordinator.prepare(SPEC({ name: 'warm', trials: 6 }), { baseDir: '.', from: 'source' });
    assert.equal(again.resumed, true);
    assert.equal(again.experiment.warmStart?.trials.length, 14);
  }
  assert.equal((sequences[0] as unknown[]).length, 6);
  assert.deepEqual(sequences[1], sequences[0]);
});

test('warm start: source trials outside the new space are left out and counted; no source configuration is sampled again', async () => {
  const { storage, coordinator } = setUp();
  const source = await search(coordinator, SPEC());
  const outside = trialsOf(storage, source).filter((trial) => trial.learningRate < 1e-3).length;
  assert.ok(outside > 0 && outside < 14, `some source trials have learning rates below 1e-3: ${outside}`);
  const narrow = SPEC({ name: 'narrow', trials: 8, learningRate: '{ float: [1.0e-3, 1.0e-1], log: true }' });
  const warm = await search(coordinator, narrow, { from: 'source' });
  const recorded = storage.experiments.get(warm).warmStart!;
  assert.equal(recorded.outOfSpace, outside);
  assert.equal(recorded.trials.length, 14 - outside);
  assert.ok(recorded.trials.every((trial) => trial.params.learningRate >= 1e-3));
  const key = (t: { learningRate: number; width: number }) => `${t.learningRate}/${t.width}`;
  const sourceKeys = new Set(trialsOf(storage, source).map(key));
  assert.ok(trialsOf(storage, warm).every((trial) => !sourceKeys.has(key(trial))));
});

test('warm start refused, nothing written: other data, folds, metric or space names; random, grid; unknown or running source', async () => {
  const { storage, coordinator } = setUp();
  await search(coordinator, SPEC());
  const before = JSON.stringify(storage.experiments.list());
  const refused = async (spec: string, pattern: RegExp, options: Omit<PrepareOptions, 'baseDir'> = { from: 'source' }) => {
    await assert.rejects(coordinator.prepare(spec, { baseDir: '.', ...options }), (error: unknown) => {
      assert.ok(error instanceof ValidationError, String(error));
      assert.match(error.message, pattern);
      return true;
    });
    assert.equal(JSON.stringify(storage.experiments.list()), before, `nothing written: ${pattern}`);
  };
  const warm = (parts: SpecParts) => SPEC({ name: 'warm', ...parts });
  await refused(
    warm({}).replace('rows: 200', 'rows: 300'),
    /^--from: "source" scored its trials otherwise: dataset\.rows 200 there, 300 here \(warm-starting needs the same data/,
  );
  await refused(warm({ seed: 8 }), /seed 7 there, 8 here/);
  await refused(warm({}).replace('k: 3', 'k: 5'), /validation\.k 3 there, 5 here/);
  await refused(warm({}).replace('metric: auc', 'metric: pr_auc'), /selection\.metric "auc" there, "pr_auc" here/);
  await refused(
    warm({ extraSpace: '  dropout: { float: [0, 0.5] }' }),
    /searched \["learningRate","width"\] there, \["dropout","learningRate","width"\] here/,
  );
  await refused(warm({ strategy: 'random' }), /^--from: strategy random ignores earlier trials/);
  await refused(
    `name: warm\ndataset: { kind: fraud, rows: 200 }\ngrid: { width: [8, 16] }\nvalidation: { kind: kfold, k: 3 }\n`,
    /^--from: expected a tpe search; a grid trains every point/,
  );
  await refused(warm({}), /^--from: no experiment named "nowhere"/, { from: 'nowhere' });
  await refused(SPEC({ trials: 20 }), /^--from: "source" is this spec's own name/);
  await refused(warm({}), /^--from: --from starts a new experiment and --add-trials continues one/, { from: 'source', addTrials: 3 });
  await refused(
    warm({ learningRate: '{ float: [0.5, 0.9] }' }),
    /^--from: none of the 14 finished trials of "source" lies inside this spec's space/,
  );

  // A source another process is searching: its trials are still coming.
  const sourceId = storage.experiments.getByName('source').experimentId;
  const taken = storage.leases.acquire(sourceId, 'search');
  assert.ok('lease' in taken);
  await assert.rejects(coordinator.prepare(warm({}), { baseDir: '.', from: 'source' }), /experiment "source" is being searched by pid/);
  storage.leases.release(taken.lease);
  assert.equal(JSON.stringify(storage.experiments.list()), before);
});

test('a spec refused for differing from its experiment names --from where a new experiment could start from its trials', async () => {
  const { coordinator } = setUp();
  await search(coordinator, SPEC());
  const message = async (spec: string) => {
    const error = await coordinator.prepare(spec, { baseDir: '.' }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConflictError, String(error));
    return error.message;
  };
  // Another range of the same searched names, on the same data and folds: warm-startable.
  assert.match(
    await message(SPEC({ learningRate: '{ float: [1.0e-3, 1.0e-1], log: true }' })),
    /With another name, `foldwise run SPEC --from source` starts its TPE search from the old one’s trials\./,
  );
  // Other folds: the old trials were scored otherwise, so no --from.
  assert.doesNotMatch(await message(SPEC().replace('k: 3', 'k: 4')), /--from/);
  assert.doesNotMatch(await message(SPEC({ strategy: 'random' })), /--from/);
});

test('the experiment page and its API say where a warm start came from, how many trials it took and left out', async () => {
  const dash = await startTestDashboard({ runner: new FakeRunner((task) => ({ curve: curveOf(task) }), { concurrency: 2 }) });
  try {
    const sourceId = await search(dash.coordinator, SPEC());
    const narrow = SPEC({ name: 'narrow', trials: 2, learningRate: '{ float: [1.0e-3, 1.0e-1], log: true }' });
    const id = await search(dash.coordinator, narrow, { from: 'source' });
    const { trials, outOfSpace } = dash.storage.experiments.get(id).warmStart!;
    const detail = ((await (await fetch(`${dash.url}/api/experiments/${id}`)).json()) as any).experiment;
    assert.deepEqual(detail.warmStart, { from: 'source', fromExperimentId: sourceId, trials: trials.length, outOfSpace });
    const page = await (await fetch(`${dash.url}/experiments/${id}?fragment=experiment-summary`)).text();
    assert.match(
      page,
      new RegExp(
        `Warm-started from <a href="/experiments/${sourceId}">source</a>: the sampler began with ${trials.length} finished trials of it ` +
          `\\(${outOfSpace} outside this space left out\\)\\.`,
      ),
    );
    // The source deleted: the trials stay with the experiment, the name is no longer a link.
    dash.coordinator.deleteExperiment(sourceId);
    const after = await (await fetch(`${dash.url}/experiments/${id}?fragment=experiment-summary`)).text();
    assert.match(after, /Warm-started from source: the sampler began with/);
  } finally {
    await dash.close();
  }
});
