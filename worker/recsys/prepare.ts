/**
 * A task's data on a ratings table: the model inputs of its training and held-out rows, with
 * everything fitted on the training rows only (DESIGN.md):
 * - the side-feature encoders (standardisation, categories; side-features.ts);
 * - the id maps: users and items with at least one training rating get embedding indices
 *   1…n; the others — cold start — get the reserved index 0 (models.ts);
 * - μ, the training mean rating (mf's global mean, the output bias ncf and mlp start from, and
 *   the baseline the extra metrics compare with).
 */
import type { Encoding, RatingsData, Table } from '../data/table.js';
import { rmse } from '../training/metrics.js';
import type { Standardizer } from '../data/preprocess.js';
import type { Family } from '../contract/vocabulary.js';
import type { ModelInput, ModelRows } from '../training/types.js';
import { ratingsInputs, UNKNOWN_INDEX, type RatingsInput, type RatingsModelShape } from './models.js';
import type { RatingsPreprocessing } from './preprocessing.js';
import { ITEM_PREFIX, rowCounts, rowFeatures, USER_PREFIX } from './ratings-table.js';
import { encodeSide, fitSideEncoder, sideTableToJson } from './side-features.js';

export type PreparedRatings = {
  readonly shape: RatingsModelShape;
  /** Metrics of held-out predictions besides the regression ones (names without `val_`). */
  readonly heldMetrics: (predictions: Float32Array) => Record<string, number>;
  /** What a refit saves with the model. */
  readonly saved: () => RatingsPreprocessing;
};

export type RatingsTaskData = {
  readonly train: ModelRows;
  readonly held: ModelRows;
  /** The `features` input described as numeric features, already standardised (identity standardiser). */
  readonly encoding: Encoding;
  readonly standardizer: Standardizer;
  readonly ratings: PreparedRatings;
};

/** Ids seen in training get 1…n in entity order; the rest UNKNOWN_INDEX. */
export function embeddingIndex(counts: Float64Array): { readonly indexOf: Int32Array; readonly rows: number } {
  const indexOf = new Int32Array(counts.length).fill(UNKNOWN_INDEX);
  let next = UNKNOWN_INDEX + 1;
  counts.forEach((count, e) => {
    if (count > 0) indexOf[e] = next++;
  });
  return { indexOf, rows: next };
}

export function prepareRatingsData(
  table: Table,
  ratings: RatingsData,
  family: Family,
  trainRows: Int32Array,
  heldRows: Int32Array,
): RatingsTaskData {
  const userCounts = rowCounts(ratings.userIndex, trainRows, ratings.users.ids.length);
  const itemCounts = rowCounts(ratings.itemIndex, trainRows, ratings.items.ids.length);
  const userEncoder = fitSideEncoder(ratings.users, userCounts, USER_PREFIX);
  const itemEncoder = fitSideEncoder(ratings.items, itemCounts, ITEM_PREFIX);
  const userX = encodeSide(userEncoder, ratings.users);
  const itemX = encodeSide(itemEncoder, ratings.items);
  const users = embeddingIndex(userCounts);
  const items = embeddingIndex(itemCounts);
  const featureNames = [...userEncoder.featureNames, ...itemEncoder.featureNames];
  const nFeatures = featureNames.length;
  const inputNames = ratingsInputs(family, nFeatures);

  let sum = 0;
  for (const row of trainRows) sum += table.y[row]!;
  const globalMean = sum / trainRows.length;

  const rowsOf = (rows: Int32Array): ModelRows => ({
    inputs: inputNames.map((name): ModelInput => inputOf(name, rows)),
    y: Float32Array.from(rows, (row) => table.y[row]!),
    n: rows.length,
  });
  const inputOf = (name: RatingsInput, rows: Int32Array): ModelInput => {
    switch (name) {
      case 'user':
        return { values: Int32Array.from(rows, (row) => users.indexOf[ratings.userIndex[row]!]!), width: 1 };
      case 'item':
        return { values: Int32Array.from(rows, (row) => items.indexOf[ratings.itemIndex[row]!]!), width: 1 };
      case 'features':
        return { values: rowFeatures(ratings, rows, userEncoder, userX, itemEncoder, itemX), width: nFeatures };
    }
  };

  const held = rowsOf(heldRows);
  const cold = Array.from(
    heldRows,
    (row) => users.indexOf[ratings.userIndex[row]!] === UNKNOWN_INDEX || items.indexOf[ratings.itemIndex[row]!] === UNKNOWN_INDEX,
  );
  const coldRows = cold.filter(Boolean).length;
  const heldMetrics = (predictions: Float32Array): Record<string, number> => {
    const coldTrue = held.y.filter((_, r) => cold[r]);
    const coldPredicted = predictions.filter((_, r) => cold[r]);
    return {
      baseline_rmse: rmse(held.y, new Float32Array(held.n).fill(globalMean)),
      cold_rows: coldRows,
      cold_rmse: coldRows > 0 ? rmse(coldTrue, coldPredicted) : Number.NaN,
    };
  };

  const embedded = (ids: readonly string[], indexOf: Int32Array): string[] => ids.filter((_, e) => indexOf[e] !== UNKNOWN_INDEX);
  return {
    train: rowsOf(trainRows),
    held,
    encoding: { columns: featureNames.map((name) => ({ name, kind: 'numeric' })), featureNames, target: 'rating', classes: null },
    standardizer: { mean: featureNames.map(() => 0), std: featureNames.map(() => 1) },
    ratings: {
      shape: { userRows: users.rows, itemRows: items.rows, nFeatures, globalMean },
      heldMetrics,
      saved: () => ({
        userColumn: ratings.userColumn,
        itemColumn: ratings.itemColumn,
        globalMean,
        inputs: inputNames,
        users: { embedded: embedded(ratings.users.ids, users.indexOf), encoder: userEncoder, table: sideTableToJson(ratings.users) },
        items: { embedded: embedded(ratings.items.ids, items.indexOf), encoder: itemEncoder, table: sideTableToJson(ratings.items) },
      }),
    },
  };
}
