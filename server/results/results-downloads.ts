/**
 * The results files the dashboard serves (`runs.csv`, `runs.json`, `curves.csv`, `model.onnx`),
 * made by the same modules as `foldwise show --format` and `foldwise export`. Unknown ids throw
 * NotFoundError; a run without a refit model throws NotFoundError saying how to make one.
 */
import { NotFoundError } from '../errors.js';
import type { ModelFiles } from '../services/model-files.js';
import type { Storage } from '../storage/storage.js';
import { curveRows } from './curves-csv.js';
import { onnxModelBytes } from './onnx-file.js';
import { refitModelFor } from './refit-model.js';
import { resultsCsv } from './results-csv.js';
import { resultsJson, type ResultsJson } from './results-json.js';
import { resultsTable } from './results-table.js';

export type Download<T> = { readonly fileName: string; readonly content: T };

export class ResultsDownloads {
  readonly #storage: Storage;
  readonly #models: ModelFiles;

  constructor(storage: Storage, models: ModelFiles) {
    this.#storage = storage;
    this.#models = models;
  }

  #table(experimentId: number) {
    return resultsTable(this.#storage.experiments.get(experimentId), this.#storage);
  }

  /** One row per search run. @throws {NotFoundError} */
  runsCsv(experimentId: number): Download<string> {
    const table = this.#table(experimentId);
    return { fileName: `${table.name}-runs.csv`, content: resultsCsv(table) };
  }

  /** @throws {NotFoundError} */
  runsJson(experimentId: number): Download<ResultsJson> {
    const table = this.#table(experimentId);
    return { fileName: `${table.name}-runs.json`, content: resultsJson(table) };
  }

  /** The curve points, as rows to stream. @throws {NotFoundError} */
  curves(experimentId: number): Download<ReturnType<typeof curveRows>> {
    const experiment = this.#storage.experiments.get(experimentId);
    return { fileName: `${experiment.name}-curves.csv`, content: curveRows(this.#storage, experimentId) };
  }

  /**
   * The refit model of a run (a search run's newest refit, or a refit run's own model) as ONNX.
   * @throws {NotFoundError} when there is none, or its files are not in the data directory.
   * @throws {ConflictError} when the exporter cannot express the model.
   */
  async onnx(experimentId: number, runId: number): Promise<Download<Uint8Array>> {
    const experiment = this.#storage.experiments.get(experimentId);
    const { model } = refitModelFor(this.#storage, experiment, { by: 'runId', runId });
    // Files are read only from a model folder inside the data directory, as for the other model downloads.
    if (this.#models.get(model.modelId).location === null)
      throw new NotFoundError(`the refit model of run ${runId} has no files in the data directory`);
    const number = this.#storage.runs.get(runId).number;
    const label = `refit model of run #${number}`;
    return { fileName: `${experiment.name}-run-${number}.onnx`, content: await onnxModelBytes(model.path, label) };
  }
}
