import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paramsOf, searchSpaceOf, type SampledParams, type SearchSpace } from '../../../server/search/space.js';
import { randomSampler, sampleDimension } from '../../../server/search/random-sampler.js';
import { goodGroupSize, splitTrials, tpeSampler } from '../../../server/search/tpe/tpe-sampler.js';
import { observationWeights } from '../../../server/search/tpe/parzen.js';
import { normalCdf, normalQuantile, sampleTruncatedNormal } from '../../../server/search/tpe/normal.js';
import { trialRandom, type FrozenTrial, type Sampler } from '../../../server/search/sampler.js';
import type { SpaceSpec } from '../../../worker/contract/search-spec.js';

const spaceOf = (space: Record<string, unknown>, model = {}) => searchSpaceOf({ model, space: space as SpaceSpec });

function draws(space: SearchSpace, n: number, seed = 1): SampledParams[] {
  const sampler = randomSampler(space);
  return Array.from({ length: n }, (_, i) =>
    sampler.sample({ number: i + 1, trials: [], direction: 'maximize', random: trialRandom(seed, i + 1) }),
  );
}

test('random: floats within bounds, uniform; log ranges log-uniform (half the draws below the geometric midpoint)', () => {
  const space = spaceOf({ dropout: { float: [0.1, 0.5] }, learningRate: { float: [1e-4, 1e-1], log: true } });
  const sampled = draws(space, 4000);
  const dropout = sampled.map((s) => s.dropout as number);
  const lr = sampled.map((s) => s.learningRate as number);
  assert.ok(dropout.every((v) => v >= 0.1 && v <= 0.5) && lr.every((v) => v >= 1e-4 && v <= 1e-1));
  const share = (values: number[], below: number) => values.filter((v) => v < below).length / values.length;
  assert.ok(Math.abs(share(dropout, 0.3) - 0.5) < 0.03, `uniform: ${share(dropout, 0.3)}`);
  assert.ok(Math.abs(share(lr, Math.sqrt(1e-4 * 1e-1)) - 0.5) < 0.03, `log-uniform: ${share(lr, Math.sqrt(1e-5))}`);
  assert.ok(Math.abs(share(lr, 1e-3) - 1 / 3) < 0.03, 'a third of the decades below 1e-3');
});

test('random: int ranges hit every value (step, log), stepped floats stay on their grid, choices all appear', () => {
  const space = spaceOf({
    depth: { int: [1, 3] },
    width: { int: [8, 128], step: 8 },
    batchSize: { int: [1, 16], log: true },
    dropout: { float: [0, 0.5], step: 0.1 },
    activation: { choice: ['relu', 'tanh', 'elu'] },
    optimizer: ['adam', 'sgd'],
  });
  const sampled = draws(space, 3000);
  const values = (name: string) => new Set(sampled.map((s) => s[name as keyof SampledParams]));
  assert.deepEqual([...values('depth')].sort(), [1, 2, 3]);
  assert.equal(values('width').size, 16);
  assert.ok([...values('width')].every((w) => (w as number) % 8 === 0));
  assert.ok([...values('batchSize')].every((b) => Number.isInteger(b) && (b as number) >= 1 && (b as number) <= 16));
  assert.ok(values('batchSize').has(1) && values('batchSize').has(16), 'the ends of an int log range are reached');
  assert.deepEqual([...values('dropout')].sort(), [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  assert.equal(values('activation').size, 3);
  assert.equal(values('optimizer').size, 2);
});

test('random: the same seed and trial number give the same draw; another trial another one', () => {
  const space = spaceOf({ learningRate: { float: [1e-4, 1e-1], log: true } });
  assert.deepEqual(draws(space, 5, 7), draws(space, 5, 7));
  assert.notDeepEqual(draws(space, 5, 7), draws(space, 5, 8));
});

test('conditional space: a trial samples only what its family reads; the rest keeps its fixed or default value', () => {
  const space = spaceOf({ family: ['mlp', 'mf'], depth: { int: [1, 4] }, factors: { int: [4, 64], log: true } }, { epochs: 7 });
  const check = (sampled: SampledParams[]) => {
    assert.ok(sampled.some((s) => s.family === 'mlp') && sampled.some((s) => s.family === 'mf'));
    for (const s of sampled) {
      assert.deepEqual(Object.keys(s).sort(), s.family === 'mlp' ? ['depth', 'family'] : ['factors', 'family']);
      const params = paramsOf(space, s);
      assert.equal(params.epochs, 7);
      if (s.family === 'mf') assert.equal(params.depth, 2, 'depth stays at its default for mf');
    }
  };
  check(draws(space, 200));
  // TPE, past its random start, keeps to the same structure.
  const tpe = tpeSampler(space, { startupTrials: 5 });
  const trials: FrozenTrial[] = [];
  for (let n = 1; n <= 30; n++) {
    const params = tpe.sample({ number: n, trials, direction: 'maximize', random: trialRandom(3, n) });
    const score = params.family === 'mf' ? 0.8 + 0.001 * (params.factors as number) : 0.7 + 0.01 * (params.depth as number);
    trials.push({ number: n, state: 'complete', params, score, progress: 0 });
  }
  check(trials.map((t) => t.params));
  assert.ok(trials.slice(15).filter((t) => t.params.family === 'mf').length >= 10, 'TPE favours the better family');
});

/** Best score of `budget` sequential trials of `sampler` on `objective` (maximised). */
function bestOf(sampler: Sampler, objective: (p: SampledParams) => number, budget: number, seed: number): number {
  const trials: FrozenTrial[] = [];
  for (let n = 1; n <= budget; n++) {
    const params = sampler.sample({ number: n, trials, direction: 'maximize', random: trialRandom(seed, n) });
    trials.push({ number: n, state: 'complete', params, score: objective(params), progress: 0 });
  }
  return Math.max(...trials.map((t) => t.score!));
}

function tpeAgainstRandom(space: SearchSpace, objective: (p: SampledParams) => number, budget: number) {
  const seeds = Array.from({ length: 9 }, (_, i) => i + 1);
  const tpe = seeds.map((seed) => bestOf(tpeSampler(space), objective, budget, seed));
  const random = seeds.map((seed) => bestOf(randomSampler(space), objective, budget, seed));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { tpe: median(tpe), random: median(random), wins: tpe.filter((v, i) => v > random[i]!).length };
}

test('TPE beats random at the same budget on a 1-D objective (log learning rate), over 9 seeds', () => {
  const space = spaceOf({ learningRate: { float: [1e-5, 1], log: true } });
  const objective = (p: SampledParams) => -((Math.log10(p.learningRate as number) + 2.7) ** 2);
  const { tpe, random, wins } = tpeAgainstRandom(space, objective, 30);
  assert.ok(tpe > random, `median best: tpe ${tpe}, random ${random}`);
  assert.ok(wins >= 6, `tpe won ${wins} of 9`);
});

test('TPE beats random at the same budget on a 2-D objective (log float × log int), over 9 seeds', () => {
  const space = spaceOf({ learningRate: { float: [1e-4, 1e-1], log: true }, width: { int: [8, 256], log: true } });
  const objective = (p: SampledParams) =>
    -((Math.log10(p.learningRate as number) + 2.3) ** 2) - 0.5 * (Math.log2(p.width as number) - 5.2) ** 2;
  const { tpe, random, wins } = tpeAgainstRandom(space, objective, 40);
  assert.ok(tpe > random, `median best: tpe ${tpe}, random ${random}`);
  assert.ok(wins >= 6, `tpe won ${wins} of 9`);
});

test('constant liar: trials sampled while others run spread out instead of piling onto the same spot', () => {
  const space = spaceOf({ learningRate: { float: [1e-4, 1e-1], log: true } });
  const objective = (p: SampledParams) => -((Math.log10(p.learningRate as number) + 2.3) ** 2);
  const nearDuplicates = (constantLiar: boolean) => {
    let count = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const sampler = tpeSampler(space, { constantLiar });
      const trials: FrozenTrial[] = [];
      for (let n = 1; n <= 15; n++) {
        const params = sampler.sample({ number: n, trials, direction: 'maximize', random: trialRandom(seed, n) });
        trials.push({ number: n, state: 'complete', params, score: objective(params), progress: 0 });
      }
      // Eight trials in flight at once: each sampled seeing the earlier ones as running.
      const batch: FrozenTrial[] = [];
      for (let n = 16; n < 24; n++) {
        const params = sampler.sample({ number: n, trials: [...trials, ...batch], direction: 'maximize', random: trialRandom(seed, n) });
        batch.push({ number: n, state: 'running', params, score: null, progress: 0 });
      }
      const xs = batch.map((t) => Math.log10(t.params.learningRate as number)).sort((a, b) => a - b);
      count += xs.slice(1).filter((x, i) => x - xs[i]! < 0.02).length;
    }
    return count;
  };
  const withLiar = nearDuplicates(true);
  const without = nearDuplicates(false);
  assert.ok(withLiar * 4 < without, `near-duplicate pairs: ${withLiar} with the liar, ${without} without`);
});

test('TPE split: the best γ(n) complete trials, topped up by the pruned ones that got furthest; running ones always in the rest', () => {
  assert.deepEqual([1, 10, 11, 100, 300].map(goodGroupSize), [1, 1, 2, 10, 25]);
  const t = (number: number, state: FrozenTrial['state'], score: number | null, progress = 0): FrozenTrial => ({
    number,
    state,
    params: {},
    score,
    progress,
  });
  const trials = [t(1, 'complete', 0.5), t(2, 'pruned', 0.9, 3), t(3, 'complete', 0.7), t(4, 'pruned', 0.6, 9), t(5, 'running', null)];
  const { good, rest } = splitTrials(trials, 3, 'maximize');
  assert.deepEqual(
    good.map((x) => x.number),
    [1, 3, 4],
  );
  assert.deepEqual(
    rest.map((x) => x.number),
    [2, 5],
  );
  assert.deepEqual(
    splitTrials(trials, 1, 'minimize').good.map((x) => x.number),
    [1],
  );
});

test('Parzen weights: flat under 25 observations, older ones ramp down from 1/n beyond', () => {
  assert.deepEqual(observationWeights(3), [1, 1, 1]);
  const w = observationWeights(30);
  assert.equal(w.length, 30);
  assert.ok(Math.abs(w[0]! - 1 / 30) < 1e-12 && w[4] === 1 && w.slice(5).every((x) => x === 1));
});

test('normal distribution: CDF and quantile invert each other; truncated draws stay in bounds, also in a far tail', () => {
  for (const p of [1e-12, 0.001, 0.2, 0.5, 0.9, 0.999999]) assert.ok(Math.abs(normalCdf(normalQuantile(p)) / p - 1) < 1e-9);
  assert.ok(Math.abs(normalCdf(-3) - 0.0013498980316301) < 1e-15);
  const random = trialRandom(1, 1);
  for (let i = 0; i < 200; i++) {
    const z = sampleTruncatedNormal(6, 6.5, random);
    assert.ok(z >= 6 && z <= 6.5);
  }
});

test('sampleDimension: a one-step int range gives both ends', () => {
  const seen = new Set<unknown>();
  const random = trialRandom(2, 2);
  for (let i = 0; i < 50; i++) seen.add(sampleDimension({ kind: 'int', name: 'depth', low: 1, high: 2, log: false, step: 1 }, random));
  assert.deepEqual([...seen].sort(), [1, 2]);
});
