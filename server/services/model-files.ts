import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { NotFoundError, ValidationError } from '../errors.js';
import { cvVersusTest } from './cv-versus-test.js';
import { type OperatingPoint, operatingPointOf } from '../results/operating-point.js';
import type { ModelRecord } from '../storage/model-store.js';
import type { Storage } from '../storage/storage.js';
import { isInside } from './spec-files.js';

export type ModelFile = { readonly name: string; readonly bytes: number };

/** One metric of a refit model: the cross-validation estimate of its source run beside the test score. */
export type ModelMetric = {
  readonly name: string;
  readonly cvMean: number | null;
  readonly cvStd: number | null;
  readonly test: number | null;
};

export type ModelInfo = {
  readonly modelId: number;
  readonly experimentId: number;
  /** The refit run that trained it, and its number in the experiment. */
  readonly runId: number;
  readonly runNumber: number;
  /** The search run whose configuration was refitted, and its number. */
  readonly sourceRunId: number | null;
  readonly sourceRunNumber: number | null;
  readonly format: string;
  readonly createdAt: number;
  readonly testMetrics: Readonly<Record<string, number | null>>;
  readonly metrics: readonly ModelMetric[];
  /** A binary model's frozen threshold, how it was chosen and the test confusion matrix at it; null otherwise. */
  readonly operatingPoint: OperatingPoint | null;
  /** Folder relative to the data directory; null when the stored path is outside it (nothing is served then). */
  readonly location: string | null;
  readonly files: readonly ModelFile[];
};

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Refit models and their files. Files are served only from a model's own folder, only when
 * that folder's real path lies inside the data directory, and only by a name that is one of
 * the folder's entries: `../`, absolute paths and encoded variants never reach the disk.
 */
export class ModelFiles {
  readonly #storage: Storage;
  readonly #dataDir: string;

  constructor(storage: Storage, dataDir: string) {
    this.#storage = storage;
    this.#dataDir = dataDir;
  }

  /** The model's folder (real path) when it is inside the data directory, else null. */
  #folder(model: ModelRecord): string | null {
    try {
      const root = realpathSync(this.#dataDir);
      const folder = realpathSync(model.path);
      return isInside(root, folder) && folder !== root && statSync(folder).isDirectory() ? folder : null;
    } catch {
      return null;
    }
  }

  #files(folder: string | null): ModelFile[] {
    if (folder === null) return [];
    return readdirSync(folder, { withFileTypes: true })
      .filter((entry) => entry.isFile() && FILE_NAME.test(entry.name))
      .map((entry) => ({ name: entry.name, bytes: statSync(join(folder, entry.name)).size }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  #info(model: ModelRecord): ModelInfo {
    const folder = this.#folder(model);
    const metrics = cvVersusTest(this.#storage.runs, model);
    let location: string | null = null;
    if (folder !== null) location = relative(realpathSync(this.#dataDir), folder);
    return {
      modelId: model.modelId,
      experimentId: model.experimentId,
      runId: model.runId,
      runNumber: this.#storage.runs.get(model.runId).number,
      sourceRunId: model.sourceRunId,
      sourceRunNumber: model.sourceRunId === null ? null : this.#storage.runs.get(model.sourceRunId).number,
      format: model.format,
      createdAt: model.createdAt,
      testMetrics: model.testMetrics,
      metrics,
      operatingPoint: model.decision ? operatingPointOf(model.decision) : null,
      location,
      files: this.#files(folder),
    };
  }

  /** Models of an experiment, newest first. @throws {NotFoundError} */
  ofExperiment(experimentId: number): ModelInfo[] {
    this.#storage.experiments.get(experimentId);
    return this.#storage.models.ofExperiment(experimentId).map((model) => this.#info(model));
  }

  /** @throws {NotFoundError} */
  get(modelId: number): ModelInfo {
    return this.#info(this.#storage.models.get(modelId));
  }

  /**
   * The absolute path of one of a model's files, for download.
   * @throws {ValidationError} when `fileName` is not a plain file name.
   * @throws {NotFoundError} for an unknown model, or a name that is not one of its files.
   */
  filePath(modelId: number, fileName: string): { path: string; name: string; bytes: number } {
    if (!FILE_NAME.test(fileName)) {
      throw new ValidationError(`file: expected a file name such as model.json, got "${fileName.slice(0, 100)}"`, [
        { path: 'file', message: 'expected a plain file name (no folders)' },
      ]);
    }
    const model = this.#storage.models.get(modelId);
    const folder = this.#folder(model);
    const file = this.#files(folder).find((entry) => entry.name === fileName);
    if (!file || folder === null) throw new NotFoundError(`model ${modelId} has no file named "${fileName}"`);
    const path = realpathSync(join(folder, file.name));
    if (!isInside(folder, path)) throw new NotFoundError(`model ${modelId} has no file named "${fileName}"`);
    return { path, name: file.name, bytes: file.bytes };
  }
}
