/**
 * A ratings dataset as a `Table`: one row per (user, item, rating), y = the rating, and the
 * `ratings` part that the recommendation families read (user and item indices, the users' and
 * items' raw side features).
 *
 * `x` holds the side features of each row (user's, then item's), encoded with encoders fitted
 * on ALL rows: a plain view for code that knows nothing of ratings (the describe step, a
 * features-only model). Training never uses it: `prepareRatingsData` re-fits the encoders on
 * each task's training rows.
 */
import { DataError, type Encoding, type RatingsData, type Table } from '../data/table.js';
import { encodeSide, fitSideEncoder, type SideEncoder } from './side-features.js';

/** Prefixes of the encoded feature names: `user.age`, `item.genres=Drama`. */
export const USER_PREFIX = 'user';
export const ITEM_PREFIX = 'item';

/**
 * Assembles the table.
 * @param what names the data in error messages (a file or the generator).
 * @throws {DataError} when there are fewer than 2 ratings or they are all equal.
 */
export function ratingsTable(y: Float32Array, ratings: RatingsData, what: string): Table {
  const n = y.length;
  if (n < 2) throw new DataError(`${what}: ${n} rating${n === 1 ? '' : 's'}; at least 2 are needed`);
  if (y.every((value) => value === y[0])) throw new DataError(`${what}: every rating is ${y[0]}; there is nothing to learn`);
  if (ratings.userIndex.length !== n || ratings.itemIndex.length !== n)
    throw new Error('ratings: user and item indices must have one entry per rating');

  const all = Int32Array.from({ length: n }, (_, i) => i);
  const userEncoder = fitSideEncoder(ratings.users, rowCounts(ratings.userIndex, all, ratings.users.ids.length), USER_PREFIX);
  const itemEncoder = fitSideEncoder(ratings.items, rowCounts(ratings.itemIndex, all, ratings.items.ids.length), ITEM_PREFIX);
  const x = rowFeatures(
    ratings,
    all,
    userEncoder,
    encodeSide(userEncoder, ratings.users),
    itemEncoder,
    encodeSide(itemEncoder, ratings.items),
  );
  const featureNames = [...userEncoder.featureNames, ...itemEncoder.featureNames];
  const encoding: Encoding = {
    columns: featureNames.map((name) => ({ name, kind: 'numeric' })),
    featureNames,
    target: 'rating',
    classes: null,
  };
  return { nRows: n, nFeatures: featureNames.length, x, y, task: 'regression', encoding, ratings };
}

/** Rows per entity among `rows`: how much each user (item) weighs in a training part. */
export function rowCounts(index: Int32Array, rows: Int32Array, nEntities: number): Float64Array {
  const counts = new Float64Array(nEntities);
  for (const row of rows) counts[index[row]!]!++;
  return counts;
}

/** The rows' features, user's then item's: row-major rows.length × (user width + item width). */
export function rowFeatures(
  ratings: RatingsData,
  rows: Int32Array,
  userEncoder: SideEncoder,
  userX: Float32Array,
  itemEncoder: SideEncoder,
  itemX: Float32Array,
): Float32Array {
  const wu = userEncoder.featureNames.length;
  const wi = itemEncoder.featureNames.length;
  const width = wu + wi;
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, r) => {
    const u = ratings.userIndex[row]!;
    const i = ratings.itemIndex[row]!;
    out.set(userX.subarray(u * wu, (u + 1) * wu), r * width);
    out.set(itemX.subarray(i * wi, (i + 1) * wi), r * width + wu);
  });
  return out;
}
