import { parseSpecText } from '../coordinator/prepare-experiment.js';
import { ConflictError, ValidationError } from '../errors.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { DashboardDeps } from './deps.js';
import type { BackgroundWork } from './background-work.js';
import type { BackgroundRefit, BackgroundSearch } from './background-work-types.js';
import type { DataPaths } from './data-paths.js';
import { MAX_SPEC_BYTES, type SpecFiles } from './spec-files.js';

/** Where a new experiment's spec comes from: a file of the experiments folder, by name, or pasted text. */
export type SpecSource = { readonly specFile: string } | { readonly specText: string };

export type StartedExperiment = {
  readonly experiment: Experiment;
  /** The same name and spec existed: its search resumes where it stopped. */
  readonly resumed: boolean;
  readonly runsTotal: number;
  readonly search: BackgroundSearch;
};

/**
 * The dashboard's state-changing actions: start an experiment, refit a run, delete an
 * experiment. Validation is the CLI's (the coordinator's `prepare`); the work runs in `BackgroundWork`.
 */
export class ExperimentCommands {
  readonly #deps: DashboardDeps;
  readonly #background: BackgroundWork;
  readonly #specs: SpecFiles;
  readonly #dataPaths: DataPaths;

  constructor(deps: DashboardDeps, background: BackgroundWork, specs: SpecFiles, dataPaths: DataPaths) {
    this.#deps = deps;
    this.#background = background;
    this.#specs = specs;
    this.#dataPaths = dataPaths;
  }

  /**
   * Validates the spec exactly as `foldwise run` does, records the experiment and its runs, and
   * starts the search in the background. Dataset files must lie in the experiments folder or
   * the data directory (uploads included); relative paths are resolved against the experiments folder (DataPaths).
   * @throws {ValidationError} with one issue (path → message) per bad field.
   * @throws {ConflictError} when the name exists with a different spec.
   */
  async start(source: SpecSource): Promise<StartedExperiment> {
    const specText = 'specFile' in source ? this.#specs.read(source.specFile) : source.specText;
    if (specText.trim() === '')
      throw new ValidationError('specText: the spec is empty', [{ path: 'specText', message: 'paste a spec (YAML or JSON)' }]);
    if (Buffer.byteLength(specText) > MAX_SPEC_BYTES) {
      throw new ValidationError(`specText: longer than ${MAX_SPEC_BYTES / 1024} kB`, [{ path: 'specText', message: 'spec too long' }]);
    }
    const { coordinator } = this.#deps;
    this.#checkDataPath(specText);
    const prepared = await coordinator.prepare(specText, {
      baseDir: this.#dataPaths.experimentsDir,
      allowLargeGrid: false,
      allowedDataRoots: this.#dataPaths.roots,
    });
    const search = this.#background.startSearch(prepared.experiment.experimentId);
    return { experiment: prepared.experiment, resumed: prepared.resumed, runsTotal: prepared.runsTotal, search };
  }

  /**
   * Any dataset that names a file or folder (csv, movielens, and kinds added later) must point
   * inside the folders the dashboard may read: the web never makes foldwise read elsewhere.
   * (prepare checks CSV paths itself; this covers every kind with a `path`, and says which folders.)
   */
  #checkDataPath(specText: string): void {
    const dataset = parseSpecText(specText).dataset as { path?: unknown };
    if (typeof dataset.path === 'string') this.#dataPaths.check(dataset.path);
  }

  /**
   * Stops the search (or refit) of the experiment that this dashboard runs, as Ctrl-C stops
   * `foldwise run`: running tasks end as interrupted. See BackgroundWork.stop.
   */
  stop(experimentId: number): Promise<BackgroundSearch | null> {
    return this.#background.stop(experimentId);
  }

  /**
   * Searches an interrupted (or failed) experiment again from where it stopped, as a second
   * `foldwise run` of its spec does; finished folds are kept.
   * @throws {ConflictError} when its search has finished (nothing to resume).
   * @throws {LeaseHeldError} when another process runs it.
   */
  resume(experimentId: number): BackgroundSearch {
    const experiment = this.#deps.storage.experiments.get(experimentId);
    if (experiment.status === 'done' && !this.#background.isSearching(experimentId))
      throw new ConflictError(`the search of "${experiment.name}" has finished; there is nothing to resume`);
    return this.#background.startSearch(experimentId);
  }

  /** Refits a finished run (the best when `runId` is absent) in the background. See BackgroundWork.startRefit. */
  refit(experimentId: number, runId?: number): Promise<BackgroundRefit> {
    return this.#background.startRefit(experimentId, runId);
  }

  /**
   * Deletes an experiment with its runs, curves and model files, once `confirm` repeats its name.
   * @throws {ValidationError} when the confirmation does not match.
   * @throws {ConflictError} while a search or refit of it runs.
   * @throws {NotFoundError}
   */
  delete(experimentId: number, confirm: string): void {
    const { storage, coordinator } = this.#deps;
    const experiment = storage.experiments.get(experimentId);
    if (confirm !== experiment.name) {
      throw new ValidationError(`confirm: type the experiment's name ("${experiment.name}") to delete it`, [
        { path: 'confirm', message: `type "${experiment.name}" to confirm` },
      ]);
    }
    if (this.#background.isSearching(experimentId))
      throw new ConflictError(`"${experiment.name}" is searching; stop it before deleting it`);
    if (this.#background.isRefitting(experimentId))
      throw new ConflictError(`a refit of "${experiment.name}" is running; wait for it before deleting`);
    coordinator.deleteExperiment(experimentId);
  }
}
