import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_PARAMS,
  familiesOf,
  foldCountOf,
  foldsLabel,
  paramFields,
  parseSpec,
  repeatsOf,
  selectionFor,
  SpecError,
} from '../../../worker/contract/spec.js';
import { PARAM_NAMES } from '../../../worker/contract/vocabulary.js';

function issuesOf(text: string): { path: string; message: string }[] {
  try {
    parseSpec(text);
  } catch (error) {
    assert.ok(error instanceof SpecError, `expected SpecError, got ${String(error)}`);
    return [...error.issues];
  }
  assert.fail('spec was accepted');
}

const valid = `
name: ok
dataset: { kind: fraud, rows: 1000 }
grid: { depth: [1, 2], width: 32 }
validation: { kind: kfold, k: 3 }
`;

test('parseSpec: a valid spec fills in the defaults', () => {
  const spec = parseSpec(valid);
  assert.equal(spec.seed, 42);
  assert.equal(spec.testSplit.fraction, 0.2);
  assert.equal(spec.dataset.kind, 'fraud');
  assert.equal(spec.validation.kind, 'kfold');
});

test('parseSpec: JSON is accepted too', () => {
  assert.equal(parseSpec(JSON.stringify({ name: 'j', dataset: { kind: 'iris' } })).name, 'j');
});

test('parseSpec: malformed YAML names the line', () => {
  const [issue] = issuesOf('name: x\ndataset: [unclosed\n');
  assert.match(issue!.path, /line \d+/);
  assert.match(issue!.message, /malformed YAML/);
});

test('parseSpec: unknown key is named with its path', () => {
  const issues = issuesOf(valid.replace('grid:', 'gird: { depth: 1 }\ngrid:'));
  assert.deepEqual(
    issues.map((i) => i.path),
    [''],
  );
  assert.match(issues[0]!.message, /unknown key "gird"/);
  const nested = issuesOf(valid.replace('width: 32', 'widht: 32'));
  assert.equal(nested[0]!.path, 'grid');
  assert.match(nested[0]!.message, /"widht"/);
});

test('parseSpec: wrong type names the field and what was expected', () => {
  const [issue] = issuesOf(valid.replace('k: 3', 'k: three'));
  assert.equal(issue!.path, 'validation.k');
  assert.match(issue!.message, /expected number/);
});

test('parseSpec: an empty grid list is refused', () => {
  const [issue] = issuesOf(valid.replace('[1, 2]', '[]'));
  assert.equal(issue!.path, 'grid.depth');
  assert.match(issue!.message, /at least one value/);
});

test('parseSpec: out-of-range values are refused', () => {
  assert.equal(issuesOf(valid.replace('width: 32', 'width: 0'))[0]!.path, 'grid.width');
  assert.equal(issuesOf(valid.replace('k: 3', 'k: 1'))[0]!.path, 'validation.k');
  assert.equal(issuesOf(valid.replace('[1, 2]', '[1, -2]'))[0]!.path, 'grid.depth[1]');
});

test('parseSpec: unknown dataset kind and missing required fields', () => {
  assert.equal(issuesOf(valid.replace('kind: fraud', 'kind: mnist'))[0]!.path, 'dataset.kind');
  assert.equal(issuesOf('dataset: { kind: iris }')[0]!.path, 'name');
  assert.equal(issuesOf('name: x\ndataset: { kind: csv, path: a.csv }')[0]!.path, 'dataset.target');
});

test('parseSpec: a hyperparameter in both model and grid is refused', () => {
  const [issue] = issuesOf(valid.replace('grid:', 'model: { depth: 1 }\ngrid:'));
  assert.equal(issue!.path, 'grid.depth');
});

test('parseSpec: selection metric and early-stopping monitor must fit a declared task', () => {
  assert.equal(issuesOf(`${valid}task: regression\nselection: { metric: auc }\n`)[0]!.path, 'selection.metric');
  const monitor = issuesOf(valid.replace('k: 3', 'k: 3, earlyStopping: { monitor: loss }'));
  assert.equal(monitor[0]!.path, 'validation.earlyStopping.monitor');
});

test('parseSpec: a bad experiment name is refused (it becomes a folder name)', () => {
  assert.equal(issuesOf(valid.replace('name: ok', 'name: ../etc'))[0]!.path, 'name');
});

test('parseSpec: a scalar document is refused with a clear message', () => {
  assert.match(issuesOf('just text')[0]!.message, /expected a mapping/);
});

test('paramFields: one schema per vocabulary hyperparameter, in the vocabulary order', () => {
  assert.deepEqual(Object.keys(paramFields), [...PARAM_NAMES]);
  assert.deepEqual(Object.keys(DEFAULT_PARAMS), [...PARAM_NAMES]);
});

test('familiesOf: the fixed family, the searched ones, else the default', () => {
  assert.deepEqual(familiesOf(parseSpec(valid)), ['mlp']);
  const ratings = 'name: r\ndataset: { kind: ratings }\ntask: regression\n';
  assert.deepEqual(familiesOf(parseSpec(`${ratings}model: { family: ncf }\n`)), ['ncf']);
  assert.deepEqual(familiesOf(parseSpec(`${ratings}grid: { family: [mf, ncf, mf] }\n`)), ['mf', 'ncf']);
  assert.deepEqual(familiesOf(parseSpec(`${ratings}grid: { family: mf }\n`)), ['mf']);
});

test('selectionFor: the default metric by task, its direction from the vocabulary unless the spec names one', () => {
  assert.deepEqual(selectionFor(parseSpec(valid), 'binary'), { metric: 'auc', direction: 'maximize' });
  assert.deepEqual(selectionFor(parseSpec(valid), 'regression'), { metric: 'rmse', direction: 'minimize' });
  const named = parseSpec(`${valid}selection: { metric: accuracy, direction: minimize }\n`);
  assert.deepEqual(selectionFor(named, 'multiclass'), { metric: 'accuracy', direction: 'minimize' });
});

test('validation.repeats: k·n folds, said as "k folds × n repeats"; below 1, or on a holdout, refused naming the field', () => {
  const repeated = parseSpec(valid.replace('k: 3', 'k: 3, repeats: 4')).validation;
  assert.equal(repeatsOf(repeated), 4);
  assert.equal(foldCountOf(repeated), 12);
  assert.equal(foldsLabel(repeated), '3 folds × 4 repeats');
  const plain = parseSpec(valid).validation;
  assert.equal(foldCountOf(plain), 3);
  assert.equal(foldsLabel(plain), '3 folds');
  assert.equal('repeats' in plain, false, 'no default written: a spec without repeats keeps its hash');
  assert.equal(foldCountOf(parseSpec(valid.replace('kind: kfold, k: 3', 'kind: holdout')).validation), 1);
  for (const bad of ['0', '-1', '1.5', 'two']) {
    const [issue] = issuesOf(valid.replace('k: 3', `k: 3, repeats: ${bad}`));
    assert.equal(issue!.path, 'validation.repeats', bad);
  }
  assert.match(issuesOf(valid.replace('k: 3', 'k: 3, repeats: 0'))[0]!.message, /at least 1/);
  assert.match(issuesOf(valid.replace('kind: kfold, k: 3', 'kind: holdout, repeats: 2'))[0]!.message, /unknown key "repeats"/);
});
