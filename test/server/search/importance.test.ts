import { test } from 'node:test';
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import { pedAnova, type ImportanceDimension, type ScoredTrial } from '../../../server/search/importance.js';

const DIMENSIONS: ImportanceDimension[] = [
  { name: 'learningRate', kind: 'float', low: 1e-4, high: 1e-1, log: true, step: null },
  { name: 'dropout', kind: 'float', low: 0, high: 0.5, log: false, step: null },
  { name: 'width', kind: 'int', low: 8, high: 128, log: true, step: 1 },
  { name: 'activation', kind: 'categorical', choices: ['relu', 'tanh'] },
];

/** Random trials of an objective that only the learning rate moves (best near 1e-2); the rest is noise the score ignores. */
function trials(seed: string, n: number, score: (values: Record<string, number | string>) => number): ScoredTrial[] {
  const random = seedrandom(seed);
  return Array.from({ length: n }, () => {
    const values = {
      learningRate: 10 ** (-4 + 3 * random()),
      dropout: 0.5 * random(),
      width: Math.round(Math.exp(Math.log(8) + (Math.log(128) - Math.log(8)) * random())),
      activation: random() < 0.5 ? 'relu' : 'tanh',
    };
    return { values, score: score(values) };
  });
}

const byLearningRate = (v: Record<string, number | string>) => 0.9 - 0.05 * (Math.log10(v.learningRate as number) + 2) ** 2;

test('PED-ANOVA: the one hyperparameter the objective depends on takes most of the importance, over several seeds', () => {
  for (const seed of ['a', 'b', 'c', 'd']) {
    const result = pedAnova(DIMENSIONS, trials(seed, 60, byLearningRate), 'maximize')!;
    const share = Object.fromEntries(result.values.map((v) => [v.name, v.importance]));
    assert.equal(result.values[0]!.name, 'learningRate', `seed ${seed}: ${JSON.stringify(share)}`);
    assert.ok(share.learningRate! > 0.8, `seed ${seed}: learning rate ${share.learningRate}`);
    for (const name of ['dropout', 'width', 'activation']) assert.ok(share[name]! < 0.1, `seed ${seed}: ${name} ${share[name]}`);
    assert.ok(Math.abs(result.values.reduce((sum, v) => sum + v.importance, 0) - 1) < 1e-9, 'shares sum to 1');
    assert.equal(result.trials, 60);
    assert.equal(result.top, 7, 'the best 10% (numpy\'s "higher" quantile: 7 of 60)');
  }
});

test('PED-ANOVA: direction matters; a categorical that decides the score is found; the same trials give the same bars', () => {
  // Ties: every tanh trial is at the baseline, so all of them are top trials.
  const byActivation = (v: Record<string, number | string>) => (v.activation === 'tanh' ? 0.2 : 0.8);
  const set = trials('e', 100, byActivation);
  const minimised = pedAnova(DIMENSIONS, set, 'minimize')!;
  assert.equal(minimised.values[0]!.name, 'activation');
  assert.ok(minimised.values[0]!.importance > 0.5, JSON.stringify(minimised.values));
  assert.deepEqual(pedAnova(DIMENSIONS, set, 'minimize'), minimised);
  // Maximising the learning-rate objective or minimising it asks about different trials.
  const lr = trials('f', 40, byLearningRate);
  assert.notDeepEqual(pedAnova(DIMENSIONS, lr, 'maximize'), pedAnova(DIMENSIONS, lr, 'minimize'));
});

test('PED-ANOVA: too few trials give nothing; a single-valued dimension gets 0; a missing (conditional) value is skipped', () => {
  assert.equal(pedAnova(DIMENSIONS, trials('g', 2, byLearningRate), 'maximize'), null);
  const fixed: ImportanceDimension = { name: 'depth', kind: 'int', low: 2, high: 2, log: false, step: 1 };
  const set = trials('h', 30, byLearningRate).map((t, i) => ({ ...t, values: i % 2 ? t.values : { ...t.values, width: undefined } }));
  const result = pedAnova([...DIMENSIONS, fixed], set, 'maximize')!;
  assert.equal(result.values.find((v) => v.name === 'depth')!.importance, 0);
  assert.ok(result.values.every((v) => Number.isFinite(v.importance)));
});
