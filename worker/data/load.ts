/**
 * Datasets: the one place that dispatches over dataset kinds. Workers call this themselves from
 * the dataset reference in a task; the data never crosses a process boundary, so the same
 * reference and seed must give the same table.
 */
import type { DatasetSpec } from '../contract/spec.js';
import type { TaskKind } from '../contract/vocabulary.js';
import { loadCsv } from './csv.js';
import { generateFraud, generateSine, loadIris } from './generators.js';
import { DataError, type Table } from './table.js';

/**
 * Loads or generates the table a dataset reference describes.
 * @param seed drives the generators (fraud, sine, ratings); a CSV file, iris or MovieLens ignores it.
 * @param task the task to train; inferred from the target when omitted.
 * @throws {DataError} when the data is unusable or `task` cannot apply to it.
 */
export async function loadDataset(dataset: DatasetSpec, seed: number, task?: TaskKind): Promise<Table> {
  switch (dataset.kind) {
    case 'fraud':
      return withTask(generateFraud(dataset, seed), 'the fraud dataset', task);
    case 'sine':
      return withTask(generateSine(dataset, seed), 'the sine dataset', task);
    case 'iris':
      return withTask(loadIris(), 'the iris dataset', task);
    case 'csv':
      return loadCsv(dataset, task);
    // Loaded on demand: the recommendation code is only needed for ratings datasets.
    case 'ratings':
      return withTask((await import('../recsys/synthetic.js')).generateRatings(dataset, seed), 'the ratings dataset', task);
    case 'movielens':
      return withTask(
        await (await import('../recsys/movielens.js')).loadMovieLens(dataset),
        `the movielens dataset (${dataset.path})`,
        task,
      );
  }
}

/**
 * Cache key for a loaded table: equal keys mean `loadDataset` returns equal tables. A CSV
 * file's key does not depend on the seed (reading a file is not random) nor on its contents.
 * @param task include it when the caller may load the same data for different tasks.
 */
export function datasetKey(dataset: DatasetSpec, seed: number, task?: TaskKind): string {
  const parts: unknown[] = (() => {
    switch (dataset.kind) {
      case 'fraud':
        return ['fraud', dataset.rows, dataset.features, dataset.positiveRate, seed];
      case 'sine':
        return ['sine', dataset.rows, dataset.noise, seed];
      case 'iris':
        return ['iris'];
      case 'csv':
        return ['csv', dataset.path, dataset.target, dataset.columns ?? null, dataset.impute ?? null, dataset.maxCategories ?? null];
      case 'ratings':
        return ['ratings', dataset.users, dataset.items, dataset.ratingsPerUser, dataset.noise, seed];
      case 'movielens':
        return ['movielens', dataset.path, dataset.layout];
    }
  })();
  return JSON.stringify([...parts, task ?? null]);
}

/** Checks a requested task against a dataset whose task is fixed (every kind but CSV). */
function withTask(table: Table, what: string, requested: TaskKind | undefined): Table {
  if (requested !== undefined && requested !== table.task) {
    throw new DataError(`${what} is a ${table.task} task; task "${requested}" does not apply to it`);
  }
  return table;
}
