/**
 * The `ml-1m` layout of MovieLens (1,000,209 ratings of 3,706 movies by 6,040 users): three
 * `::`-separated files in Latin-1, without a header.
 * - `ratings.dat`: `UserID::MovieID::Rating::Timestamp`;
 * - `users.dat`: `UserID::Gender::Age::Occupation::Zip-code`, where Age is an age group's code
 *   (1, 18, 25, 35, 45, 50, 56) and Occupation a code 0–20: both categorical features, as is the
 *   zip code's first digit (its US region; the full code is an identifier, ~3,400 values);
 * - `movies.dat`: `MovieID::Title::Genres` with genres `A|B|C` and the year in the title's "(1995)".
 */
import { join } from 'node:path';
import { quote } from '../data/cells.js';
import { DataError, type SideTable, type Table } from '../data/table.js';
import { addId, indexById, movieTable, parseGenreList, parseRating, readLines, yearOfTitle } from './movielens-files.js';
import { ratingsTable } from './ratings-table.js';

const SEPARATOR = '::';

export async function loadMl1m(folder: string): Promise<Table> {
  const users = await readUsers(join(folder, 'users.dat'));
  const items = await readMovies(join(folder, 'movies.dat'));
  const path = join(folder, 'ratings.dat');
  const userOf = indexById(users.ids);
  const itemOf = indexById(items.ids);
  const lines = await readLines(path, 'latin1');
  const userIndex = new Int32Array(lines.length);
  const itemIndex = new Int32Array(lines.length);
  const y = new Float32Array(lines.length);
  lines.forEach(({ line, text }, r) => {
    const where = `${path}, line ${line}`;
    const [user, item, rating] = fieldsOf(text, 4, where, 'UserID::MovieID::Rating::Timestamp');
    const u = userOf.get(user!);
    if (u === undefined) throw new DataError(`${where}, field 1 (UserID): user ${quote(user!)} is not in users.dat`);
    const i = itemOf.get(item!);
    if (i === undefined) throw new DataError(`${where}, field 2 (MovieID): movie ${quote(item!)} is not in movies.dat`);
    userIndex[r] = u;
    itemIndex[r] = i;
    y[r] = parseRating(rating!, `${where}, field 3 (Rating)`);
  });
  return ratingsTable(y, { userIndex, itemIndex, users, items, userColumn: 'userId', itemColumn: 'movieId' }, path);
}

async function readUsers(path: string): Promise<SideTable> {
  const ids: string[] = [];
  const gender: string[] = [];
  const ageGroup: string[] = [];
  const occupation: string[] = [];
  const zipRegion: string[] = [];
  const seen = new Map<string, number>();
  for (const { line, text } of await readLines(path, 'latin1')) {
    const where = `${path}, line ${line}`;
    const [id, genderText, age, occupationCode, zip] = fieldsOf(text, 5, where, 'UserID::Gender::Age::Occupation::Zip-code');
    addId(seen, id!, `${where}, field 1 (UserID)`, line);
    ids.push(id!);
    gender.push(genderText!);
    ageGroup.push(age!);
    occupation.push(occupationCode!);
    zipRegion.push(/^\d/.test(zip!) ? zip!.charAt(0) : ''); // '' is missing (a few zips are not US codes)
  }
  return {
    ids,
    columns: [
      { name: 'gender', kind: 'categorical', values: gender },
      { name: 'age_group', kind: 'categorical', values: ageGroup },
      { name: 'occupation', kind: 'categorical', values: occupation },
      { name: 'zip_region', kind: 'categorical', values: zipRegion },
    ],
  };
}

async function readMovies(path: string): Promise<SideTable> {
  const ids: string[] = [];
  const genres: string[][] = [];
  const year: number[] = [];
  const seen = new Map<string, number>();
  for (const { line, text } of await readLines(path, 'latin1')) {
    const where = `${path}, line ${line}`;
    // A title may hold "::" no more than the other fields do, but split from both ends to be safe.
    const first = text.indexOf(SEPARATOR);
    const last = text.lastIndexOf(SEPARATOR);
    if (first < 0 || last === first) throw new DataError(`${where}: expected 3 fields separated by "::" (MovieID::Title::Genres)`);
    const id = text.slice(0, first).trim();
    const title = text.slice(first + SEPARATOR.length, last).trim();
    const list = text.slice(last + SEPARATOR.length).trim();
    if (id === '') throw new DataError(`${where}, field 1 (MovieID): missing value`);
    addId(seen, id, `${where}, field 1 (MovieID)`, line);
    ids.push(id);
    genres.push(parseGenreList(list));
    year.push(yearOfTitle(title));
  }
  return movieTable(ids, genres, year);
}

/** The `count` fields of a `::`-separated line, trimmed; an empty id field is an error. */
function fieldsOf(text: string, count: number, where: string, format: string): string[] {
  const fields = text.split(SEPARATOR).map((field) => field.trim());
  if (fields.length !== count)
    throw new DataError(`${where}: expected ${count} fields separated by "::" (${format}), got ${fields.length}`);
  if (fields[0] === '') throw new DataError(`${where}, field 1 (${format.split('::')[0]}): missing value`);
  return fields;
}
