import { openDatabase, writeTransaction } from './database.js';
import { ExperimentStore, outerFoldName, type Experiment, type NewExperiment } from './experiment-store.js';
import { RunStore, type FoldResult } from './run-store.js';
import { MetricStore } from './metric-store.js';
import { ModelStore, type NewModel } from './model-store.js';
import { LeaseStore } from './lease-store.js';
import { FeedStore } from './feed-store.js';
import { NoteStore } from './note-store.js';
import { OutOfFoldStore } from './out-of-fold-store.js';
import { TestPredictionStore } from './test-prediction-store.js';
import type { OutOfFold } from '../../worker/contract/protocol.js';
import { ConflictError } from '../errors.js';

/** A refit's result as recorded: its fold's, with the test split's predictions the worker sent. */
export type RefitResult = FoldResult & { readonly testPredictions?: OutOfFold };

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
  /** Notes and tags written on experiments and runs (note-store.ts). */
  readonly notes: NoteStore;
  /** Search folds' out-of-fold predictions (out-of-fold-store.ts). */
  readonly outOfFold: OutOfFoldStore;
  /** Refit models' test predictions, for the run page's charts only (test-prediction-store.ts). */
  readonly testPredictions: TestPredictionStore;
  /**
   * Records a search fold's result and, when it has them, its out-of-fold predictions, in one
   * transaction. Returns false (and records nothing) when the fold is not running under this attempt.
   */
  finishSearchFold(runId: number, foldIndex: number, attempt: number, result: FoldResult, outOfFold?: OutOfFold, now?: number): boolean;
  /**
   * Records a new experiment with its search runs (one fold row per fold), in one transaction.
   * @throws {ConflictError} when the name is taken.
   */
  createExperiment(experiment: NewExperiment, paramsJsonList: readonly string[], nFolds: number, now?: number): Experiment;
  /**
   * Nested CV: records the experiments of `parent`'s `k` outer folds with their search runs (one fold row per
   * fold), or finds them when resuming and adds the runs missing, in one transaction. Each takes the parent's
   * spec (also when an extension replaced it), task, selection and positive class.
   * @throws {ConflictError} when an outer fold's name belongs to another experiment.
   */
  recordOuterFolds(parent: Experiment, k: number, paramsJsonList: readonly string[], nFolds: number, now?: number): Experiment[];
  /**
   * Records a refit's finished fold (and so its run), the model it saved and, when the result
   * carries them, its test predictions, in one transaction.
   * Returns false (and records nothing) when the fold is not running under this attempt.
   */
  finishRefit(runId: number, attempt: number, result: RefitResult, model: NewModel, now?: number): boolean;
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
  const outOfFold = new OutOfFoldStore(db);
  const testPredictions = new TestPredictionStore(db);
  return {
    experiments,
    runs,
    metrics,
    models,
    leases: new LeaseStore(db),
    feed: new FeedStore(db),
    notes: new NoteStore(db),
    outOfFold,
    testPredictions,
    finishSearchFold: (runId, foldIndex, attempt, result, predictions, now = Date.now()) =>
      writeTransaction(db, () => {
        if (!runs.finishFold(runId, foldIndex, attempt, result, now)) return false;
        if (predictions !== undefined) outOfFold.save(runId, foldIndex, predictions);
        return true;
      }),
    createExperiment: (experiment, paramsJsonList, nFolds, now = Date.now()) =>
      writeTransaction(db, () => {
        const created = experiments.create(experiment, now);
        runs.createSearchRuns(created.experimentId, paramsJsonList, nFolds, now);
        return created;
      }),
    recordOuterFolds: (parent, k, paramsJsonList, nFolds, now = Date.now()) =>
      writeTransaction(db, () =>
        Array.from({ length: k }, (_, outerFold) => {
          const name = outerFoldName(parent.name, outerFold);
          const found = experiments.findByName(name);
          if (found && (found.outerOf?.parentExperimentId !== parent.experimentId || found.outerOf.outerFold !== outerFold))
            throw new ConflictError(`an experiment named "${name}" exists and is not outer fold ${outerFold + 1} of "${parent.name}"`);
          const { specText, spec, specHash, datasetKind, task, selectionMetric, selectionDirection, positiveClass } = parent;
          const outerOf = { parentExperimentId: parent.experimentId, outerFold };
          const child =
            found === undefined
              ? experiments.create(
                  { name, specText, spec, specHash, datasetKind, task, selectionMetric, selectionDirection, positiveClass, outerOf },
                  now,
                )
              : found.specText === specText && JSON.stringify(found.spec) === JSON.stringify(spec)
                ? found
                : experiments.updateSpec(found.experimentId, specText, spec, specHash);
          runs.createSearchRuns(child.experimentId, paramsJsonList, nFolds, now);
          return child;
        }),
      ),
    finishRefit: (runId, attempt, result, model, now = Date.now()) =>
      writeTransaction(db, () => {
        if (!runs.finishFold(runId, 0, attempt, result, now)) return false;
        models.save(model, now);
        if (result.testPredictions !== undefined) testPredictions.saveForRefitRun(runId, result.testPredictions);
        return true;
      }),
    batch: (load) => writeTransaction(db, load),
    close: () => db.close(),
  };
}
