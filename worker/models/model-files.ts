/**
 * A refit model on disk, and predictions from it (`foldwise predict`).
 *
 * A model folder holds the TensorFlow.js layers format (`model.json` + `weights.bin`, loadable
 * by any TensorFlow.js with `tf.loadLayersModel`) and `preprocessing.json`: how raw rows become
 * the model's inputs (encoding and the training standardiser) and how outputs become labels.
 * The files are written and read with node:fs, so no backend's `file://` handler is needed.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import { z } from 'zod';
import type { TensorFlow } from '../backend.js';
import { quote, summariseValues } from '../data/cells.js';
import { encodeRows, type UnseenCategories } from '../data/encode.js';
import { columnWidth } from '../data/pipeline.js';
import { DataError, type Encoding } from '../data/table.js';
import { predictArray } from './layers.js';
import { standardizeInPlace, type Standardizer } from '../data/preprocess.js';
import { BACKENDS, type BackendName } from '../contract/protocol.js';
import { predictRatingsRows } from '../recsys/predict.js';
import { ratingsPreprocessingSchema, type RatingsPreprocessing } from '../recsys/preprocessing.js';
import {
  CATEGORICAL_IMPUTE,
  NUMERIC_IMPUTE,
  storedParamsSchema,
  thresholdSchema,
  type Params,
  type ThresholdSpec,
} from '../contract/spec.js';
import { DEFAULT_THRESHOLD, TASKS, type TaskKind } from '../contract/vocabulary.js';

/** The network's topology and weights manifest (TensorFlow.js layers format). */
export const MODEL_FILE = 'model.json';
/** All weights, in the order of the manifest. */
export const WEIGHTS_FILE = 'weights.bin';
/** The `Preprocessing` record. */
export const PREPROCESSING_FILE = 'preprocessing.json';

/** Everything besides the network that `foldwise predict` needs, as saved in `preprocessing.json`. */
export type Preprocessing = {
  readonly format: 'foldwise-preprocessing';
  readonly version: 1;
  readonly task: TaskKind;
  /**
   * How raw CSV rows were encoded into features: per column the fitted imputation, category
   * levels ("other" included) and missing indicator; and the id column, if any.
   */
  readonly encoding: Encoding;
  /** Fitted on the refit's training rows; applied before the network. */
  readonly standardizer: Standardizer;
  /** Class labels by output index (binary: the other class, then the positive one); null for regression. */
  readonly classes: readonly string[] | null;
  /**
   * Binary models: the operating threshold frozen at the refit (a row is `positiveClass` when
   * p(positive) > value), and how it was chosen (the spec's `selection.threshold`, or null: the
   * default 0.5). Absent in model folders written before thresholds: 0.5, and the second class.
   */
  readonly threshold?: { readonly value: number; readonly objective: ThresholdSpec | null; readonly positiveClass: string };
  readonly params: Params;
  /** Backend the model was trained on. */
  readonly backend: BackendName;
  /** The experiment seed. */
  readonly seed: number;
  /**
   * Models trained on a ratings dataset: id maps, side-feature encoders and side tables, so that
   * `predict` takes (user, item) rows (recsys/predict.ts). `encoding` and `standardizer` then
   * describe the model's `features` input (already standardised: identity standardiser).
   */
  readonly ratings?: RatingsPreprocessing;
};

/** A model loaded from its folder, ready to predict. Dispose `model` when done. */
export type SavedModel = { readonly model: LayersModel; readonly preprocessing: Preprocessing };

/**
 * Predictions as a table: one header, one row per input row, the row's key first (the model's id
 * column, or `row`). `unseen` lists, per categorical column without "other", the input rows whose
 * category the training part never saw (scored with an all-zero block).
 */
export type PredictionTable = {
  readonly header: string[];
  readonly rows: (string | number)[][];
  readonly unseen: readonly UnseenCategories[];
};

/** Options of `predictRows`. */
export type PredictOptions = {
  /** Names the input in error messages (e.g. the CSV path). */
  readonly source?: string;
  /** Refuse unseen categories (a DataError naming them) instead of reporting them in `unseen`. */
  readonly strict?: boolean;
};

/** Name of the first output column when there is no id column: the 1-based data row number. */
export const ROW_COLUMN = 'row';

/** A model folder that is missing files or holds malformed ones. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

/** Builds the `preprocessing.json` record (fills in the format tag and version). */
export function describePreprocessing(fields: Omit<Preprocessing, 'format' | 'version'>): Preprocessing {
  return { format: 'foldwise-preprocessing', version: 1, ...fields };
}

/** Writes `model.json`, `weights.bin` and `preprocessing.json` into `dir`, creating it. */
export async function saveModel(tf: TensorFlow, model: LayersModel, dir: string, preprocessing: Preprocessing): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      if (artifacts.modelTopology instanceof ArrayBuffer || artifacts.modelTopology === undefined) {
        throw new Error('expected a layers model topology (JSON) to save');
      }
      const modelJson: io.ModelJSON = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []);
      await writeFile(join(dir, WEIGHTS_FILE), new Uint8Array(weights));
      await writeFile(join(dir, MODEL_FILE), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  await writeFile(join(dir, PREPROCESSING_FILE), `${JSON.stringify(preprocessing, null, 2)}\n`);
}

/**
 * Loads a model folder written by `saveModel`.
 * @throws {ModelFileError} naming the file and the bad field when a file is missing or malformed.
 */
export async function loadSavedModel(tf: TensorFlow, dir: string): Promise<SavedModel> {
  const preprocessing = parsePreprocessing(await readJson(join(dir, PREPROCESSING_FILE)), join(dir, PREPROCESSING_FILE));
  const modelJson = parseModelJson(await readJson(join(dir, MODEL_FILE)), join(dir, MODEL_FILE));
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    const buffers = await Promise.all(manifest.flatMap((group) => group.paths).map((path) => readWeights(dir, path)));
    return [specs, buffers];
  });
  const model = await tf.loadLayersModel({ load: async () => artifacts });
  const mismatch = inputMismatch(model, preprocessing);
  if (mismatch !== null) {
    model.dispose();
    throw new ModelFileError(`${dir}: ${mismatch}`);
  }
  return { model, preprocessing };
}

/** Why the network's inputs disagree with preprocessing.json, or null when they agree. */
function inputMismatch(model: LayersModel, preprocessing: Preprocessing): string | null {
  const nFeatures = preprocessing.encoding.featureNames.length;
  const ratings = preprocessing.ratings;
  if (ratings === undefined) {
    const inputs = model.inputs[0]?.shape[1];
    return inputs === nFeatures && model.inputs.length === 1
      ? null
      : `the model takes ${inputs} inputs but ${PREPROCESSING_FILE} encodes ${nFeatures} features`;
  }
  if (model.inputs.length !== ratings.inputs.length)
    return (
      `the model has ${model.inputs.length} inputs but ${PREPROCESSING_FILE} lists ${ratings.inputs.length} ` +
      `(${ratings.inputs.join(', ')})`
    );
  const bad = ratings.inputs.findIndex((name, k) => model.inputs[k]!.shape[1] !== (name === 'features' ? nFeatures : 1));
  return bad < 0
    ? null
    : `input ${bad + 1} (${ratings.inputs[bad]}) of the model has width ${model.inputs[bad]!.shape[1]}, but ` +
        `${PREPROCESSING_FILE} expects ${ratings.inputs[bad] === 'features' ? nFeatures : 1}`;
}

/**
 * Predicts raw rows (keyed by column name, as read from a CSV; extra columns are ignored).
 * The first output column is the model's id column (named as in the data) when the model has one
 * and the input holds it, else `row`, the 1-based data row number. Then binary: the label at the
 * model's frozen threshold and the probability of the positive class (`probability_<label>`);
 * multiclass: the most probable label and one probability column per class; regression: the
 * prediction. A model trained on ratings takes (user, item) rows instead and adds `user_seen`,
 * `item_seen` (recsys/predict.ts).
 * @throws {DataError} when a row lacks a column or has a bad cell, or (`strict`) an unseen category.
 */
export async function predictRows(
  tf: TensorFlow,
  saved: SavedModel,
  rows: readonly Record<string, string>[],
  options: PredictOptions = {},
): Promise<PredictionTable> {
  const { ratings, encoding } = saved.preprocessing;
  const predicted =
    ratings !== undefined
      ? { ...(await predictRatingsRows(tf, saved.model, ratings, rows, options)), unseen: [] }
      : await predictFeatureRows(tf, saved, rows, options);
  const key = keyColumn(encoding.id, rows);
  return { ...predicted, header: [key.name, ...predicted.header], rows: predicted.rows.map((row, i) => [key.values[i]!, ...row]) };
}

/** The output's first column (see `predictRows`): one place for the rule, for every kind of model. */
function keyColumn(
  id: string | undefined,
  rows: readonly Record<string, string>[],
): { name: string; values: readonly (string | number)[] } {
  if (id !== undefined && rows.every((row) => Object.hasOwn(row, id))) return { name: id, values: rows.map((row) => row[id]!.trim()) };
  return { name: ROW_COLUMN, values: rows.map((_, i) => i + 1) };
}

/** One line about one column's unseen categories, for a warning or the strict error. */
export function describeUnseen(unseen: UnseenCategories): string {
  const rows = `${unseen.count} row${unseen.count === 1 ? '' : 's'}`;
  const examples = summariseValues(unseen.examples);
  return `column ${quote(unseen.column)}: ${rows} with a category not seen in training (${examples}), scored as none of its categories`;
}

async function predictFeatureRows(
  tf: TensorFlow,
  saved: SavedModel,
  rows: readonly Record<string, string>[],
  options: PredictOptions,
): Promise<PredictionTable> {
  const { encoding, standardizer, task } = saved.preprocessing;
  const nFeatures = encoding.featureNames.length;
  const { x: encoded, unseen } = encodeRows(encoding, rows, options);
  if (options.strict === true && unseen.length > 0)
    throw new DataError(`${options.source ?? 'input'}: ${unseen.map(describeUnseen).join('; ')} (refused: strict)`);
  const x = tf.tensor2d(standardizeInPlace(encoded, nFeatures, standardizer), [rows.length, nFeatures]);
  let outputs: Float32Array;
  try {
    outputs = await predictArray(saved.model, x);
  } finally {
    x.dispose();
  }
  if (task === 'regression') return { header: ['prediction'], rows: Array.from(outputs, (value) => [value]), unseen };

  const classes = saved.preprocessing.classes ?? ['0', '1'];
  if (task === 'binary') {
    // The label at the frozen threshold, and the probability of the positive class (output index 1).
    const threshold = decisionThresholdOf(saved.preprocessing);
    const table = Array.from(outputs, (p): (string | number)[] => [classes[p > threshold ? 1 : 0]!, p]);
    return { header: ['prediction', `probability_${classes[1]}`], rows: table, unseen };
  }
  const header = ['prediction', ...classes.map((label) => `probability_${label}`)];
  const table: (string | number)[][] = [];
  for (let i = 0; i < rows.length; i++) {
    const probabilities = Array.from(outputs.subarray(i * classes.length, (i + 1) * classes.length));
    // Ties go to the first class, as argmax does in the metrics.
    const best = probabilities.reduce((bestIndex, p, k) => (p > probabilities[bestIndex]! ? k : bestIndex), 0);
    table.push([classes[best]!, ...probabilities]);
  }
  return { header, rows: table, unseen };
}

/** A binary model's operating threshold: the one frozen at its refit, or 0.5 for a model folder without one. */
export function decisionThresholdOf(preprocessing: Preprocessing): number {
  return preprocessing.threshold?.value ?? DEFAULT_THRESHOLD;
}

/**
 * Loads the model in `modelDir`, predicts `rows` and disposes the model: the one-call form of
 * `loadSavedModel` + `predictRows` for `foldwise predict`.
 * @throws {ModelFileError | DataError}
 */
export async function predictFromCsv(
  tf: TensorFlow,
  modelDir: string,
  rows: Record<string, string>[],
  options: PredictOptions = {},
): Promise<PredictionTable> {
  const saved = await loadSavedModel(tf, modelDir);
  try {
    return await predictRows(tf, saved, rows, options);
  } finally {
    saved.model.dispose();
  }
}

// ───────────────────────────── file parsing ─────────────────────────────

const columnSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    name: z.string(),
    kind: z.literal('numeric'),
    impute: z.strictObject({ strategy: z.enum(NUMERIC_IMPUTE), value: z.number() }).optional(),
    indicator: z.boolean().optional(),
  }),
  z.strictObject({
    name: z.string(),
    kind: z.literal('categorical'),
    categories: z.array(z.string()),
    other: z.strictObject({ grouped: z.number().int().min(1) }).optional(),
    impute: z.strictObject({ strategy: z.enum(CATEGORICAL_IMPUTE), value: z.string() }).optional(),
    indicator: z.boolean().optional(),
  }),
]);

const preprocessingSchema = z
  .strictObject({
    format: z.literal('foldwise-preprocessing'),
    version: z.literal(1),
    task: z.enum(TASKS),
    encoding: z.strictObject({
      columns: z.array(columnSchema),
      featureNames: z.array(z.string()),
      target: z.string(),
      classes: z.array(z.string()).nullable(),
      id: z.string().optional(),
    }),
    standardizer: z.strictObject({ mean: z.array(z.number()), std: z.array(z.number()) }),
    classes: z.array(z.string()).nullable(),
    params: storedParamsSchema,
    backend: z.enum(BACKENDS),
    seed: z.number().int(),
    threshold: z.strictObject({ value: z.number(), objective: thresholdSchema.nullable(), positiveClass: z.string() }).optional(),
    ratings: ratingsPreprocessingSchema.optional(),
  })
  .superRefine((value, ctx) => {
    const nFeatures = value.encoding.featureNames.length;
    const encoded = value.encoding.columns.reduce((sum, column) => sum + columnWidth(column), 0);
    if (encoded !== nFeatures)
      ctx.addIssue({
        code: 'custom',
        path: ['encoding', 'columns'],
        message: `the columns encode ${encoded} features, but featureNames lists ${nFeatures}`,
      });
    for (const key of ['mean', 'std'] as const) {
      if (value.standardizer[key].length !== nFeatures)
        ctx.addIssue({
          code: 'custom',
          path: ['standardizer', key],
          message: `expected ${nFeatures} values (one per feature), got ${value.standardizer[key].length}`,
        });
    }
    if (value.threshold !== undefined && (value.task !== 'binary' || value.classes?.[1] !== value.threshold.positiveClass))
      ctx.addIssue({
        code: 'custom',
        path: ['threshold', 'positiveClass'],
        message: value.task === 'binary' ? 'expected the second class (the positive one)' : 'a threshold belongs to a binary model',
      });
    if ((value.task === 'regression') !== (value.classes === null))
      ctx.addIssue({
        code: 'custom',
        path: ['classes'],
        message: value.task === 'regression' ? 'expected null for regression' : 'expected the class labels',
      });
  });

const modelJsonSchema = z.looseObject({
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: z.array(
    z.looseObject({
      paths: z.array(z.string()),
      weights: z.array(z.looseObject({ name: z.string(), shape: z.array(z.number()), dtype: z.string() })),
    }),
  ),
});

function parsePreprocessing(raw: unknown, path: string): Preprocessing {
  const parsed = preprocessingSchema.safeParse(raw);
  if (!parsed.success) throw new ModelFileError(`${path}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

function parseModelJson(raw: unknown, path: string): io.ModelJSON {
  const parsed = modelJsonSchema.safeParse(raw);
  if (!parsed.success) throw new ModelFileError(`${path}: ${describeIssues(parsed.error)}`);
  // The schema checked what this module relies on; tfjs validates the topology itself.
  return parsed.data as unknown as io.ModelJSON;
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`).join('; ');
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ModelFileError(
      `cannot read ${path}: ${error instanceof Error ? error.message : String(error)} (is this a model folder written by a refit?)`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(`${path}: malformed JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function readWeights(dir: string, path: string): Promise<ArrayBuffer> {
  // Weight files sit beside model.json; a path elsewhere would let a model folder read any file.
  if (basename(path) !== path)
    throw new ModelFileError(`${join(dir, MODEL_FILE)}: weight file "${path}" must be a plain file name in the model folder`);
  try {
    const bytes = await readFile(join(dir, path));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  } catch (error) {
    throw new ModelFileError(`cannot read ${join(dir, path)}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
