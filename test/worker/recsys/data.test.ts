import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetKey, loadDataset } from '../../../worker/data/load.js';
import { DataError, type Table } from '../../../worker/data/table.js';
import { validateSpec, type SpecError, type DatasetSpec } from '../../../worker/contract/spec.js';
import { ML100K_GENRES } from '../../../worker/recsys/movielens.js';
import { generateRatingsWithTruth } from '../../../worker/recsys/synthetic.js';
import { splitTest } from '../../../worker/data/splits.js';

const scratch = mkdtempSync(join(tmpdir(), 'foldwise-recsys-data-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

function flags(...on: string[]): string {
  return ML100K_GENRES.map((name) => (on.includes(name) ? '1' : '0')).join('|');
}

/** A small folder in the ml-100k layout; `overrides` replace whole files. */
function writeMl100k(name: string, overrides: Partial<Record<'u.data' | 'u.user' | 'u.item' | 'u.genre', string | null>> = {}): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string | null> = {
    'u.user': `${['1|24|M|technician|85711', '2|53|F|other|94043', '3|23|M|writer|32067', '4|24|M|technician|43537'].join('\n')}\n`,
    'u.item': `${[
      `1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|${flags('Animation', "Children's", 'Comedy')}`,
      `2|GoldenEye (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?GoldenEye%20(1995)|${flags('Action', 'Adventure', 'Thriller')}`,
      `3|Caf\u00e9 Society (1996)|||http://us.imdb.com/|${flags('Drama')}`,
    ].join('\n')}\n`,
    'u.genre': `${ML100K_GENRES.map((genre, k) => `${genre}|${k}`).join('\n')}\n\n`,
    'u.data': `${[
      '1\t1\t5\t874965758',
      '1\t2\t3\t876893171',
      '2\t1\t4\t878542960',
      '3\t3\t2\t876893119',
      '4\t2\t1\t889751712',
      '2\t3\t5\t875071561',
    ].join('\n')}\n`,
    ...overrides,
  };
  for (const [file, text] of Object.entries(files)) {
    if (text === null) continue;
    // u.item is Latin-1 in the real data.
    writeFileSync(join(dir, file), file === 'u.item' ? Buffer.from(text, 'latin1') : text);
  }
  return dir;
}

function writeMlLatestSmall(name: string, overrides: Partial<Record<'ratings.csv' | 'movies.csv', string | null>> = {}): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string | null> = {
    'movies.csv': `${[
      'movieId,title,genres',
      '1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy',
      '2,"American President, The (1995)",Comedy|Drama|Romance',
      '31,Untitled,(no genres listed)',
    ].join('\n')}\n`,
    'ratings.csv': `${[
      'userId,movieId,rating,timestamp',
      '1,1,4.0,964982703',
      '1,2,4.5,964981247',
      '5,1,3.0,964982224',
      '5,31,0.5,964983815',
      '12,2,5.0,964982931',
    ].join('\n')}\n`,
    ...overrides,
  };
  for (const [file, text] of Object.entries(files)) if (text !== null) writeFileSync(join(dir, file), text);
  return dir;
}

const movielens = (path: string, layout: 'auto' | 'ml-100k' | 'ml-latest-small' = 'auto'): DatasetSpec => ({
  kind: 'movielens',
  path,
  layout,
});

function column(table: Table, side: 'users' | 'items', name: string) {
  const found = table.ratings![side].columns.find((c) => c.name === name);
  assert.ok(found, `${side} have a column ${name}`);
  return found;
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof DataError, `a DataError, got ${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test('ml-100k: ratings, users with age/gender/occupation, items with genres and year, all by id', async () => {
  const table = await loadDataset(movielens(writeMl100k('ml100k-good')), 0);
  assert.equal(table.task, 'regression');
  assert.equal(table.nRows, 6);
  assert.deepEqual(Array.from(table.y), [5, 3, 4, 2, 1, 5]);
  const ratings = table.ratings!;
  assert.deepEqual(ratings.users.ids, ['1', '2', '3', '4']);
  assert.deepEqual(ratings.items.ids, ['1', '2', '3']);
  assert.deepEqual(Array.from(ratings.userIndex), [0, 0, 1, 2, 3, 1]);
  assert.deepEqual(Array.from(ratings.itemIndex), [0, 1, 0, 2, 1, 2]);
  assert.deepEqual([ratings.userColumn, ratings.itemColumn], ['user', 'item']);
  assert.deepEqual(Array.from(column(table, 'users', 'age').values as Float64Array), [24, 53, 23, 24]);
  assert.deepEqual(column(table, 'users', 'occupation').values, ['technician', 'other', 'writer', 'technician']);
  assert.deepEqual(column(table, 'items', 'genres').values, [
    ['Animation', "Children's", 'Comedy'],
    ['Action', 'Adventure', 'Thriller'],
    ['Drama'],
  ]);
  const year = column(table, 'items', 'year').values as Float64Array;
  assert.equal(year[0], 1995);
  assert.ok(Number.isNaN(year[2]!), 'an empty release date is a missing year');
  assert.ok(table.encoding.featureNames.includes('user.gender=F') && table.encoding.featureNames.includes('item.genres=Drama'));
  assert.equal(table.x.length, table.nRows * table.nFeatures);
});

test('ml-latest-small: ratings.csv and movies.csv (quoted titles, half stars, no genres), users without features', async () => {
  const dir = writeMlLatestSmall('latest-good');
  const table = await loadDataset(movielens(dir), 0);
  assert.equal(table.nRows, 5);
  assert.deepEqual(Array.from(table.y), [4, 4.5, 3, 0.5, 5]);
  const ratings = table.ratings!;
  assert.deepEqual(ratings.users.ids, ['1', '5', '12'], 'users in numeric id order');
  assert.deepEqual(ratings.users.columns, []);
  assert.deepEqual([ratings.userColumn, ratings.itemColumn], ['userId', 'movieId']);
  assert.deepEqual(ratings.items.ids, ['1', '2', '31']);
  assert.deepEqual(column(table, 'items', 'genres').values, [
    ['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy'],
    ['Comedy', 'Drama', 'Romance'],
    [],
  ]);
  const year = column(table, 'items', 'year').values as Float64Array;
  assert.deepEqual([year[0], year[1]], [1995, 1995]);
  assert.ok(Number.isNaN(year[2]!));
  // Asking for the layout explicitly gives the same table; the wrong layout names what is missing.
  assert.deepEqual(Array.from((await loadDataset(movielens(dir, 'ml-latest-small'), 0)).y), Array.from(table.y));
  await rejects(loadDataset(movielens(dir, 'ml-100k'), 0), /lacks u\.data, u\.user, u\.item/);
});

test('movielens: a missing folder, a folder with neither layout, a missing file of a layout', async () => {
  await rejects(loadDataset(movielens(join(scratch, 'nowhere')), 0), /movielens folder not found: .*nowhere.*grouplens/);
  const empty = join(scratch, 'empty');
  mkdirSync(empty, { recursive: true });
  await rejects(loadDataset(movielens(empty), 0), /none of u\.data \(ml-100k\), ratings\.dat \(ml-1m\), ratings\.csv/);
  await rejects(loadDataset(movielens(writeMl100k('no-user', { 'u.user': null })), 0), /lacks u\.user/);
  await rejects(loadDataset(movielens(writeMlLatestSmall('no-movies', { 'movies.csv': null })), 0), /lacks movies\.csv/);
});

test('ml-100k: bad files are reported with the file, the line and the column', async () => {
  const cases: [Parameters<typeof writeMl100k>[1], RegExp][] = [
    [{ 'u.data': '1\t1\t5\t1\n1\t2\tfive\t2\n' }, /u\.data, line 2, column 3 \(rating\): non-numeric value "five"/],
    [{ 'u.data': '1\t1\t5\t1\n\n1\t9\t3\t2\n' }, /u\.data, line 3, column 2 \(item id\): item "9" is not in u\.item/],
    [{ 'u.data': '7\t1\t5\t1\n' }, /u\.data, line 1, column 1 \(user id\): user "7" is not in u\.user/],
    [{ 'u.data': '1\t1\n' }, /u\.data, line 1: expected 4 tab-separated fields/],
    [{ 'u.user': '1|24|M|technician|85711\n2|old|F|other|94043\n' }, /u\.user, line 2, column 2 \(age\): non-numeric value "old"/],
    [
      { 'u.user': '1|24|M|technician|85711\n1|53|F|other|94043\n' },
      /u\.user, line 2, column 1 \(user id\): id "1" appears twice \(first on line 1\)/,
    ],
    [
      { 'u.item': `1|Toy Story (1995)|01-Jan-1995||url|${flags('Comedy').replace(/\|0$/, '|x')}\n` },
      /u\.item, line 1, column 24 \(genre "Western"\): expected 0 or 1, got "x"/,
    ],
    [{ 'u.item': '1|Toy Story (1995)|01-Jan-1995||url|0|1\n' }, /u\.item, line 1: expected 24 fields separated by "\|"/],
    [{ 'u.data': '' }, /u\.data: the file is empty/],
  ];
  for (const [index, [overrides, pattern]] of cases.entries()) {
    await rejects(loadDataset(movielens(writeMl100k(`bad100k-${index}`, overrides)), 0), pattern);
  }
});

test('ml-latest-small: bad files are reported with the file, the line and the column', async () => {
  const cases: [Parameters<typeof writeMlLatestSmall>[1], RegExp][] = [
    [
      { 'ratings.csv': 'userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,,2\n' },
      /ratings\.csv, line 3, column "rating": missing value \(empty cell\)/,
    ],
    [
      { 'ratings.csv': 'userId,movieId,rating,timestamp\n1,1,great,1\n' },
      /ratings\.csv, line 2, column "rating": non-numeric value "great"/,
    ],
    [
      { 'ratings.csv': 'userId,movieId,rating,timestamp\n1,1,4,1\n1,77,4,1\n' },
      /ratings\.csv, line 3, column "movieId": movie "77" is not in movies\.csv/,
    ],
    [{ 'ratings.csv': 'user,movie,stars\n1,1,4\n' }, /ratings\.csv, row 1 \(header\): no column "userId"/],
    [{ 'ratings.csv': 'userId,movieId,rating,timestamp\n1,1,4,1\n1,2\n' }, /ratings\.csv, line 3: 2 cells, but the header has 4 columns/],
    [{ 'movies.csv': 'movieId,title\n1,Toy Story (1995)\n' }, /movies\.csv, row 1 \(header\): no column "genres"/],
    [
      { 'movies.csv': 'movieId,title,genres\n1,A (1995),Comedy\n1,B (1996),Drama\n' },
      /movies\.csv, line 3, column "movieId": id "1" appears twice/,
    ],
    [{ 'ratings.csv': 'userId,movieId,rating,timestamp\n' }, /ratings\.csv: there is a header row but no data rows/],
    [{ 'ratings.csv': 'userId,movieId,rating,timestamp\n1,1,4,1\n1,2,4,1\n' }, /every rating is 4; there is nothing to learn/],
  ];
  for (const [index, [overrides, pattern]] of cases.entries()) {
    await rejects(loadDataset(movielens(writeMlLatestSmall(`badlatest-${index}`, overrides)), 0), pattern);
  }
});

test('movielens: a ratings dataset is a regression task; spec checks families and task against the dataset', async () => {
  await rejects(loadDataset(movielens(writeMl100k('task')), 0, 'binary'), /regression task; task "binary" does not apply/);
  assert.throws(
    () => validateSpec({ name: 'x', dataset: { kind: 'fraud' }, grid: { family: ['mlp', 'mf'] } }),
    (error: SpecError) => {
      assert.deepEqual(
        error.issues.map((issue) => issue.path),
        ['grid.family'],
      );
      assert.match(error.message, /family "mf" needs a ratings dataset \(kind ratings or movielens\), not fraud/);
      return true;
    },
  );
  assert.throws(
    () => validateSpec({ name: 'x', dataset: { kind: 'sine' }, model: { family: 'ncf' } }),
    /model\.family: family "ncf" needs a ratings dataset/,
  );
  assert.throws(
    () => validateSpec({ name: 'x', dataset: { kind: 'ratings' }, task: 'multiclass' }),
    /task: a ratings dataset is a regression task/,
  );
  const spec = validateSpec({ name: 'x', dataset: { kind: 'movielens', path: 'ml-100k' }, grid: { family: ['mf', 'ncf', 'mlp'] } });
  assert.deepEqual(spec.dataset, { kind: 'movielens', path: 'ml-100k', layout: 'auto' });
});

test('ratings generator: deterministic from the seed, with a known truth and cold-start rows', async () => {
  const spec = { kind: 'ratings', users: 300, items: 150, ratingsPerUser: 20, noise: 0.5 } as const;
  const a = generateRatingsWithTruth(spec, 7);
  const b = generateRatingsWithTruth(spec, 7);
  const c = generateRatingsWithTruth(spec, 8);
  assert.deepEqual(Array.from(a.table.y), Array.from(b.table.y));
  assert.deepEqual(Array.from(a.table.ratings!.userIndex), Array.from(b.table.ratings!.userIndex));
  assert.deepEqual(Array.from(a.table.ratings!.itemIndex), Array.from(b.table.ratings!.itemIndex));
  assert.deepEqual(Array.from(a.table.x), Array.from(b.table.x));
  assert.deepEqual(a.table.ratings!.users, b.table.ratings!.users);
  assert.notDeepEqual(Array.from(a.table.y), Array.from(c.table.y));
  // Through loadDataset too, with a cache key that separates seeds.
  const loaded = await loadDataset(spec, 7);
  assert.deepEqual(Array.from(loaded.y), Array.from(a.table.y));
  assert.notEqual(datasetKey(spec, 7), datasetKey(spec, 8));

  const { table, truth } = a;
  assert.equal(table.task, 'regression');
  assert.ok(table.nRows > 300 * 10 && table.nRows < 300 * 30, `about 20 ratings per user, got ${table.nRows}`);
  assert.ok(
    table.y.every((r) => r >= 0.5 && r <= 5 && Number.isInteger(r * 2)),
    'half stars in [0.5, 5]',
  );
  // The truth explains the ratings up to the noise (and rounding); the mean does not.
  const n = table.nRows;
  const mean = table.y.reduce((s, r) => s + r, 0) / n;
  const rmseOf = (predict: (i: number) => number) => Math.sqrt(table.y.reduce((s, r, i) => s + (r - predict(i)) ** 2, 0) / n);
  const bayes = rmseOf((i) => truth.expected[i]!);
  const baseline = rmseOf(() => mean);
  assert.ok(bayes > 0.45 && bayes < 0.6, `truth RMSE ≈ noise 0.5, got ${bayes}`);
  assert.ok(baseline > 0.85, `mean RMSE well above, got ${baseline}`);
  // Features carry signal: the feature effect alone beats the mean.
  assert.ok(rmseOf((i) => mean + truth.featureEffect[i]!) < baseline - 0.1);
  // Some test rows have a user or item with no training rating.
  const { train, test: held } = splitTest(table.y, 'regression', 0.2, 7);
  const users = new Set(Array.from(train, (row) => table.ratings!.userIndex[row]));
  const items = new Set(Array.from(train, (row) => table.ratings!.itemIndex[row]));
  const cold = Array.from(held).filter((row) => !users.has(table.ratings!.userIndex[row]) || !items.has(table.ratings!.itemIndex[row]));
  assert.ok(cold.length > 0, 'cold-start rows exist');
});
