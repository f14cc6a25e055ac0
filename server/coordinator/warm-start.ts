/**
 * `foldwise run SPEC --from EXPERIMENT`: a new TPE experiment whose sampler starts with an earlier
 * experiment's finished trials as history (Optuna's `study.add_trials`). Sound only when both
 * score a trial the same way: the same data (its bytes' digest, the rows held out for test, the
 * seed that cuts the splits), task, validation, selection metric and searched hyperparameters.
 * Anything else is refused naming each field. Source trials outside the new space are left out
 * and counted. The trials kept are copied into the new experiment (experiment-store.ts WarmStart),
 * so its trial sequence is fixed when it is created, whatever becomes of the source.
 */
import { foldCountOf, repeatsOf, type ExperimentSpec } from '../../worker/contract/spec.js';
import { isBetter } from '../../worker/contract/vocabulary.js';
import { ValidationError } from '../errors.js';
import { searchedParamNames } from '../search/grid.js';
import { inSpace, searchSpaceOf } from '../search/space.js';
import { finishedTrial } from '../search/trials.js';
import type { Experiment, WarmStart, WarmStartTrial } from '../storage/experiment-store.js';
import type { Storage } from '../storage/storage.js';
import { assertNotLeased } from './experiment-lease.js';
import { shown, valueChanges, type SpecChange } from './spec-diff.js';

/** How an experiment scores its trials: what a warm start's source and target must share. */
export type Scoring = Pick<Experiment, 'spec' | 'task' | 'selectionMetric' | 'selectionDirection' | 'positiveClass' | 'dataSha256'>;

const WHAT_MUST_AGREE = 'warm-starting needs the same data, task, validation, selection metric and searched hyperparameters';

/**
 * The data a trial was scored on, as the spec says it: the dataset (not where its file lies: the
 * digest says what it holds), the test split, the seed that cuts the splits.
 */
function dataFields(spec: ExperimentSpec): Record<string, unknown> {
  const { path: _path, ...dataset } = spec.dataset as ExperimentSpec['dataset'] & { path?: string };
  return { dataset, testSplit: spec.testSplit, seed: spec.seed };
}

/** The folds a trial was scored on (early stopping, like the fixed hyperparameters, only changes how it trained). */
function validationFields(spec: ExperimentSpec): Record<string, unknown> {
  const { validation } = spec;
  if (validation.kind === 'holdout') return { validation: { kind: validation.kind, fraction: validation.fraction } };
  return { validation: { kind: validation.kind, k: validation.k, stratified: validation.stratified, repeats: repeatsOf(validation) } };
}

/** What a trial's score means: the task, the positive class, the metric and which way is better. */
function judgedBy(side: Scoring): Record<string, unknown> {
  const { task, positiveClass, selectionMetric: metric, selectionDirection: direction } = side;
  return { task, positiveClass, selection: { metric, direction } };
}

/** Each field that tells how `source` scored its trials apart from how `target` will score its own; none when warm-starting is sound. */
export function scoringChanges(source: Scoring, target: Scoring): SpecChange[] {
  const changes = [
    ...valueChanges(dataFields(source.spec), dataFields(target.spec)),
    ...valueChanges(validationFields(source.spec), validationFields(target.spec)),
    ...valueChanges(judgedBy(source), judgedBy(target)),
    ...valueChanges({ searched: searchedParamNames(source.spec) }, { searched: searchedParamNames(target.spec) }),
  ];
  if (source.dataSha256 !== target.dataSha256 && 'path' in target.spec.dataset) {
    const digest = (sha256: string | null) => (sha256 === null ? 'not recorded' : `sha256 ${sha256.slice(0, 12)}…`);
    changes.push({ path: 'dataset (its bytes)', before: digest(source.dataSha256), after: digest(target.dataSha256) });
  }
  return changes;
}

/** Whether a spec may be warm-started at all. @throws {ValidationError} naming `--from` */
export function checkWarmStartable(spec: ExperimentSpec, options: { readonly from: string; readonly addTrials?: number }): void {
  const refuse = (message: string) => {
    throw new ValidationError(`--from: ${message}`, [{ path: '--from', message }]);
  };
  if (options.from === spec.name) refuse(`"${spec.name}" is this spec's own name; --from names the earlier experiment to start from`);
  const strategy = spec.search?.strategy ?? 'grid';
  if (strategy === 'grid') refuse('expected a tpe search; a grid trains every point of its grid, whatever came before');
  // Refused rather than accepted and ignored: random search draws each trial on its own, so earlier trials could not change one.
  if (strategy === 'random') refuse('strategy random ignores earlier trials (each draw is independent of them); use strategy: tpe');
  if (spec.validation.outer !== undefined) refuse('nested cross-validation searches each outer fold on its own; it is not warm-started');
  if (options.addTrials !== undefined) refuse('--from starts a new experiment and --add-trials continues one; use one of them');
}

/**
 * The warm start of a new experiment that will score trials as `target` says, from the experiment
 * named `from`: its finished trials (complete, and pruned with their partial score) inside the
 * target's space. Reads only.
 * @throws {ValidationError} when the source is unknown, scores trials otherwise, or has no usable trial.
 * @throws {LeaseHeldError} while another process searches the source (its trials are still coming).
 */
export function warmStartFrom(storage: Storage, from: string, target: Scoring): WarmStart {
  const fail = (message: string): never => {
    throw new ValidationError(`--from: ${message}`, [{ path: '--from', message }]);
  };
  const source = storage.experiments.findByName(from) ?? fail(`no experiment named "${from}" (see \`foldwise list\`)`);
  assertNotLeased(storage.leases, source);
  const changes = scoringChanges(source, target);
  if (changes.length > 0) {
    const differs = changes.map((c) => `${c.path} ${shown(c.before)} there, ${shown(c.after)} here`).join('; ');
    fail(`"${from}" scored its trials otherwise: ${differs} (${WHAT_MUST_AGREE})`);
  }
  const space = searchSpaceOf(target.spec);
  const rules = {
    nFolds: foldCountOf(source.spec.validation),
    foldCutMinFolds: source.spec.pruning?.foldCut?.minFolds ?? null,
    isRung: null,
  };
  const better = (a: number, b: number) => isBetter(source.selectionDirection, a, b);
  const finished: WarmStartTrial[] = [];
  for (const run of storage.runs.list(source.experimentId)) {
    if (run.kind !== 'search' || run.trialNumber === null || (run.status !== 'done' && run.status !== 'pruned')) continue;
    const { frozen } = finishedTrial({ ...run, trialNumber: run.trialNumber }, storage.runs.folds(run.runId), [], space, rules, better);
    if (frozen === null || frozen.state === 'running') continue;
    finished.push({ number: run.trialNumber, state: frozen.state, params: run.params, score: frozen.score!, progress: frozen.progress });
  }
  const trials = finished.filter((trial) => inSpace(space, trial.params));
  if (finished.length === 0) fail(`"${from}" has no finished trial to start from`);
  if (trials.length === 0) fail(`none of the ${finished.length} finished trials of "${from}" lies inside this spec's space`);
  return { from: source.name, fromExperimentId: source.experimentId, trials, outOfSpace: finished.length - trials.length };
}

/** The line `run` and `show` print: `warm-started from "X": N trials (M outside this space left out)`. */
export function warmStartLine(warmStart: WarmStart): string {
  const { trials, outOfSpace } = warmStart;
  const left = outOfSpace === 0 ? '' : ` (${outOfSpace} outside this space left out)`;
  return `warm-started from "${warmStart.from}": ${trials.length} trial${trials.length === 1 ? '' : 's'}${left}`;
}
