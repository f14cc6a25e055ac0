import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SideTable } from '../../../worker/data/table.js';
import { encodeSide, encodeSideCells, fitSideEncoder, sideTableFromJson, sideTableToJson } from '../../../worker/recsys/side-features.js';
import { embeddingIndex, prepareRatingsData } from '../../../worker/recsys/prepare.js';
import { ratingsTable } from '../../../worker/recsys/ratings-table.js';
import { UNKNOWN_INDEX } from '../../../worker/recsys/models.js';
import { DEFAULT_PARAMS, storedParamsSchema, validateSpec } from '../../../worker/contract/spec.js';
import { PARAMS_OF_FAMILY } from '../../../worker/contract/vocabulary.js';
import { parseToWorker } from '../../../worker/contract/protocol.js';
import { expandGrid, canonicalParamsJson } from '../../../server/search/grid.js';

/** 4 users, 3 items; user 3 ("d") and item 2 ("z") only occur in the held-out rows. */
function tinyTable() {
  const users: SideTable = {
    ids: ['a', 'b', 'c', 'd'],
    columns: [
      { name: 'age', kind: 'numeric', values: Float64Array.from([20, 40, Number.NaN, 90]) },
      { name: 'job', kind: 'categorical', values: ['x', 'y', 'x', 'only-held-out'] },
    ],
  };
  const items: SideTable = { ids: ['x', 'y', 'z'], columns: [{ name: 'genres', kind: 'multi', values: [['A'], ['A', 'B'], ['C']] }] };
  //            rows: 0    1    2    3    4    5
  const userIndex = [0, 0, 1, 2, 3, 0];
  const itemIndex = [0, 1, 1, 0, 0, 2];
  const y = Float32Array.from([1, 2, 3, 4, 5, 5]);
  return ratingsTable(
    y,
    { userIndex: Int32Array.from(userIndex), itemIndex: Int32Array.from(itemIndex), users, items, userColumn: 'user', itemColumn: 'item' },
    'tiny',
  );
}

const TRAIN = Int32Array.from([0, 1, 2, 3]);
const HELD = Int32Array.from([4, 5]);

test('side encoders are fitted on the training rows only: row-weighted statistics, categories seen in training', () => {
  const table = tinyTable();
  const data = prepareRatingsData(table, table.ratings!, 'ncf', TRAIN, HELD);
  const saved = data.ratings.saved();
  const [age, job] = saved.users.encoder.columns;
  // Training rows' users: a, a, b, c (c's age missing) → ages 20, 20, 40: mean 80/3.
  assert.ok(age !== undefined && age.kind === 'numeric');
  assert.ok(Math.abs(age.mean - 80 / 3) < 1e-9, `mean over training rows, got ${age.mean}`);
  const variance = (2 * (20 - 80 / 3) ** 2 + (40 - 80 / 3) ** 2) / 3;
  assert.ok(Math.abs(age.std - Math.sqrt(variance)) < 1e-9);
  assert.deepEqual(
    job,
    { name: 'job', kind: 'categorical', categories: ['x', 'y'] },
    'a category only the held-out rows have is not in the encoder',
  );
  assert.deepEqual(saved.items.encoder.columns, [{ name: 'genres', kind: 'multi', categories: ['A', 'B'] }]);
  assert.deepEqual(data.encoding.featureNames, ['user.age', 'user.job=x', 'user.job=y', 'item.genres=A', 'item.genres=B']);

  // Held-out row 4 is user d (age 90, unseen job) with item x; row 5 is user a with item z (unseen genre C).
  const features = data.held.inputs.find((input) => input.width === 5)!.values;
  assert.deepEqual(
    Array.from(features.subarray(0, 5)).map((v) => Number(v.toFixed(4))),
    [Number(((90 - 80 / 3) / Math.sqrt(variance)).toFixed(4)), 0, 0, 1, 0],
  );
  assert.deepEqual(
    Array.from(features.subarray(5, 10)).map((v) => Number(v.toFixed(4))),
    [Number(((20 - 80 / 3) / Math.sqrt(variance)).toFixed(4)), 1, 0, 0, 0],
  );
  // A missing number encodes as the training mean: 0 (training row 3 is user c).
  assert.equal(data.train.inputs[2]!.values[3 * 5], 0);
});

test('ids: users and items without training rows get the unknown index, and their held-out rows are counted as cold', () => {
  const table = tinyTable();
  const data = prepareRatingsData(table, table.ratings!, 'mf', TRAIN, HELD);
  assert.equal(data.train.inputs.length, 2, 'mf takes user and item only');
  assert.deepEqual(Array.from(data.train.inputs[0]!.values), [1, 1, 2, 3]);
  assert.deepEqual(Array.from(data.held.inputs[0]!.values), [UNKNOWN_INDEX, 1], 'user d has no training rating');
  assert.deepEqual(Array.from(data.held.inputs[1]!.values), [1, UNKNOWN_INDEX], 'item z has no training rating');
  assert.deepEqual({ userRows: data.ratings.shape.userRows, itemRows: data.ratings.shape.itemRows }, { userRows: 4, itemRows: 3 });
  assert.equal(data.ratings.shape.globalMean, 2.5, 'μ is the training mean');
  const extra = data.ratings.heldMetrics(Float32Array.from([5, 4]));
  assert.equal(extra.cold_rows, 2);
  assert.ok(Math.abs(extra.cold_rmse! - Math.sqrt(0.5)) < 1e-9);
  assert.ok(Math.abs(extra.baseline_rmse! - 2.5) < 1e-9, 'RMSE of predicting μ = 2.5 for ratings 5, 5');
  const saved = data.ratings.saved();
  assert.deepEqual(saved.users.embedded, ['a', 'b', 'c']);
  assert.deepEqual(saved.items.embedded, ['x', 'y']);
  assert.deepEqual(saved.inputs, ['user', 'item']);
  assert.deepEqual(Array.from(embeddingIndex(Float64Array.from([0, 3, 0, 1])).indexOf), [0, 1, 0, 2]);
});

test('features input per family: mlp takes the side features only, ncf ids and features', () => {
  const table = tinyTable();
  assert.deepEqual(
    prepareRatingsData(table, table.ratings!, 'mlp', TRAIN, HELD).train.inputs.map((input) => input.width),
    [5],
  );
  assert.deepEqual(
    prepareRatingsData(table, table.ratings!, 'ncf', TRAIN, HELD).train.inputs.map((input) => input.width),
    [1, 1, 5],
  );
});

test('encodeSideCells: raw CSV cells encode like the table (multi-labels split on |, unknown → zeros), bad numbers are named', () => {
  const table = tinyTable();
  const items = table.ratings!.items;
  const encoder = fitSideEncoder(items, Float64Array.from([1, 1, 0]), 'item');
  assert.deepEqual(Array.from(encodeSideCells(encoder, () => 'B|A|Q', 'row 2')), [1, 1]);
  assert.deepEqual(Array.from(encodeSideCells(encoder, () => undefined, 'row 2')), [0, 0]);
  assert.deepEqual(Array.from(encodeSide(encoder, items)), [1, 0, 1, 1, 0, 0]);
  const users = fitSideEncoder(table.ratings!.users, Float64Array.from([1, 1, 0, 0]), 'user');
  assert.throws(
    () => encodeSideCells(users, (c) => (c === 'age' ? 'old' : 'x'), 'input.csv, row 3'),
    /input\.csv, row 3, column "age": non-numeric value "old"/,
  );
  // JSON round trip of a side table (NaN ↔ null).
  const roundTrip = sideTableFromJson(JSON.parse(JSON.stringify(sideTableToJson(table.ratings!.users))));
  assert.deepEqual(Array.from(encodeSide(users, roundTrip)), Array.from(encodeSide(users, table.ratings!.users)));
});

test('grid: family is an axis; settings a family ignores collapse, so each distinct model runs once', () => {
  const spec = validateSpec({
    name: 'g',
    dataset: { kind: 'ratings' },
    model: { width: 32 },
    grid: { family: ['mf', 'ncf', 'mlp'], factors: [8, 32], depth: [1, 2], useDotTerm: [false, true] },
  });
  const settings = expandGrid(spec);
  const count = (family: string) => settings.filter((s) => s.family === family).length;
  assert.equal(count('mf'), 2, 'mf: factors only');
  assert.equal(count('ncf'), 8, 'ncf: factors × depth × useDotTerm');
  assert.equal(count('mlp'), 2, 'mlp: depth only');
  assert.equal(new Set(settings.map(canonicalParamsJson)).size, settings.length);
  for (const s of settings.filter((s) => s.family === 'mf'))
    assert.deepEqual([s.depth, s.width, s.useDotTerm], [DEFAULT_PARAMS.depth, 32, false], 'recorded at the fixed or default value');
  for (const s of settings.filter((s) => s.family === 'mlp')) assert.equal(s.factors, DEFAULT_PARAMS.factors);
  // Every run still records every hyperparameter.
  for (const s of settings) assert.deepEqual(Object.keys(s).sort(), Object.keys(DEFAULT_PARAMS).sort());
  assert.ok(PARAMS_OF_FAMILY.mlp.every((name) => name !== 'factors' && name !== 'useDotTerm'));
  // An mlp-only grid is unchanged by the new keys.
  assert.equal(expandGrid(validateSpec({ name: 'g', dataset: { kind: 'sine' }, grid: { depth: [1, 2], width: [8, 16] } })).length, 4);
});

test('params recorded before factors/useDotTerm existed still parse, with the defaults', () => {
  const { factors: _f, useDotTerm: _u, ...old } = DEFAULT_PARAMS;
  assert.deepEqual(storedParamsSchema.parse(old), DEFAULT_PARAMS);
  const spec = validateSpec({ name: 'x', dataset: { kind: 'sine' } });
  const message = parseToWorker({
    type: 'task',
    task: { taskId: '1:0:1', runId: 1, foldIndex: 0, attempt: 1, kind: 'search', spec, taskKind: 'regression', params: old },
  });
  assert.equal(message.type === 'task' && message.task.params.factors, DEFAULT_PARAMS.factors);
  assert.throws(() => storedParamsSchema.parse({ ...old, depth: undefined }), /depth/);
});
