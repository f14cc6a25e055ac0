/**
 * What a refit model trained on ratings saves beside the network (the `ratings` field of
 * `preprocessing.json`), so that `foldwise predict` can turn (user, item) rows into the model's
 * inputs exactly as training did: the id maps (which ids have an embedding, and where), the side
 * feature encoders fitted on the refit's training rows, and the users' and items' raw side
 * features for looking them up by id.
 */
import { z } from 'zod';
import { savedSideTableSchema, sideEncoderSchema, type SavedSideTable, type SideEncoder } from './side-features.js';
import type { RatingsInput } from './models.js';

export type SavedSide = {
  /** Ids with an embedding: `embedded[k]` has index k + 1; any other id gets index 0 (unknown). */
  readonly embedded: readonly string[];
  readonly encoder: SideEncoder;
  /** Raw side features of every user (item) of the dataset, for look-up by id. */
  readonly table: SavedSideTable;
};

export type RatingsPreprocessing = {
  /** Id columns of `foldwise predict` input (also accepted: `user` and `item`). */
  readonly userColumn: string;
  readonly itemColumn: string;
  /** Mean rating of the training rows (μ). */
  readonly globalMean: number;
  /** The model's inputs, in order. */
  readonly inputs: readonly RatingsInput[];
  readonly users: SavedSide;
  readonly items: SavedSide;
};

const savedSideSchema = z.strictObject({ embedded: z.array(z.string()), encoder: sideEncoderSchema, table: savedSideTableSchema });

export const ratingsPreprocessingSchema = z.strictObject({
  userColumn: z.string().min(1),
  itemColumn: z.string().min(1),
  globalMean: z.number(),
  inputs: z.array(z.enum(['user', 'item', 'features'])).min(1),
  users: savedSideSchema,
  items: savedSideSchema,
});
