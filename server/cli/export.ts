/**
 * `foldwise export`: a refit model as ONNX into a folder, or the learning curves as one CSV
 * file. Everything that can fail on bad input (the experiment, the run, the output path, the
 * model itself) is checked before anything is written; files are written under a temporary
 * name beside their destination and renamed into place, so an interrupted export leaves nothing
 * half-written where the user looks.
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { paramsReadBy } from '../../worker/contract/vocabulary.js';
import { ValidationError } from '../errors.js';
import { cvVersusTest } from '../services/cv-versus-test.js';
import type { Storage } from '../storage/storage.js';
import { curveRows, writeCurvesCsv } from '../results/curves-csv.js';
import { onnxModelBytes } from '../results/onnx-file.js';
import { describeChosenModel, refitModelFor, type ModelChoice } from '../results/refit-model.js';
import { searchedParamNames } from '../search/grid.js';

export const ONNX_FILE = 'model.onnx';
export const METADATA_FILE = 'metadata.json';

/** What the user can read about an exported model without opening it: where it came from and how it scored. */
export type ExportMetadata = {
  readonly format: 'foldwise-onnx-export';
  readonly version: 1;
  readonly file: typeof ONNX_FILE;
  readonly experiment: string;
  readonly task: string;
  /** The refit run that trained the model, and the search run whose configuration it refitted (ids, and numbers in the experiment). */
  readonly refitRunId: number;
  readonly sourceRunId: number | null;
  readonly refitRunNumber: number;
  readonly sourceRunNumber: number | null;
  /** Its configuration is the one the experiment's selection rule chose. */
  readonly selected: boolean;
  readonly params: Readonly<Record<string, unknown>>;
  readonly selection: { readonly metric: string; readonly direction: string };
  /** Each test metric of the model beside the cross-validation estimate of its configuration. */
  readonly metrics: ReturnType<typeof cvVersusTest>;
  readonly exportedAt: string;
};

/** The export folder is usable: absent, or an empty folder, or any folder with `force`. */
function checkOutputDir(dir: string, force: boolean): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new ValidationError(`--output: ${dir} is a file; expected a folder to write ${ONNX_FILE} into`);
  if (!force && readdirSync(dir).length > 0)
    throw new ValidationError(`--output: ${dir} is not empty; choose an empty or new folder, or pass --force to overwrite ${ONNX_FILE}`);
}

export type OnnxExportPlan = {
  /** Which model: one line for the user (see describeChosenModel). */
  readonly description: string;
  readonly modelDir: string;
  readonly outputDir: string;
  readonly force: boolean;
  readonly metadata: ExportMetadata;
};

/**
 * The model to export and its metadata, read while the database is open (so that no bad input
 * is found after TensorFlow.js has loaded).
 * @throws {ValidationError} for an output folder that is a file, or not empty without `force`.
 * @throws {NotFoundError} for an unknown experiment or run, or a run without a refit model.
 */
export function onnxExportPlan(
  storage: Storage,
  experimentName: string,
  choice: ModelChoice,
  outputDir: string,
  force: boolean,
): OnnxExportPlan {
  const dir = resolve(outputDir);
  checkOutputDir(dir, force);
  const experiment = storage.experiments.getByName(experimentName);
  const chosen = refitModelFor(storage, experiment, choice);
  const { model } = chosen;
  const params = chosen.refitRun.params;
  return {
    description: describeChosenModel(chosen, searchedParamNames(experiment.spec)),
    modelDir: model.path,
    outputDir: dir,
    force,
    metadata: {
      format: 'foldwise-onnx-export',
      version: 1,
      file: ONNX_FILE,
      experiment: experiment.name,
      task: experiment.task,
      refitRunId: model.runId,
      sourceRunId: model.sourceRunId,
      refitRunNumber: chosen.refitRun.number,
      sourceRunNumber: chosen.sourceRun?.number ?? null,
      selected: chosen.selected,
      params: Object.fromEntries(paramsReadBy([params.family]).map((name) => [name, params[name]])),
      selection: { metric: experiment.selectionMetric, direction: experiment.selectionDirection },
      metrics: cvVersusTest(storage.runs, model),
      exportedAt: new Date().toISOString(),
    },
  };
}

/**
 * Converts the planned model to ONNX (TensorFlow.js is loaded here, lazily) and writes
 * `model.onnx` and `metadata.json` into the output folder. Returns the model file's path and size.
 * @throws {ConflictError} when the model cannot be expressed in ONNX; nothing is written then.
 */
export async function writeOnnxExport(plan: OnnxExportPlan): Promise<{ path: string; bytes: number }> {
  const bytes = await onnxModelBytes(plan.modelDir);
  // Checked again: the folder may have changed while TensorFlow.js loaded.
  checkOutputDir(plan.outputDir, plan.force);
  const parent = dirname(plan.outputDir);
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.${basename(plan.outputDir)}-`));
  try {
    writeFileSync(join(staging, ONNX_FILE), bytes);
    writeFileSync(join(staging, METADATA_FILE), `${JSON.stringify(plan.metadata, null, 2)}\n`);
    if (existsSync(plan.outputDir) && readdirSync(plan.outputDir).length > 0) {
      for (const file of [ONNX_FILE, METADATA_FILE]) renameSync(join(staging, file), join(plan.outputDir, file));
      rmdirSync(staging);
    } else {
      if (existsSync(plan.outputDir)) rmdirSync(plan.outputDir);
      renameSync(staging, plan.outputDir);
    }
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return { path: join(plan.outputDir, ONNX_FILE), bytes: bytes.byteLength };
}

/**
 * Writes every curve point of the experiment's search runs to `file` (long format, see
 * results/curves-csv.ts). Refuses an existing file unless `force`. Returns the rows written.
 */
export async function writeCurvesFile(storage: Storage, experimentName: string, file: string, force: boolean): Promise<number> {
  const path = resolve(file);
  if (existsSync(path) && statSync(path).isDirectory()) throw new ValidationError(`--curves: ${file} is a folder; expected a file name`);
  if (existsSync(path) && !force) throw new ValidationError(`--curves: ${file} exists; choose another name or pass --force to replace it`);
  const experiment = storage.experiments.getByName(experimentName);
  mkdirSync(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${basename(path)}-${process.pid}.tmp`);
  let rows = 0;
  try {
    const counted = (function* () {
      for (const row of curveRows(storage, experiment.experimentId)) {
        rows++;
        yield row;
      }
    })();
    await writeCurvesCsv(counted, createWriteStream(temporary));
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return rows;
}
