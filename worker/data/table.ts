/**
 * The numeric table every dataset becomes, and the error for unusable input data: the leaf that
 * the loaders (CSV, generators, the recommendation loaders) and their users import. It imports
 * nothing of the repository but contract types, so no loader has to import the dispatcher.
 */
import type { TaskKind } from '../contract/vocabulary.js';

/** A feature column as it appears in the source data, before one-hot encoding. */
export type Column =
  | { readonly name: string; readonly kind: 'numeric' }
  | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] };

/** How source rows become feature vectors; saved with a model so `predict` encodes the same way. */
export type Encoding = {
  /** Feature columns in source order (the target is not among them). */
  readonly columns: readonly Column[];
  /** One name per encoded feature: a numeric column's name, or `column=category` for one-hot. */
  readonly featureNames: readonly string[];
  readonly target: string;
  /** Class labels in index order (sorted); `null` for regression. */
  readonly classes: readonly string[] | null;
};

export type Table = {
  readonly nRows: number;
  readonly nFeatures: number;
  /** Row-major nRows × nFeatures, one-hot applied, NOT standardised (that is fitted per split). */
  readonly x: Float32Array;
  /** Class index 0..C-1 for classification, the target value for regression. */
  readonly y: Float32Array;
  readonly task: TaskKind;
  readonly encoding: Encoding;
  /**
   * Ratings datasets only (`ratings`, `movielens`): each row is a (user, item) pair rated y, and
   * this holds the user and item of each row and their raw side features. `x` is then the
   * rows' side features (see worker/recsys/ratings-table.ts).
   */
  readonly ratings?: RatingsData;
};

/** The ratings part of a table: who rated what, and the raw side features of users and items. */
export type RatingsData = {
  /** Per row: index of its user in `users`. */
  readonly userIndex: Int32Array;
  /** Per row: index of its item in `items`. */
  readonly itemIndex: Int32Array;
  readonly users: SideTable;
  readonly items: SideTable;
  /** Name of the user-id column in `foldwise predict` input (and in the source, e.g. `userId`). */
  readonly userColumn: string;
  /** Name of the item-id column (e.g. `movieId`). */
  readonly itemColumn: string;
};

/** The users or the items of a ratings dataset: the raw id and the side features of each. */
export type SideTable = {
  /** Raw id (as in the source files) of each user or item, by index. */
  readonly ids: readonly string[];
  readonly columns: readonly SideColumn[];
};

/** One raw feature column of the users (or items), one value per user (item), by index. */
export type SideColumn =
  /** NaN marks a missing value. */
  | { readonly name: string; readonly kind: 'numeric'; readonly values: Float64Array }
  /** '' marks a missing value. */
  | { readonly name: string; readonly kind: 'categorical'; readonly values: readonly string[] }
  /** A set of labels per entity, e.g. a movie's genres (written `A|B|C` in CSV input). */
  | { readonly name: string; readonly kind: 'multi'; readonly values: readonly (readonly string[])[] };

/** Bad input data. The message says where: file, row (header = row 1) and column. */
export class DataError extends Error {
  override name = 'DataError';
}
