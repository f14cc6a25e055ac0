/**
 * What a task trains on: its table (cached per worker process), its training and held-out rows
 * (cut once per table), the preprocessing fitted on the training rows only, and its seeds.
 */
import type { TensorFlow } from '../backend.js';
import type { ExperimentSpec, Task } from '../contract/protocol.js';
import { datasetDigest, shortDigest } from '../contract/dataset-digest.js';
import { PARAM_NAMES, type TaskKind } from '../contract/vocabulary.js';
import { datasetKey, loadDataset } from '../data/load.js';
import { featureRows, type FittedFeatures, fitFeatures } from '../data/pipeline.js';
import { binaryTargets, modelClasses, type PositiveClass, positiveClassOf } from '../data/positive-class.js';
import { gather, type Standardizer } from '../data/preprocess.js';
import { outerSplits, splitTest, validationSplits } from '../data/splits.js';
import { DataError, type Encoding, type Table } from '../data/table.js';
import { prepareRatingsData, type PreparedRatings } from '../recsys/prepare.js';
import { deriveSeed } from '../rng.js';
import { omittedFromIdentity } from '../contract/spec.js';
import { classWeightsOf } from './class-weights.js';
import { preparedRows } from './prepared-rows.js';
import type { Pacer } from './pacing.js';
import type { ModelRows, TrainingSeeds } from './types.js';

export type TaskData = {
  readonly train: ModelRows;
  /** Validation rows (search) or test rows (refit). */
  readonly held: ModelRows;
  /** How raw rows become the features input; saved with a refit model. */
  readonly encoding: Encoding;
  readonly standardizer: Standardizer;
  readonly nClasses: number;
  /** Class labels by the model's output index (binary: the other class, then the positive one); null for regression. */
  readonly classes: readonly string[] | null;
  /** Binary tasks: the positive class, whose targets are 1 (positive-class.ts). */
  readonly positive?: PositiveClass;
  /** The weight of each class's rows in the training loss, by class index (class-weights.ts); null: all 1. */
  readonly classWeights: Float32Array | null;
  /** Ratings tables only: the model's sizes, extra held-out metrics, and what a refit saves. */
  readonly ratings?: PreparedRatings;
};

/** Everything a trainer is built from. */
export type TrainerSetup = {
  readonly tf: TensorFlow;
  readonly task: Task;
  readonly data: TaskData;
  readonly seeds: TrainingSeeds;
  readonly pacer: Pacer;
};

/** Tables per worker process, most recently used last: the k folds of a run load the data once. */
const tableCache = new Map<string, Promise<Table>>();
const TABLE_CACHE_SIZE = 4;

export function loadTable(task: Task): Promise<Table> {
  const key = tableKey(task.spec, task.taskKind, task.dataSha256);
  const table = tableCache.get(key) ?? loadCheckedTable(task);
  remember(key, table);
  // A failed load is not cached: the next task retries (the file may have been fixed).
  table.catch(() => tableCache.get(key) === table && tableCache.delete(key));
  return table;
}

/**
 * The describe step's table (describe.ts), kept where the tasks of its search look for it: under
 * the task the table has (an inferred task loads the same table as that task named) and the digest
 * of the bytes it came from, hashed after reading as `loadTable` does. So the search's first task
 * on this worker trains at once instead of reading the file again.
 */
export async function loadDescribedTable(spec: ExperimentSpec): Promise<Table> {
  const table = await loadDataset(spec.dataset, spec.seed, spec.task);
  const sha256 = await datasetDigest(spec.dataset);
  remember(tableKey(spec, table.task, sha256 ?? undefined), Promise.resolve(table));
  return table;
}

/** The digest is part of the key: a table read from other bytes of the same file is another table. */
function tableKey(spec: ExperimentSpec, taskKind: TaskKind, sha256: string | undefined): string {
  return `${datasetKey(spec.dataset, spec.seed, taskKind)}\0${sha256 ?? ''}`;
}

function remember(key: string, table: Promise<Table>): void {
  tableCache.delete(key);
  tableCache.set(key, table);
  if (tableCache.size > TABLE_CACHE_SIZE) tableCache.delete(tableCache.keys().next().value!);
}

/**
 * Loads the task's table, then checks that the bytes it came from are the ones the search started
 * with (queue workers check their copies the same way): a CSV edited mid-search is refused, not used.
 * @throws {DataError} naming the file and both digests.
 */
async function loadCheckedTable(task: Task): Promise<Table> {
  const { dataset } = task.spec;
  const table = await loadDataset(dataset, task.spec.seed, task.taskKind);
  if (task.dataSha256 === undefined) return table;
  const actual = await datasetDigest(dataset);
  if (actual !== task.dataSha256) {
    const path = 'path' in dataset ? dataset.path : dataset.kind;
    throw new DataError(
      `${path} changed after the search started: its bytes hash to ${actual === null ? 'nothing readable' : shortDigest(actual)}, ` +
        `not ${shortDigest(task.dataSha256)}; the task is refused rather than trained on other data. Put the file back to ` +
        'finish this search, or search the new data under a new experiment name',
    );
  }
  return table;
}

/**
 * Cuts the test split first (DESIGN.md), then the fold; fits the preprocessing on the training
 * rows only and applies it to the held-out ones: on a CSV table the feature pipeline (imputation,
 * category levels, indicators) and the standardiser, on generated data the standardiser, on a
 * ratings table the side-feature encoders and id maps (recsys/prepare.ts). The fitted features
 * are cached per split and the prepared rows of recent splits per worker (prepared-rows.ts), so
 * the runs of a grid share them; only the class weights are the task's own.
 * @throws {RangeError} when the task's fold does not exist.
 * @throws {Error} when there are no held-out rows.
 */
export function prepareData(table: Table, task: Task): TaskData {
  const split = taskSplit(table, task);
  const { trainRows, heldRows } = split;
  if (heldRows.length === 0)
    throw new Error(task.kind === 'search' ? `fold ${task.foldIndex} has no validation rows` : 'the test split has no rows');
  const { ratings } = table;
  if (ratings !== undefined) {
    const { family } = task.params;
    const build = (): TaskData => ({
      ...prepareRatingsData(table, ratings, family, trainRows, heldRows),
      nClasses: 1,
      classes: null,
      classWeights: null,
    });
    return preparedRows(split, `ratings/${family}`, build, taskRows);
  }
  const positive = table.task === 'binary' ? cachedPositiveClass(table, task.spec) : undefined;
  const data = preparedRows(split, positive?.label ?? '', () => featureData(table, split, positive), taskRows);
  return { ...data, classWeights: data.classes === null ? null : classWeightsOf(task.params.classWeight, data.classes, data.train.y) };
}

/** A split's rows of a features table, encoded with the pipeline fitted on its training rows (fitted once per split). */
function featureData(table: Table, split: Split, positive: PositiveClass | undefined): Omit<TaskData, 'classWeights'> {
  split.fitted ??= fitFeatures(table, split.trainRows);
  const fitted = split.fitted;
  const rowsOf = (rows: Int32Array): ModelRows => ({
    inputs: [{ values: featureRows(table, fitted, rows), width: fitted.encoding.featureNames.length }],
    y: positive === undefined ? gather(table.y, rows) : binaryTargets(gather(table.y, rows), positive),
    n: rows.length,
  });
  const classes =
    table.encoding.classes === null ? null : positive ? modelClasses(table.encoding.classes, positive) : table.encoding.classes;
  return {
    train: rowsOf(split.trainRows),
    held: rowsOf(split.heldRows),
    encoding: fitted.encoding,
    standardizer: fitted.standardizer,
    nClasses: classCount(table),
    classes,
    ...(positive === undefined ? {} : { positive }),
  };
}

function taskRows(data: Pick<TaskData, 'train' | 'held'>): readonly ModelRows[] {
  return [data.train, data.held];
}

/** Positive classes chosen per cached table and spec: the folds of a search share one. */
const positiveCache = new WeakMap<Table, Map<string, PositiveClass>>();

function cachedPositiveClass(table: Table, spec: Task['spec']): PositiveClass {
  const key = JSON.stringify([spec.positiveClass ?? null, spec.testSplit, spec.seed]);
  const forTable = positiveCache.get(table) ?? new Map<string, PositiveClass>();
  positiveCache.set(table, forTable);
  let positive = forTable.get(key);
  if (positive === undefined) {
    positive = positiveClassOf(table, spec);
    forTable.set(key, positive);
  }
  return positive;
}

/**
 * The seeds of a task's random streams. The task's seed comes from the experiment seed, the
 * hyperparameters but `epochs`, the kind, the fold and (nested CV) the outer fold, but not the run id, so that re-running
 * the same spec reproduces the same curves.
 */
export function taskSeeds(task: Task): TrainingSeeds {
  // Hyperparameters at a default left out of a run's identity do not change its seeds (spec.ts). Nor does `epochs`: it is a
  // budget, not a model choice, so a grid's epochs axis compares the same initial weights and shuffles at two budgets, and a
  // shorter run is exactly the first epochs of a longer one (epoch-prefix sharing reads it off them). A refit's
  // seed stays its configuration's whatever epochs its search chose.
  const params = JSON.stringify(
    PARAM_NAMES.filter((name) => name !== 'epochs' && !omittedFromIdentity(name, task.params[name])).map((name) => [
      name,
      task.params[name],
    ]),
  );
  const outer = task.outerFold === undefined ? '' : `outer/${task.outerFold}/`;
  const seed = deriveSeed(task.spec.seed, `task/${outer}${task.kind}/${task.foldIndex}/${params}`);
  return { init: deriveSeed(seed, 'init'), shuffle: deriveSeed(seed, 'shuffle'), dropout: deriveSeed(seed, 'dropout') };
}

type TaskRows = { readonly trainRows: Int32Array; readonly heldRows: Int32Array };
/** A split and, once a task has needed it, the features fitted on its training rows. */
type Split = TaskRows & { fitted?: FittedFeatures };

/**
 * Splits already cut, and their fitted features, per cached table: every run of a search reuses
 * the same folds, so a worker cuts them and fits their pipeline and standardiser once.
 */
const splitCache = new WeakMap<Table, Map<string, Split>>();

/** The task's training rows and its held-out rows: the fold's validation rows (search) or the test split (refit). */
function taskSplit(table: Table, task: Task): Split {
  const { spec } = task;
  const key = JSON.stringify([
    task.taskKind,
    spec.testSplit,
    spec.validation,
    spec.seed,
    task.kind,
    task.kind === 'search' ? task.foldIndex : -1,
    task.outerFold ?? -1,
  ]);
  const cached = splitCache.get(table)?.get(key);
  if (cached !== undefined) return cached;
  const split: Split = { ...cutRows(table, task) };
  const forTable = splitCache.get(table) ?? new Map<string, Split>();
  forTable.set(key, split);
  splitCache.set(table, forTable);
  return split;
}

function cutRows(table: Table, task: Task): TaskRows {
  const { spec } = task;
  const classNames = table.encoding.classes ?? undefined;
  const { train: nonTest, test } = splitTest(table.y, task.taskKind, spec.testSplit.fraction, spec.seed);
  // Nested CV: the outer fold's training part stands in for the non-test rows, the outer fold for the test split.
  const outer = spec.validation.outer;
  const part =
    task.outerFold === undefined || outer === undefined
      ? { train: nonTest, validation: test }
      : outerSplits(table.y, nonTest, outer, task.taskKind, spec.seed, classNames)[task.outerFold];
  if (part === undefined) throw new RangeError(`outer fold ${task.outerFold} does not exist: validation.outer.k is ${outer?.k}`);
  if (task.kind === 'refit') return { trainRows: part.train, heldRows: part.validation };
  const folds = validationSplits(table.y, part.train, spec.validation, task.taskKind, spec.seed, classNames);
  const fold = folds[task.foldIndex];
  if (fold === undefined)
    throw new RangeError(`fold ${task.foldIndex} does not exist: the validation has ${folds.length} fold${folds.length === 1 ? '' : 's'}`);
  return { trainRows: fold.train, heldRows: fold.validation };
}

function classCount(table: Table): number {
  if (table.task === 'binary') return 2;
  if (table.task === 'regression') return 1;
  if (table.encoding.classes === null) throw new Error('a multiclass table without class labels');
  return table.encoding.classes.length;
}
