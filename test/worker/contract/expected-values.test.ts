import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { paramFields, parseSpec, SpecError } from '../../../worker/contract/spec.js';
import { describeExpected, showValue } from '../../../worker/contract/expected-values.js';

function issuesOf(text: string): string[] {
  try {
    parseSpec(`name: x\ndataset: { kind: iris }\n${text}\n`);
  } catch (error) {
    assert.ok(error instanceof SpecError, String(error));
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  assert.fail('the spec was accepted');
}

test('a wrong-typed grid value names its entry, what the hyperparameter accepts and what it got', () => {
  assert.deepEqual(issuesOf('grid: { depth: [1, two] }'), ['grid.depth[1]: expected an integer from 0 to 16, got "two"']);
  assert.deepEqual(issuesOf('grid: { depth: two }'), ['grid.depth: expected an integer from 0 to 16, got "two"']);
  assert.deepEqual(issuesOf('grid: { depth: [1, 2.5, 20] }'), [
    'grid.depth[1]: expected an integer from 0 to 16, got 2.5',
    'grid.depth[2]: expected an integer from 0 to 16, got 20',
  ]);
  assert.deepEqual(issuesOf('grid: { width: [0], activation: [relu, swish] }'), [
    'grid.width[0]: expected an integer from 1 to 4096, got 0',
    'grid.activation[1]: expected one of relu, tanh, elu, selu, sigmoid, linear, got "swish"',
  ]);
  assert.deepEqual(issuesOf('grid: { useDotTerm: [yes] }'), ['grid.useDotTerm[0]: expected true or false, got "yes"']);
  assert.deepEqual(issuesOf('grid: { dropout: [0.5, 1] }'), ['grid.dropout[1]: expected a number at least 0 and below 1, got 1']);
  assert.deepEqual(issuesOf('grid: { batchSize: [{ a: 1 }] }'), [
    'grid.batchSize[0]: expected an integer from 1 to 1000000, got a mapping',
  ]);
  assert.match(
    issuesOf('grid: { classWeight: [none, 3] }')[0]!,
    /^grid\.classWeight\[1\]: expected one of none, balanced or a mapping of names to numbers above 0/,
  );
});

test('NaN and infinities in YAML (.nan, .inf) and JSON (1e999) are named, not "Invalid input"', () => {
  assert.deepEqual(issuesOf('grid: { learningRate: [.nan] }'), ['grid.learningRate[0]: expected a number above 0 and at most 10, got NaN']);
  assert.deepEqual(issuesOf('grid: { learningRate: [0.1, .inf, -.inf] }'), [
    'grid.learningRate[1]: expected a number above 0 and at most 10, got Infinity',
    'grid.learningRate[2]: expected a number above 0 and at most 10, got -Infinity',
  ]);
  assert.deepEqual(issuesOf('model: { l2: .nan }'), ['model.l2: expected a number at least 0, got NaN']);
  const json = JSON.stringify({ name: 'j', dataset: { kind: 'iris' } }).replace(/}$/, ', "grid": { "epochs": [1e999] } }');
  assert.throws(() => parseSpec(json), { message: 'grid.epochs[0]: expected an integer from 1 to 10000, got Infinity' });
});

test('fixed model values and space entries say the same; an empty list and other checks keep their words', () => {
  assert.deepEqual(issuesOf('model: { depth: two }'), ['model.depth: expected an integer from 0 to 16, got "two"']);
  assert.deepEqual(issuesOf('search: { strategy: random, trials: 4 }\nspace: { depth: { int: [0, 20] } }'), [
    'space.depth.int[1]: expected an integer from 0 to 16, got 20',
  ]);
  assert.deepEqual(issuesOf('grid: { depth: [] }'), ['grid.depth: a grid list needs at least one value']);
  assert.deepEqual(issuesOf('model: { depth: 1 }\ngrid: { depth: [1, 2] }'), [
    'grid.depth: "depth" is set in both model and grid; keep it in one place',
  ]);
  assert.match(issuesOf('grid: { deep: [1] }')[0]!, /^grid: unknown key "deep"/);
});

test('describeExpected reads the bounds off the schema; showValue names what it got', () => {
  assert.equal(describeExpected(paramFields.learningRate), 'a number above 0 and at most 10');
  assert.equal(describeExpected(z.number().int().gt(0).lt(5)), 'an integer from 1 to 4');
  assert.equal(describeExpected(z.number()), 'a number');
  assert.equal(describeExpected(z.number().min(1).max(2)), 'a number from 1 to 2');
  assert.deepEqual([NaN, -Infinity, 'x', null, [1], true].map(showValue), ['NaN', '-Infinity', '"x"', 'nothing', 'a list', 'true']);
});
