/**
 * `foldwise predict` for models trained on ratings: each input row names a user and an item
 * (columns `userColumn`/`itemColumn` of the model, e.g. `userId,movieId`, or simply `user,item`);
 * any other column is ignored except as below.
 *
 * - Ids the refit's training rows contained map to their embeddings; any other id maps to the
 *   reserved unknown index (zero embedding and bias): the prediction then rests on μ, the other
 *   side's terms and the features.
 * - Side features are looked up by id in the users' and items' tables saved with the model. For
 *   an id absent from them (a new user), they are read from the row's own columns of the same
 *   names (`age`, `gender`, `genres` as `A|B`, …); a column that is absent counts as missing.
 *
 * Output columns: `prediction`, then `user_seen` and `item_seen` (true when the id had training
 * ratings, i.e. the prediction is not cold-start for that side). `predictRows` (models/model-files.ts)
 * puts the row key first, as for every model.
 */
import type { Tensor2D } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';
import { DataError } from '../data/table.js';
import { predictArray } from '../models/layers.js';
import { UNKNOWN_INDEX } from './models.js';
import type { RatingsPreprocessing, SavedSide } from './preprocessing.js';
import { encodedWidth, encodeSide, encodeSideCells, sideTableFromJson } from './side-features.js';

/** Predictions as a table: one header, one row per input row. */
type PredictionTable = { readonly header: string[]; readonly rows: (string | number)[][] };
type Model = Parameters<typeof predictArray>[0];

export async function predictRatingsRows(
  tf: TensorFlow,
  model: Model,
  ratings: RatingsPreprocessing,
  rows: readonly Record<string, string>[],
  options: { readonly source?: string } = {},
): Promise<PredictionTable> {
  const source = options.source ?? 'input';
  const users = sideLookup(ratings.users);
  const items = sideLookup(ratings.items);
  const idOf = (row: Record<string, string>, i: number, column: string): string => {
    const cell = cellOf(row, column) ?? cellOf(row, column === ratings.userColumn ? 'user' : 'item');
    const alias = column === ratings.userColumn ? 'user' : 'item';
    if (cell === undefined)
      throw new DataError(
        `${source}, row ${i + 2}: column ${JSON.stringify(column)}${column === alias ? '' : ` (or ${JSON.stringify(alias)})`} ` +
          'is missing; each row needs a user and an item id',
      );
    if (cell === '') throw new DataError(`${source}, row ${i + 2}, column ${JSON.stringify(column)}: missing value (empty cell)`);
    return cell;
  };
  const userIds = rows.map((row, i) => idOf(row, i, ratings.userColumn));
  const itemIds = rows.map((row, i) => idOf(row, i, ratings.itemColumn));

  const n = rows.length;
  const wu = encodedWidth(ratings.users.encoder);
  const wi = encodedWidth(ratings.items.encoder);
  const tensors: Tensor2D[] = [];
  try {
    for (const input of ratings.inputs) {
      if (input === 'user')
        tensors.push(
          tf.tensor2d(
            Int32Array.from(userIds, (id) => users.embedding.get(id) ?? UNKNOWN_INDEX),
            [n, 1],
            'int32',
          ),
        );
      else if (input === 'item')
        tensors.push(
          tf.tensor2d(
            Int32Array.from(itemIds, (id) => items.embedding.get(id) ?? UNKNOWN_INDEX),
            [n, 1],
            'int32',
          ),
        );
      else {
        const x = new Float32Array(n * (wu + wi));
        rows.forEach((row, i) => {
          const where = `${source}, row ${i + 2}`;
          x.set(users.features(userIds[i]!, row, where), i * (wu + wi));
          x.set(items.features(itemIds[i]!, row, where), i * (wu + wi) + wu);
        });
        tensors.push(tf.tensor2d(x, [n, wu + wi]));
      }
    }
    const outputs = await predictArray(model, tensors);
    return {
      header: ['prediction', 'user_seen', 'item_seen'],
      rows: Array.from(outputs, (value, i) => [value, String(users.embedding.has(userIds[i]!)), String(items.embedding.has(itemIds[i]!))]),
    };
  } finally {
    for (const tensor of tensors) tensor.dispose();
  }
}

function cellOf(row: Record<string, string>, column: string): string | undefined {
  // hasOwn: a column named "constructor" must not find Object.prototype's.
  return Object.hasOwn(row, column) ? row[column]!.trim() : undefined;
}

/** Embedding indices by id, and each id's encoded features (saved table, else the row's cells). */
function sideLookup(side: SavedSide) {
  const embedding = new Map(side.embedded.map((id, k) => [id, k + 1]));
  const table = sideTableFromJson(side.table);
  const width = encodedWidth(side.encoder);
  const rowOf = new Map(table.ids.map((id, e) => [id, e]));
  let encoded: Float32Array | null = null;
  return {
    embedding,
    features(id: string, row: Record<string, string>, where: string): Float32Array {
      const e = rowOf.get(id);
      if (e === undefined) return encodeSideCells(side.encoder, (column) => cellOf(row, column), where);
      encoded ??= encodeSide(side.encoder, table);
      return encoded.subarray(e * width, (e + 1) * width);
    },
  };
}
