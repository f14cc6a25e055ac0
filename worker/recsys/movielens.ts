/**
 * MovieLens ratings from a folder the user downloaded (https://grouplens.org/datasets/movielens/);
 * foldwise ships none of it, as the licence does not allow redistribution.
 *
 * Layouts:
 * - `ml-100k`: `u.data` (tab-separated user id, item id, rating, timestamp), `u.user`
 *   (`id|age|gender|occupation|zip`), `u.item` (`id|title|release date|video release date|URL|`
 *   then one 0/1 flag per genre, Latin-1), optionally `u.genre` (`name|index`) for the genre
 *   names. User features: age, gender, occupation (the zip code is left out: ~800 distinct
 *   values, an identifier more than a feature). Item features: genres, year of release.
 * - `ml-1m`: `ratings.dat`, `users.dat`, `movies.dat` (`::`-separated, Latin-1; see movielens-1m.ts).
 * - `ml-latest-small`: `ratings.csv` (`userId,movieId,rating,timestamp`), `movies.csv`
 *   (`movieId,title,genres` with genres `A|B|C`, or `(no genres listed)`). Users have no
 *   features; items: genres, year (from the title's "(1995)").
 *
 * Every problem is a `DataError` naming the file, the line (a CSV header is line 1) and the
 * column.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetSpec } from '../contract/spec.js';
import { quote } from '../data/cells.js';
import { DataError, type SideTable, type Table } from '../data/table.js';
import { loadMl1m } from './movielens-1m.js';
import {
  addId,
  exists,
  indexById,
  movieTable,
  parseGenreList,
  parseNumberCell,
  parseRating,
  readCsv,
  readLines,
  yearOfTitle,
} from './movielens-files.js';
import { ratingsTable } from './ratings-table.js';
import { sortIds } from './side-features.js';

type MovieLensSpec = Extract<DatasetSpec, { kind: 'movielens' }>;
export type MovieLensLayout = Exclude<MovieLensSpec['layout'], 'auto'>;

/** The files each layout needs; the first one identifies the layout. */
export const LAYOUT_FILES: Readonly<Record<MovieLensLayout, readonly string[]>> = {
  'ml-100k': ['u.data', 'u.user', 'u.item'],
  'ml-1m': ['ratings.dat', 'users.dat', 'movies.dat'],
  'ml-latest-small': ['ratings.csv', 'movies.csv'],
};

const LOADERS: Readonly<Record<MovieLensLayout, (folder: string) => Promise<Table>>> = {
  'ml-100k': loadMl100k,
  'ml-1m': loadMl1m,
  'ml-latest-small': loadMlLatestSmall,
};

/** Genre flags of ml-100k's u.item, in column order, for a folder without u.genre. */
export const ML100K_GENRES: readonly string[] = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

/** Loads the folder as a ratings table. @throws {DataError} */
export async function loadMovieLens(spec: Pick<MovieLensSpec, 'path' | 'layout'>): Promise<Table> {
  const layout = await detectLayout(spec.path, spec.layout);
  return LOADERS[layout](spec.path);
}

/** The folder's layout: the one asked for (its files must exist), or the one whose files are there. */
export async function detectLayout(folder: string, requested: MovieLensSpec['layout']): Promise<MovieLensLayout> {
  let isFolder: boolean;
  try {
    isFolder = (await stat(folder)).isDirectory();
  } catch {
    throw new DataError(
      `movielens folder not found: ${folder} (download ml-100k, ml-1m or ml-latest-small from ` +
        `https://grouplens.org/datasets/movielens/ and unpack it)`,
    );
  }
  if (!isFolder)
    throw new DataError(
      `movielens: ${folder} is a file; dataset.path must be the unpacked folder (with u.data, ratings.dat or ratings.csv)`,
    );
  const candidates = requested === 'auto' ? (Object.keys(LAYOUT_FILES) as MovieLensLayout[]) : [requested];
  for (const layout of candidates) {
    const present = await Promise.all(LAYOUT_FILES[layout].map((name) => exists(join(folder, name))));
    if (requested === 'auto' && !present[0]) continue;
    const missing = LAYOUT_FILES[layout].filter((_, k) => !present[k]);
    if (missing.length > 0)
      throw new DataError(
        `movielens: ${folder} lacks ${missing.join(', ')} (the ${layout} layout needs ${LAYOUT_FILES[layout].join(', ')})`,
      );
    return layout;
  }
  throw new DataError(
    `movielens: ${folder} holds none of u.data (ml-100k), ratings.dat (ml-1m), ratings.csv (ml-latest-small); ` +
      'set dataset.layout or point dataset.path at the unpacked folder',
  );
}

// ───────────────────────────── ml-100k ─────────────────────────────

async function loadMl100k(folder: string): Promise<Table> {
  const users = await readUsers100k(join(folder, 'u.user'));
  const genreNames = (await exists(join(folder, 'u.genre'))) ? await readGenres100k(join(folder, 'u.genre')) : ML100K_GENRES;
  const items = await readItems100k(join(folder, 'u.item'), genreNames);

  const path = join(folder, 'u.data');
  const lines = await readLines(path, 'utf8');
  const userOf = indexById(users.ids);
  const itemOf = indexById(items.ids);
  const userIndex: number[] = [];
  const itemIndex: number[] = [];
  const y: number[] = [];
  for (const { line, text } of lines) {
    const fields = text.trim().split(/\s+/);
    const where = `${path}, line ${line}`;
    if (fields.length < 3)
      throw new DataError(`${where}: expected 4 tab-separated fields (user id, item id, rating, timestamp), got ${fields.length}`);
    const [user, item, rating] = fields as [string, string, string];
    const u = userOf.get(user);
    if (u === undefined) throw new DataError(`${where}, column 1 (user id): user ${quote(user)} is not in u.user`);
    const i = itemOf.get(item);
    if (i === undefined) throw new DataError(`${where}, column 2 (item id): item ${quote(item)} is not in u.item`);
    userIndex.push(u);
    itemIndex.push(i);
    y.push(parseRating(rating, `${where}, column 3 (rating)`));
  }
  return ratingsTable(
    Float32Array.from(y),
    { userIndex: Int32Array.from(userIndex), itemIndex: Int32Array.from(itemIndex), users, items, userColumn: 'user', itemColumn: 'item' },
    path,
  );
}

async function readUsers100k(path: string): Promise<SideTable> {
  const ids: string[] = [];
  const age: number[] = [];
  const gender: string[] = [];
  const occupation: string[] = [];
  const seen = new Map<string, number>();
  for (const { line, text } of await readLines(path, 'utf8')) {
    const fields = text.split('|').map((field) => field.trim());
    const where = `${path}, line ${line}`;
    if (fields.length < 4)
      throw new DataError(`${where}: expected 5 fields separated by "|" (user id|age|gender|occupation|zip code), got ${fields.length}`);
    const [id, ageText, genderText, occupationText] = fields as [string, string, string, string];
    if (id === '') throw new DataError(`${where}, column 1 (user id): missing value`);
    addId(seen, id, `${where}, column 1 (user id)`, line);
    ids.push(id);
    age.push(parseNumberCell(ageText, `${where}, column 2 (age)`));
    gender.push(genderText);
    occupation.push(occupationText);
  }
  return {
    ids,
    columns: [
      { name: 'age', kind: 'numeric', values: Float64Array.from(age) },
      { name: 'gender', kind: 'categorical', values: gender },
      { name: 'occupation', kind: 'categorical', values: occupation },
    ],
  };
}

async function readGenres100k(path: string): Promise<string[]> {
  const names: string[] = [];
  for (const { line, text } of await readLines(path, 'latin1')) {
    const [name, index] = text.split('|').map((field) => field.trim()) as [string, string | undefined];
    if (index === undefined || !/^\d+$/.test(index))
      throw new DataError(`${path}, line ${line}: expected "genre name|index", got ${quote(text)}`);
    names[Number(index)] = name;
  }
  // biome-ignore lint/complexity/useIndexOf: indexOf skips the holes of a sparse array; findIndex visits them.
  const gap = names.findIndex((name) => name === undefined);
  if (gap >= 0 || names.length === 0) throw new DataError(`${path}: genre index ${Math.max(gap, 0)} has no name`);
  return names;
}

async function readItems100k(path: string, genreNames: readonly string[]): Promise<SideTable> {
  const ids: string[] = [];
  const genres: string[][] = [];
  const year: number[] = [];
  const fixed = 5; // id, title, release date, video release date, IMDb URL
  const seen = new Map<string, number>();
  for (const { line, text } of await readLines(path, 'latin1')) {
    const fields = text.split('|').map((field) => field.trim());
    const where = `${path}, line ${line}`;
    if (fields.length !== fixed + genreNames.length) {
      throw new DataError(
        `${where}: expected ${fixed + genreNames.length} fields separated by "|" (id|title|release date|video release ` +
          `date|URL and ${genreNames.length} genre flags), got ${fields.length}`,
      );
    }
    const id = fields[0]!;
    if (id === '') throw new DataError(`${where}, column 1 (movie id): missing value`);
    addId(seen, id, `${where}, column 1 (movie id)`, line);
    ids.push(id);
    const flags = fields.slice(fixed);
    genres.push(
      genreNames.filter((_, g) => {
        const flag = flags[g]!;
        if (flag !== '0' && flag !== '1')
          throw new DataError(`${where}, column ${fixed + g + 1} (genre ${quote(genreNames[g]!)}): expected 0 or 1, got ${quote(flag)}`);
        return flag === '1';
      }),
    );
    // "01-Jan-1995"; empty for a few titles: missing.
    const date = /(\d{4})\s*$/.exec(fields[2]!);
    year.push(date ? Number(date[1]) : Number.NaN);
  }
  return movieTable(ids, genres, year);
}

// ───────────────────────────── ml-latest-small ─────────────────────────────

async function loadMlLatestSmall(folder: string): Promise<Table> {
  const items = await readMoviesCsv(join(folder, 'movies.csv'));
  const path = join(folder, 'ratings.csv');
  const { header, rows } = await readCsv(path);
  const column = (name: string): number => {
    const c = header.indexOf(name);
    if (c < 0)
      throw new DataError(
        `${path}, row 1 (header): no column ${quote(name)}; the columns are ${header.map(quote).join(', ')} (expected ` +
          `userId,movieId,rating,timestamp)`,
      );
    return c;
  };
  const [cUser, cItem, cRating] = [column('userId'), column('movieId'), column('rating')];
  const itemOf = indexById(items.ids);
  const userIds = sortIds(rows.map(({ cells }) => cells[cUser] ?? ''));
  const userOf = indexById(userIds);
  const userIndex = new Int32Array(rows.length);
  const itemIndex = new Int32Array(rows.length);
  const y = new Float32Array(rows.length);
  rows.forEach(({ line, cells }, r) => {
    const where = (name: string) => `${path}, line ${line}, column ${quote(name)}`;
    if (cells.length !== header.length)
      throw new DataError(`${path}, line ${line}: ${cells.length} cells, but the header has ${header.length} columns`);
    const user = cells[cUser]!;
    if (user === '') throw new DataError(`${where('userId')}: missing value (empty cell)`);
    const i = itemOf.get(cells[cItem]!);
    if (i === undefined) throw new DataError(`${where('movieId')}: movie ${quote(cells[cItem]!)} is not in movies.csv`);
    userIndex[r] = userOf.get(user)!;
    itemIndex[r] = i;
    y[r] = parseRating(cells[cRating]!, where('rating'));
  });
  const users: SideTable = { ids: userIds, columns: [] };
  return ratingsTable(y, { userIndex, itemIndex, users, items, userColumn: 'userId', itemColumn: 'movieId' }, path);
}

async function readMoviesCsv(path: string): Promise<SideTable> {
  const { header, rows } = await readCsv(path);
  const [cId, cTitle, cGenres] = ['movieId', 'title', 'genres'].map((name) => {
    const c = header.indexOf(name);
    if (c < 0)
      throw new DataError(
        `${path}, row 1 (header): no column ${quote(name)}; the columns are ${header.map(quote).join(', ')} (expected ` +
          `movieId,title,genres)`,
      );
    return c;
  }) as [number, number, number];
  const ids: string[] = [];
  const genres: string[][] = [];
  const year: number[] = [];
  const seen = new Map<string, number>();
  for (const { line, cells } of rows) {
    if (cells.length !== header.length)
      throw new DataError(`${path}, line ${line}: ${cells.length} cells, but the header has ${header.length} columns`);
    const id = cells[cId]!;
    if (id === '') throw new DataError(`${path}, line ${line}, column "movieId": missing value (empty cell)`);
    addId(seen, id, `${path}, line ${line}, column "movieId"`, line);
    ids.push(id);
    genres.push(parseGenreList(cells[cGenres]!));
    year.push(yearOfTitle(cells[cTitle]!));
  }
  return movieTable(ids, genres, year);
}
