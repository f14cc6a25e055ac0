import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { foldCountOf, parseSpec, selectionFor, SpecError, type ExperimentSpec } from '../../worker/contract/spec.js';
import { isRecordedMetric, metricKey, parseMetricKey, TASK_METRICS } from '../../worker/contract/vocabulary.js';
import type { DatasetInfo } from '../../worker/contract/protocol.js';
import { MOVIELENS_FILES } from '../../worker/contract/queue.js';
import { ConflictError, ValidationError } from '../errors.js';
import { canonicalParamsJson, expandGrid, gridSize } from '../search/grid.js';
import type { Storage } from '../storage/storage.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { TaskRunner } from './task-runner.js';
import { assertNotLeased } from './experiment-lease.js';
import { differentSpecMessage, resultFields } from './spec-diff.js';
import { isSampledSearch } from '../../worker/contract/search-spec.js';
import { datasetDigest } from '../../worker/contract/dataset-digest.js';
import { checkWarmStartable, scoringChanges, warmStartFrom } from './warm-start.js';

export type PrepareOptions = {
  /** Folder that relative dataset paths are resolved against (the spec file's folder). */
  readonly baseDir: string;
  /** Allow grids larger than the spec's `maxRuns`. */
  readonly allowLargeGrid?: boolean;
  /** When set, dataset files must lie inside one of these folders (the web API's rule). */
  readonly allowedDataRoots?: readonly string[];
  /** A random or tpe experiment that exists: sample this many trials more than it has (`foldwise run --add-trials N`). */
  readonly addTrials?: number;
  /** A new tpe experiment: start its sampler with this experiment's finished trials (`foldwise run --from NAME`, warm-start.ts). */
  readonly from?: string;
};

export type PreparedExperiment = {
  readonly experiment: Experiment;
  /** True when an experiment with this name and the same spec existed: the search resumes it. */
  readonly resumed: boolean;
  /** A random or tpe experiment whose trials were raised: how many it had. */
  readonly extendedFrom?: number;
  readonly runsTotal: number;
  readonly info: DatasetInfo;
};

/** Parses spec text into the spec, or throws a ValidationError listing every bad field. */
export function parseSpecText(specText: string): ExperimentSpec {
  try {
    return parseSpec(specText);
  } catch (error) {
    if (error instanceof SpecError) throw new ValidationError(`invalid spec:\n${error.message}`, error.issues);
    throw error;
  }
}

/** Makes a CSV file's or MovieLens folder's path absolute and checks where it points; other datasets pass through. */
function resolveDataset(spec: ExperimentSpec, options: PrepareOptions): ExperimentSpec {
  if (spec.dataset.kind !== 'csv' && spec.dataset.kind !== 'movielens') return spec;
  const path = isAbsolute(spec.dataset.path) ? spec.dataset.path : resolve(options.baseDir, spec.dataset.path);
  if (options.allowedDataRoots && !options.allowedDataRoots.some((root) => path.startsWith(`${resolve(root)}/`))) {
    throw new ValidationError(`dataset.path: expected a file inside ${options.allowedDataRoots.join(' or ')}, got ${spec.dataset.path}`, [
      { path: 'dataset.path', message: 'outside the folders foldwise may read' },
    ]);
  }
  return { ...spec, dataset: { ...spec.dataset, path } };
}

/**
 * Hash of what determines results: the resolved spec and the dataset's bytes (the CSV file, or
 * the MovieLens folder's files). `workers`, `description` and a sampled search's extent do not count (spec-diff.ts).
 */
function specHash(spec: ExperimentSpec): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(resultFields(spec)));
  // A missing file is reported by the worker's describe step with a clearer message.
  const addFile = (path: string) => {
    try {
      if (statSync(path).isFile()) hash.update(readFileSync(path));
    } catch {}
  };
  if (spec.dataset.kind === 'csv') addFile(spec.dataset.path);
  if (spec.dataset.kind === 'movielens') {
    // The folder's files as the loader reads them: an edited ratings file is other data.
    for (const name of MOVIELENS_FILES) {
      hash.update(`\0${name}\0`);
      addFile(join(spec.dataset.path, name));
    }
  }
  return hash.digest('hex');
}

function checkMetricsFitTask(spec: ExperimentSpec, info: DatasetInfo): void {
  const metrics = TASK_METRICS[info.task];
  const issues: { path: string; message: string }[] = [];
  if (spec.selection?.metric !== undefined && !isRecordedMetric(info.task, spec.selection.metric)) {
    issues.push({
      path: 'selection.metric',
      message: `expected one of ${metrics.join(', ')} for a ${info.task} task, got "${spec.selection.metric}"`,
    });
  }
  const monitor = spec.validation.earlyStopping?.monitor;
  if (monitor && !isRecordedMetric(info.task, parseMetricKey(monitor).name)) {
    issues.push({
      path: 'validation.earlyStopping.monitor',
      message: `expected one of ${metrics.map((m) => metricKey('val', m)).join(', ')} for a ${info.task} task, got "${monitor}"`,
    });
  }
  if (issues.length > 0) throw new ValidationError(`invalid spec:\n${issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`, issues);
}

/**
 * Validates a spec, reads its dataset once on a worker, and records the experiment with all its
 * runs in one transaction — or, when the name exists with the same spec, returns it for resuming.
 * Nothing is written when anything is wrong.
 */
export async function prepareExperiment(
  storage: Storage,
  runner: TaskRunner,
  specText: string,
  options: PrepareOptions,
): Promise<PreparedExperiment> {
  const spec = resolveDataset(parseSpecText(specText), options);
  const runCount = gridSize(spec);
  if (runCount > spec.maxRuns && !options.allowLargeGrid) {
    throw new ValidationError(
      `grid: expands to ${runCount} runs, more than maxRuns (${spec.maxRuns}); raise maxRuns in the spec or pass --allow-large-grid`,
      [{ path: 'grid', message: `${runCount} runs > maxRuns ${spec.maxRuns}` }],
    );
  }
  const hash = specHash(spec);
  const existing = storage.experiments.findByName(spec.name);
  // Another process searching it: say so before anything else (its runs are not this one's to touch).
  if (existing) assertNotLeased(storage.leases, existing);
  if (existing && existing.specHash !== hash)
    throw new ConflictError(differentSpecMessage(spec.name, existing.spec, spec, await warmStartable(existing, spec)));
  if (options.from !== undefined) checkFrom(spec, { ...options, from: options.from }, existing);
  if (options.addTrials !== undefined) checkAddTrials(spec, existing);
  const info = await runner.describe(spec);
  checkMetricsFitTask(spec, info);
  const nFolds = foldCountOf(spec.validation);
  // A random or tpe search records its trials as it samples them.
  const sampled = isSampledSearch(spec);
  const paramsJsonList = sampled ? [] : expandGrid(spec).map(canonicalParamsJson);
  const selection = selectionFor(spec, info.task);
  // Read before anything is written: a refused source leaves no trace.
  const warmStart =
    options.from === undefined || existing
      ? null
      : warmStartFrom(storage, options.from, {
          spec,
          task: info.task,
          selectionMetric: selection.metric,
          selectionDirection: selection.direction,
          positiveClass: info.positiveClass?.label ?? null,
          dataSha256: await datasetDigest(spec.dataset),
        });
  let experiment: Experiment;
  if (existing) {
    // Resuming: runs already recorded are kept; createSearchRuns adds only missing ones.
    storage.runs.createSearchRuns(existing.experimentId, paramsJsonList, nFolds);
    if (info.positiveClass !== undefined) storage.experiments.setPositiveClass(existing.experimentId, info.positiveClass.label);
    experiment = sampled ? extendTrials(storage, existing, specText, spec, hash, options.addTrials ?? 0) : existing;
  } else {
    experiment = storage.createExperiment(
      {
        name: spec.name,
        specText,
        spec,
        specHash: hash,
        datasetKind: spec.dataset.kind,
        task: info.task,
        selectionMetric: selection.metric,
        selectionDirection: selection.direction,
        positiveClass: info.positiveClass?.label ?? null,
        warmStart,
      },
      paramsJsonList,
      nFolds,
    );
  }
  // Nested CV: each outer fold's experiment, with the same runs (recorded again when resuming, to add what is missing).
  const outer = spec.validation.outer;
  if (outer) storage.recordOuterFolds(storage.experiments.get(experiment.experimentId), outer.k, paramsJsonList, nFolds);
  const trials = experiment.spec.search?.trials;
  const extendedFrom = existing?.spec.search?.trials;
  return {
    experiment,
    resumed: existing !== undefined,
    ...(extendedFrom !== undefined && extendedFrom !== trials ? { extendedFrom } : {}),
    runsTotal: sampled ? trials! : paramsJsonList.length,
    info,
  };
}

/**
 * `--from` starts a new tpe experiment; run again, the same command resumes the one it started.
 * @throws {ValidationError}
 */
function checkFrom(spec: ExperimentSpec, options: PrepareOptions & { readonly from: string }, existing: Experiment | undefined): void {
  checkWarmStartable(spec, options);
  if (!existing || existing.warmStart?.from === options.from) return;
  const message = existing.warmStart
    ? `"${spec.name}" was warm-started from "${existing.warmStart.from}", not "${options.from}"`
    : `"${spec.name}" exists already, without a warm start; --from starts a new experiment: give this spec another name`;
  throw new ValidationError(`--from: ${message}`, [{ path: '--from', message }]);
}

/**
 * Whether `spec`, refused for differing from `existing`, could instead start a new experiment from
 * its trials (`--from`): a tpe search that would score trials as `existing` did (its data's digest taken now).
 */
async function warmStartable(existing: Experiment, spec: ExperimentSpec): Promise<boolean> {
  if (spec.search?.strategy !== 'tpe' || spec.validation.outer !== undefined) return false;
  const selection = selectionFor(spec, existing.task);
  const positiveClass = spec.positiveClass === undefined ? existing.positiveClass : String(spec.positiveClass);
  const target = {
    spec,
    task: spec.task ?? existing.task,
    selectionMetric: selection.metric,
    selectionDirection: selection.direction,
    positiveClass,
    dataSha256: await datasetDigest(spec.dataset),
  };
  return scoringChanges(existing, target).length === 0;
}

/** `--add-trials` continues an existing random or tpe experiment. @throws {ValidationError} */
function checkAddTrials(spec: ExperimentSpec, existing: Experiment | undefined): void {
  if (!isSampledSearch(spec)) {
    throw new ValidationError('--add-trials: expected a random or tpe search; a grid runs every point of its grid', [
      { path: '--add-trials', message: 'only for strategy random or tpe' },
    ]);
  }
  if (!existing) {
    throw new ValidationError(`--add-trials: no experiment named "${spec.name}" yet; run the spec without it first`, [
      { path: '--add-trials', message: 'continues an existing experiment' },
    ]);
  }
}

/**
 * Resumes a random or tpe experiment with the same hash, recording its (possibly new) spec: trials
 * become the larger of the recorded and the spec's count, plus `addTrials`; never fewer, so no
 * recorded trial is dropped.
 */
function extendTrials(
  storage: Storage,
  existing: Experiment,
  specText: string,
  spec: ExperimentSpec,
  hash: string,
  addTrials: number,
): Experiment {
  const trials = Math.max(existing.spec.search?.trials ?? 0, spec.search?.trials ?? 0) + addTrials;
  const extended: ExperimentSpec = { ...spec, search: { ...spec.search!, trials } };
  if (specText === existing.specText && JSON.stringify(extended) === JSON.stringify(existing.spec)) return existing;
  return storage.experiments.updateSpec(existing.experimentId, specText, extended, hash);
}
