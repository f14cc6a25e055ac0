import { openDatabase, writeTransaction } from './database.js';
import { ExperimentStore, type Experiment, type NewExperiment } from './experiment-store.js';
import { RunStore, type FoldResult } from './run-store.js';
import { MetricStore } from './metric-store.js';
import { ModelStore, type NewModel } from './model-store.js';
import { LeaseStore } from './lease-store.js';
import { FeedStore } from './feed-store.js';

/**
 * The stores over one database handle, which stays private: every write is a store method, and a
 * write that spans tables is a method here, in one transaction. Within a process the coordinator
 * is the only writer; other processes wait for its lock (see writeTransaction), and an experiment
 * is written by the one process that holds its lease (lease-store.ts).
 */
export type Storage = {
  readonly experiments: ExperimentStore;
  readonly runs: RunStore;
  readonly metrics: MetricStore;
  readonly models: ModelStore;
  readonly leases: LeaseStore;
  /** The change feed other processes' dashboards follow (feed-store.ts). */
  readonly feed: FeedStore;
  /**
   * Records a new experiment with its search runs (one fold row per fold), in one transaction.
   * @throws {ConflictError} when the name is taken.
   */
  createExperiment(experiment: NewExperiment, paramsJsonList: readonly string[], nFolds: number, now?: number): Experiment;
  /**
   * Records a refit's finished fold (and so its run) and the model it saved, in one transaction.
   * Returns false (and records nothing) when the fold is not running under this attempt.
   */
  finishRefit(runId: number, attempt: number, result: FoldResult, model: NewModel, now?: number): boolean;
  /**
   * Runs several store calls as one transaction, for loading many rows at once (seeding a test or
   * benchmark database), where a commit per call would be slow. Writes a use case needs to be
   * atomic are methods of a store or of this type, not calls to this.
   */
  batch<T>(load: () => T): T;
  close(): void;
};

export function openStorage(path: string): Storage {
  const db = openDatabase(path);
  const experiments = new ExperimentStore(db);
  const runs = new RunStore(db);
  const metrics = new MetricStore(db);
  const models = new ModelStore(db);
  return {
    experiments,
    runs,
    metrics,
    models,
    leases: new LeaseStore(db),
    feed: new FeedStore(db),
    createExperiment: (experiment, paramsJsonList, nFolds, now = Date.now()) =>
      writeTransaction(db, () => {
        const created = experiments.create(experiment, now);
        runs.createSearchRuns(created.experimentId, paramsJsonList, nFolds, now);
        return created;
      }),
    finishRefit: (runId, attempt, result, model, now = Date.now()) =>
      writeTransaction(db, () => {
        if (!runs.finishFold(runId, 0, attempt, result, now)) return false;
        models.save(model, now);
        return true;
      }),
    batch: (load) => writeTransaction(db, load),
    close: () => db.close(),
  };
}
