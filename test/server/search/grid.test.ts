import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateSpec } from '../../../worker/contract/spec.js';
import { canonicalParamsJson, expandGrid, gridSize, searchedParamNames } from '../../../server/search/grid.js';

const base = { name: 'g', dataset: { kind: 'sine' } };

test('expandGrid: cartesian product of every axis over the defaults and fixed model values', () => {
  const spec = validateSpec({ ...base, model: { learningRate: 0.01 }, grid: { depth: [1, 2, 3], width: [32, 64], epochs: 5 } });
  const settings = expandGrid(spec);
  assert.equal(settings.length, 6);
  assert.equal(gridSize(spec), 6);
  assert.deepEqual(new Set(settings.map((s) => `${s.depth}x${s.width}`)), new Set(['1x32', '1x64', '2x32', '2x64', '3x32', '3x64']));
  for (const s of settings) {
    assert.equal(s.learningRate, 0.01);
    assert.equal(s.epochs, 5);
    assert.equal(s.batchSize, 128, 'defaults fill what the spec leaves out');
  }
});

test('expandGrid: repeated values are dropped, so no setting appears twice', () => {
  const spec = validateSpec({ ...base, grid: { depth: [2, 2, 1], width: [8, 8] } });
  const settings = expandGrid(spec);
  assert.equal(settings.length, 2);
  assert.equal(new Set(settings.map(canonicalParamsJson)).size, 2);
});

test('expandGrid: no grid gives one run of the fixed configuration', () => {
  const settings = expandGrid(validateSpec({ ...base, model: { depth: 1 } }));
  assert.equal(settings.length, 1);
  assert.equal(settings[0]!.depth, 1);
});

test('canonicalParamsJson: key order does not matter', () => {
  const [a] = expandGrid(validateSpec({ ...base, grid: { width: 8, depth: 1 } }));
  const reordered = Object.fromEntries(Object.entries(a!).reverse()) as typeof a;
  assert.equal(canonicalParamsJson(a!), canonicalParamsJson(reordered!));
  assert.match(canonicalParamsJson(a!), /^\{"activation":/);
});

test('searchedParamNames: only axes with more than one value', () => {
  assert.deepEqual(searchedParamNames(validateSpec({ ...base, grid: { width: [8, 16], depth: 1 } })), ['width']);
});
