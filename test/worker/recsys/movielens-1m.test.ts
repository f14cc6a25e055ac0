import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetSpec } from '../../../worker/contract/spec.js';
import { DEFAULT_PARAMS, validateSpec } from '../../../worker/contract/spec.js';
import { loadDataset } from '../../../worker/data/load.js';
import { DataError, type Table } from '../../../worker/data/table.js';
import { selectBackend } from '../../../worker/backend.js';
import { createRng } from '../../../worker/rng.js';
import { run, scratchDir } from '../../helpers/run-task.js';

const scratch = scratchDir('foldwise-ml1m-');

const USERS = ['1::F::1::10::48067', '2::M::56::16::70072', '3::M::25::15::55117', '4::M::45::7::02460', '5::M::25::20::V6K 1E5'];
const MOVIES = [
  "1::Toy Story (1995)::Animation|Children's|Comedy",
  "2::Jumanji (1995)::Adventure|Children's|Fantasy",
  '3::Caf\u00e9 Society, The (1996)::Drama',
];

const RATINGS = ['1::1::5::978300760', '1::3::3::978302109', '2::2::4::978301968', '3::1::1::978300275', '5::3::2::978824291'];

/** A small folder in the ml-1m layout (Latin-1, `::`-separated); `overrides` replace whole files. */
function writeMl1m(name: string, overrides: Partial<Record<'ratings.dat' | 'users.dat' | 'movies.dat', string | null>> = {}): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string | null> = {
    'users.dat': `${USERS.join('\n')}\n`,
    'movies.dat': `${MOVIES.join('\n')}\n`,
    'ratings.dat': `${RATINGS.join('\n')}\n`,
    ...overrides,
  };
  for (const [file, text] of Object.entries(files)) if (text !== null) writeFileSync(join(dir, file), Buffer.from(text, 'latin1'));
  return dir;
}

const movielens = (path: string, layout: 'auto' | 'ml-1m' = 'auto'): DatasetSpec => ({ kind: 'movielens', path, layout });

function values(table: Table, side: 'users' | 'items', name: string) {
  const found = table.ratings![side].columns.find((c) => c.name === name);
  assert.ok(found, `${side} have a column ${name}`);
  return found.values;
}

test('ml-1m: ratings.dat, users.dat, movies.dat read (Latin-1, "::"), detected by layout auto, with side features', async () => {
  const dir = writeMl1m('good');
  const table = await loadDataset(movielens(dir), 0);
  assert.equal(table.task, 'regression');
  assert.deepEqual(Array.from(table.y), [5, 3, 4, 1, 2]);
  const ratings = table.ratings!;
  assert.deepEqual([ratings.userColumn, ratings.itemColumn], ['userId', 'movieId']);
  assert.deepEqual(ratings.users.ids, ['1', '2', '3', '4', '5']);
  assert.deepEqual(Array.from(ratings.userIndex), [0, 0, 1, 2, 4]);
  assert.deepEqual(Array.from(ratings.itemIndex), [0, 2, 1, 0, 2]);
  assert.deepEqual(values(table, 'users', 'gender'), ['F', 'M', 'M', 'M', 'M']);
  assert.deepEqual(values(table, 'users', 'age_group'), ['1', '56', '25', '45', '25'], 'age is a group code, categorical');
  assert.deepEqual(values(table, 'users', 'occupation'), ['10', '16', '15', '7', '20']);
  assert.deepEqual(values(table, 'users', 'zip_region'), ['4', '7', '5', '0', ''], 'a zip that is not a US code is missing');
  assert.deepEqual(values(table, 'items', 'genres'), [
    ['Animation', "Children's", 'Comedy'],
    ['Adventure', "Children's", 'Fantasy'],
    ['Drama'],
  ]);
  assert.deepEqual(Array.from(values(table, 'items', 'year') as Float64Array), [1995, 1995, 1996]);
  assert.ok(table.encoding.featureNames.includes('user.age_group=56'), table.encoding.featureNames.join(' '));
  // The layout asked for by name gives the same table.
  assert.deepEqual(Array.from((await loadDataset(movielens(dir, 'ml-1m'), 0)).y), Array.from(table.y));
});

test('ml-1m: bad files are reported with the file, the line and the field', async () => {
  const cases: [Parameters<typeof writeMl1m>[1], RegExp][] = [
    [{ 'ratings.dat': '1::1::5::1\n1::2::five::2\n' }, /ratings\.dat, line 2, field 3 \(Rating\): non-numeric value "five"/],
    [{ 'ratings.dat': '1::1::5::1\n9::2::3::2\n' }, /ratings\.dat, line 2, field 1 \(UserID\): user "9" is not in users\.dat/],
    [{ 'ratings.dat': '1::7::5::1\n' }, /ratings\.dat, line 1, field 2 \(MovieID\): movie "7" is not in movies\.dat/],
    [
      { 'ratings.dat': '1,1,5,1\n' },
      /ratings\.dat, line 1: expected 4 fields separated by "::" \(UserID::MovieID::Rating::Timestamp\), got 1/,
    ],
    [
      { 'users.dat': `${USERS[0]}\n1::M::18::3::12345\n` },
      /users\.dat, line 2, field 1 \(UserID\): id "1" appears twice \(first on line 1\)/,
    ],
    [{ 'movies.dat': '1::Toy Story (1995)\n' }, /movies\.dat, line 1: expected 3 fields separated by "::"/],
    [{ 'movies.dat': null }, /lacks movies\.dat \(the ml-1m layout needs ratings\.dat, users\.dat, movies\.dat\)/],
  ];
  for (const [index, [overrides, pattern]] of cases.entries()) {
    await assert.rejects(loadDataset(movielens(writeMl1m(`bad-${index}`, overrides)), 0), (error: Error) => {
      assert.ok(error instanceof DataError, `${error.name}: ${error.message}`);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

test('ml-1m: a folder in that layout trains out of the box (ncf with side features)', async () => {
  // Enough ratings for a fold: 60 users × 8 of 40 movies, ratings from a user and a movie effect.
  const rng = createRng(5);
  const users = Array.from({ length: 60 }, (_, u) => `${u + 1}::${u % 2 ? 'M' : 'F'}::${[1, 18, 25, 35][u % 4]}::${u % 21}::${10000 + u}`);
  const movies = Array.from({ length: 40 }, (_, m) => `${m + 1}::Movie ${m} (${1980 + (m % 20)})::${m % 3 ? 'Drama' : 'Comedy|Drama'}`);
  const ratings: string[] = [];
  for (let u = 0; u < 60; u++)
    for (let k = 0; k < 8; k++) {
      const m = (u * 7 + k * 5) % 40;
      const rating = Math.min(5, Math.max(1, Math.round(3 + (u % 3) - 1 + (m % 2) + rng.normal() * 0.3)));
      ratings.push(`${u + 1}::${m + 1}::${rating}::${978300000 + k}`);
    }
  const dir = writeMl1m('trains', {
    'users.dat': `${users.join('\n')}\n`,
    'movies.dat': `${movies.join('\n')}\n`,
    'ratings.dat': `${ratings.join('\n')}\n`,
  });
  const spec = validateSpec({ name: 'ml1m', dataset: { kind: 'movielens', path: dir }, validation: { kind: 'holdout', fraction: 0.2 } });
  const { tf, backend } = await selectBackend();
  const { result, curve } = await run(tf, backend, {
    taskId: 'ml1m:0:1',
    runId: 1,
    foldIndex: 0,
    attempt: 1,
    kind: 'search',
    spec,
    taskKind: 'regression',
    params: { ...DEFAULT_PARAMS, family: 'ncf', depth: 1, width: 8, factors: 4, epochs: 3, batchSize: 64, learningRate: 0.01 },
  });
  assert.equal(curve.length, 3);
  const rmse = result.bestMetrics.val_rmse;
  assert.ok(typeof rmse === 'number' && Number.isFinite(rmse) && rmse < 2.5, `val_rmse ${rmse}`);
});
