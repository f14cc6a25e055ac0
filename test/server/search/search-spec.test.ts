import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSpec, SpecError } from '../../../worker/contract/spec.js';
import { parseDuration } from '../../../worker/contract/search-spec.js';
import { searchSpaceOf } from '../../../server/search/space.js';
import { searchedParamNames } from '../../../server/search/grid.js';

const BASE = 'name: s\ndataset: { kind: fraud, rows: 200 }\n';
const TPE = `${BASE}search: { strategy: tpe, trials: 20 }\n`;

function issuesOf(text: string): string[] {
  try {
    parseSpec(text);
  } catch (error) {
    assert.ok(error instanceof SpecError);
    return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
  }
  assert.fail('spec was accepted');
}

test('search spec: the example of the README parses; the grid stays the default', () => {
  const spec = parseSpec(`${TPE}space:
  learningRate: { float: [1.0e-4, 1.0e-1], log: true }
  l2: { float: [1.0e-6, 1.0e-2], log: true }
  width: { int: [8, 128], log: true }
  depth: { int: [1, 3] }
  activation: { choice: [relu, tanh] }
  batchSize: [64, 128, 256]
`);
  const space = searchSpaceOf(spec);
  assert.deepEqual(
    space.dimensions.map((d) => `${d.name}:${d.kind}`),
    ['depth:int', 'width:int', 'activation:categorical', 'learningRate:float', 'l2:float', 'batchSize:categorical'],
  );
  assert.deepEqual(searchedParamNames(spec), ['activation', 'batchSize', 'depth', 'l2', 'learningRate', 'width']);
  const grid = parseSpec(`${BASE}grid: { width: [8, 16] }\n`);
  assert.equal(grid.search, undefined, 'nothing is written into a spec without search (its hash is unchanged)');
});

test('search spec: durations', () => {
  assert.equal(parseDuration('20m'), 1_200_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration(45), 45_000);
  assert.equal(parseDuration('soon'), null);
  assert.equal(parseDuration('0s'), null);
});

const BAD: [string, string, RegExp][] = [
  [
    'inverted range',
    `${TPE}space: { learningRate: { float: [0.1, 0.001] } }`,
    /^space\.learningRate\.float: expected low < high, got \[0\.1, 0\.001\]/,
  ],
  [
    'empty range',
    `${TPE}space: { depth: { int: [2, 2] } }`,
    /^space\.depth\.int: expected low < high, got \[2, 2\] \(a single value belongs in model\)/,
  ],
  [
    'log with a bound ≤ 0',
    `${TPE}space: { l2: { float: [0, 0.01], log: true } }`,
    /^space\.l2\.float\[0\]: a log range needs bounds above 0, got 0/,
  ],
  ['int bounds not integers', `${TPE}space: { width: { int: [8, 12.5] } }`, /^space\.width\.int\[1\]: expected a whole number, got 12\.5/],
  [
    'choice of mixed types',
    `${TPE}space: { batchSize: [64, "big"] }`,
    /^space\.batchSize: expected values of one type, got number and string/,
  ],
  [
    'choice value the hyperparameter refuses',
    `${TPE}space: { activation: { choice: [relu, swish] } }`,
    /^space\.activation\.choice\[1\]: /,
  ],
  ['empty choice', `${TPE}space: { activation: { choice: [] } }`, /^space\.activation\.choice: expected at least one value/],
  [
    'float range on an int hyperparameter',
    `${TPE}space: { width: { float: [8, 64] } }`,
    /^space\.width\.float: this hyperparameter is a whole number/,
  ],
  [
    'log and step together',
    `${TPE}space: { width: { int: [8, 128], log: true, step: 8 } }`,
    /^space\.width\.step: a range is either log or stepped/,
  ],
  [
    'step that does not divide the range',
    `${TPE}space: { width: { int: [8, 100], step: 8 } }`,
    /^space\.width\.step: high − low \(92\) must be a multiple of step 8/,
  ],
  ['bound outside what the hyperparameter allows', `${TPE}space: { dropout: { float: [0, 1] } }`, /^space\.dropout\.float\[1\]: /],
  [
    'trials < 1',
    `${BASE}search: { strategy: tpe, trials: 0 }\nspace: { depth: [1, 2] }`,
    /^search\.trials: expected a whole number of trials, at least 1/,
  ],
  [
    'no trials',
    `${BASE}search: { strategy: random }\nspace: { depth: [1, 2] }`,
    /^search\.trials: expected the number of trials strategy random samples/,
  ],
  ['unknown strategy', `${BASE}search: { strategy: bayes, trials: 5 }`, /^search\.strategy: expected one of grid, random, tpe/],
  [
    'time budget that does not parse',
    `${TPE}search: { strategy: tpe, trials: 5, timeBudget: 20 minutes }\nspace: { depth: [1, 2] }`.replace(`${TPE}`, BASE),
    /^search\.timeBudget: expected a duration such as 90s, 20m or 1h30m/,
  ],
  [
    'tpe with grid axes',
    `${TPE}space: { depth: [1, 2] }\ngrid: { width: [8, 16] }`,
    /^grid\.width: strategy tpe samples from space, not grid/,
  ],
  ['tpe without a space', TPE, /^space: strategy tpe samples from space: expected at least one hyperparameter/],
  ['in model and space', `${TPE}model: { depth: 2 }\nspace: { depth: [1, 2] }`, /^space\.depth: "depth" is set in both model and space/],
  [
    'a hyperparameter no family reads',
    `${TPE}space: { factors: { int: [4, 32] } }`,
    /^space\.factors: no family this spec trains \(mlp\) reads factors/,
  ],
  ['space with the grid strategy', `${BASE}space: { depth: [1, 2] }`, /^space: space is read by strategy random or tpe/],
  ['trials with the grid strategy', `${BASE}search: { trials: 5 }`, /^search\.trials: only for strategy random or tpe/],
  ['unknown hyperparameter', `${TPE}space: { depht: [1, 2] }`, /^space: unknown key "depht"/],
  ['unknown key of an entry', `${TPE}space: { depth: { int: [1, 3], lg: true } }`, /^space\.depth: unknown key "lg"/],
];

for (const [name, spec, expected] of BAD) {
  test(`search spec, bad input: ${name}`, () => {
    const issues = issuesOf(spec);
    assert.ok(
      issues.some((issue) => expected.test(issue)),
      issues.join('\n'),
    );
  });
}

test('experiments/tpe.yaml is a valid tpe spec', () => {
  const spec = parseSpec(readFileSync(new URL('../../../experiments/tpe.yaml', import.meta.url), 'utf8'));
  assert.equal(spec.search?.strategy, 'tpe');
  assert.equal(searchSpaceOf(spec).dimensions.length, 6);
});
