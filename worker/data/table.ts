/**
 * The numeric table every dataset becomes, and the error for unusable input data: the leaf that
 * the loaders (CSV, generators, the recommendation loaders) and their users import. It imports
 * nothing of the repository but contract types, so no loader has to import the dispatcher.
 */
import type { CategoricalImpute, NumericImpute } from '../contract/spec.js';
import type { TaskKind } from '../contract/vocabulary.js';

/**
 * A feature column as the model encodes it: its kind and what was fitted on the training part
 * (the category levels, the imputed value). Encoded as one feature (numeric) or a one-hot block
 * (categorical: `categories`, then "other" when present), then the missing indicator if any.
 */
export type Column =
  | {
      readonly name: string;
      readonly kind: 'numeric';
      /** How a missing value (NaN, an empty cell) is filled; absent: a missing value is an error. */
      readonly impute?: { readonly strategy: NumericImpute; readonly value: number };
      /** A 0/1 "was missing" feature follows the value. */
      readonly indicator?: boolean;
    }
  | {
      readonly name: string;
      readonly kind: 'categorical';
      /** The levels kept, in text order. */
      readonly categories: readonly string[];
      /**
       * Present when the training part had more categories than `maxCategories`: the rest (and, at
       * predict, any unseen category) share one last level; `grouped` counts the training categories in it.
       */
      readonly other?: { readonly grouped: number };
      /** How a missing value (an empty cell) is filled; absent: a missing value is an error. */
      readonly impute?: { readonly strategy: CategoricalImpute; readonly value: string };
      readonly indicator?: boolean;
    };

/** How source rows become feature vectors; saved with a model so `predict` encodes the same way. */
export type Encoding = {
  /** Feature columns in source order (the target and the id column are not among them). */
  readonly columns: readonly Column[];
  /**
   * One name per encoded feature: a numeric column's name, `column=category` for one-hot,
   * `column=(other)` for the grouped level, `column=(missing)` for a missing indicator.
   */
  readonly featureNames: readonly string[];
  readonly target: string;
  /** Class labels in index order (sorted); `null` for regression. */
  readonly classes: readonly string[] | null;
  /** The id column (`columns.id` of a csv dataset): never a feature, carried to `predict` output. */
  readonly id?: string;
};

/**
 * A feature column as read from a CSV file, before anything is fitted: the pipeline
 * (data/pipeline.ts) fits imputation, category levels and the encoding on a split's training rows.
 */
export type RawColumn =
  | {
      readonly name: string;
      readonly kind: 'numeric';
      /** Per row, float32 as the model sees it; NaN marks a missing value. */
      readonly values: Float32Array;
      /** How missing values are to be filled (the statistic is fitted per split); null: none may be. */
      readonly impute: { readonly strategy: NumericImpute; readonly fill: number } | null;
    }
  | {
      readonly name: string;
      readonly kind: 'categorical';
      /** Per row, the index of its cell in `levels`; -1 marks a missing value. */
      readonly codes: Int32Array;
      /** The distinct cells of the whole file, in text order. */
      readonly levels: readonly string[];
      readonly impute: { readonly strategy: CategoricalImpute; readonly fill: string } | null;
    };

/** The raw features of a CSV table and how the pipeline is fitted on them. */
export type RawFeatures = {
  readonly columns: readonly RawColumn[];
  /** Add a missing indicator after each imputed column with a missing value in the training part. */
  readonly indicator: boolean;
  /** Most levels of a one-hot block, "other" included. */
  readonly maxCategories: number;
};

export type Table = {
  readonly nRows: number;
  readonly nFeatures: number;
  /**
   * Row-major nRows × nFeatures, one-hot applied, NOT standardised (that is fitted per split).
   * A CSV table (`raw` set) holds here its pipeline fitted on ALL rows: a plain view for the
   * describe step and code that knows nothing of raw columns; training fits the pipeline on each
   * split's training rows from `raw` instead.
   */
  readonly x: Float32Array;
  /** Class index 0..C-1 for classification, the target value for regression. */
  readonly y: Float32Array;
  readonly task: TaskKind;
  readonly encoding: Encoding;
  /** CSV tables: the columns as read, from which each split fits its own feature pipeline. */
  readonly raw?: RawFeatures;
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
