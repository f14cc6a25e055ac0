/**
 * Trials: the search runs of an experiment in the order they were sampled (or, for a grid,
 * expanded), as samplers, pruning and the views read them. A trial is a run with a trial number;
 * nothing else is stored for it. What later trials may read of a finished trial is only what does
 * not depend on timing (see `referenceFoldCount`), so a sampled search gives the same trials
 * whatever order its tasks finish in.
 */
import type { Params } from '../../worker/contract/spec.js';
import type { Fold, Run, RunStatus } from '../storage/run-store.js';
import type { WarmStartTrial } from '../storage/experiment-store.js';
import type { MetricPoint } from '../storage/metric-store.js';
import type { FrozenTrial } from './sampler.js';
import { sampledOf, type SampledParams, type SearchSpace } from './space.js';

/** Optuna's trial states: finished ones are complete, pruned or failed; queued, running and interrupted ones are running. */
export type TrialState = 'complete' | 'pruned' | 'failed' | 'running';

export function trialStateOf(status: RunStatus): TrialState {
  return status === 'done' ? 'complete' : status === 'pruned' ? 'pruned' : status === 'failed' ? 'failed' : 'running';
}

/** One trial as the dashboard's history and slice views read it. */
export type TrialRecord = {
  readonly number: number;
  readonly runId: number;
  readonly state: TrialState;
  readonly status: RunStatus;
  readonly params: Params;
  /** The searched hyperparameters' values (for a sampled search: only those its family reads). */
  readonly sampled: SampledParams;
  /** The selection metric's mean over the trial's folds (a pruned trial's: over the folds it trained); null when not finished. */
  readonly score: number | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
};

/**
 * An experiment's trials by number. `searched` names the hyperparameters the views plot: for a
 * sampled search the space (then each trial shows only what its family reads), for a grid its axes.
 */
export function trialRecords(runs: readonly Run[], searched: SearchSpace | readonly string[]): TrialRecord[] {
  return runs
    .filter((run): run is Run & { trialNumber: number } => run.kind === 'search' && run.trialNumber !== null)
    .sort((a, b) => a.trialNumber - b.trialNumber)
    .map((run) => ({
      number: run.trialNumber,
      runId: run.runId,
      state: trialStateOf(run.status),
      status: run.status,
      params: run.params,
      sampled:
        'dimensions' in searched
          ? sampledOf(searched, run.params)
          : Object.fromEntries(searched.map((name) => [name, run.params[name as keyof Params]])),
      score: run.status === 'done' || run.status === 'pruned' ? run.scoreMean : null,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
    }));
}

/** What a sampled search's pruning rules need to say which folds of a finished trial do not depend on timing. */
export type TrialRules = {
  readonly nFolds: number;
  /** `pruning.foldCut.minFolds`, when fold cutting is on. */
  readonly foldCutMinFolds: number | null;
  /** ASHA's rungs (epoch counts, from 1), when ASHA is on. */
  readonly isRung: ((epochs: number) => boolean) | null;
};

/**
 * How many leading folds of a finished trial later trials may compare with. A complete trial's
 * folds all trained. A pruned one's folds all trained too (each to the end or to the rung that
 * stopped it), unless a fold cut ended it: then only the folds the cut judged are fixed — whether
 * its later folds ran depended on timing. So with fold cutting on, a pruned trial counts its
 * first `minFolds` folds. A failed trial counts none.
 */
export function referenceFoldCount(state: TrialState, rules: TrialRules): number {
  if (state === 'complete') return rules.nFolds;
  if (state === 'pruned') return rules.foldCutMinFolds === null ? rules.nFolds : Math.min(rules.foldCutMinFolds, rules.nFolds);
  return 0;
}

/** A finished trial as later trials read it: its snapshot for samplers and the fold facts pruning compares with. */
export type FinishedTrial = {
  readonly frozen: FrozenTrial | null;
  readonly state: TrialState;
  /** Scores of its reference folds that trained to the end: fold index → score. */
  readonly foldScores: ReadonlyMap<number, number | null>;
  /** Best selection score so far at each rung a reference fold reached: `${foldIndex}:${epochs}` → score. */
  readonly rungScores: ReadonlyMap<string, number>;
};

/** A fold that ended on its own terms: trained to its end, or stopped at a rung (a fold pruned before it ran has no stop epoch). */
const ended = (fold: Fold) => fold.status === 'done' || (fold.status === 'pruned' && fold.stoppedEpoch !== null);

/** rung key of a fold index and an epoch count. */
export const rungKey = (foldIndex: number, epochs: number) => `${foldIndex}:${epochs}`;

/**
 * The facts of a finished trial (run status done, pruned or failed) from its fold rows and its
 * selection-metric curve. `better(a, b)` says whether score a beats b.
 */
export function finishedTrial(
  run: Run & { trialNumber: number },
  folds: readonly Fold[],
  curve: readonly MetricPoint[],
  space: SearchSpace,
  rules: TrialRules,
  better: (a: number, b: number) => boolean,
): FinishedTrial {
  const state = trialStateOf(run.status);
  const count = referenceFoldCount(state, rules);
  const reference = folds.filter((fold) => fold.foldIndex < count && ended(fold));
  const foldScores = new Map(reference.filter((fold) => fold.status === 'done').map((fold) => [fold.foldIndex, fold.score]));
  const rungScores = new Map<string, number>();
  if (rules.isRung) {
    const kept = new Set(reference.map((fold) => fold.foldIndex));
    let best: number | null = null;
    let foldIndex = -1;
    for (const point of curve) {
      if (!kept.has(point.foldIndex)) continue;
      if (point.foldIndex !== foldIndex) [foldIndex, best] = [point.foldIndex, null];
      if (point.value !== null && Number.isFinite(point.value) && (best === null || better(point.value, best))) best = point.value;
      if (best !== null && rules.isRung(point.epoch + 1)) rungScores.set(rungKey(point.foldIndex, point.epoch + 1), best);
    }
  }
  const scored = state !== 'failed' && run.scoreMean !== null && Number.isFinite(run.scoreMean);
  const frozen: FrozenTrial | null = scored
    ? {
        number: run.trialNumber,
        state: state === 'complete' ? 'complete' : 'pruned',
        params: sampledOf(space, run.params),
        score: run.scoreMean,
        progress: reference.reduce((sum, fold) => sum + (fold.stoppedEpoch ?? 0) + 1, 0),
      }
    : null;
  return { frozen, state, foldScores, rungScores };
}

/**
 * The trials sampler of trial `number` sees, given `lag` trials in flight: trials 1…number − lag
 * as they finished (failed ones left out), and number − lag + 1…number − 1 as running, even if
 * they have finished meanwhile. Undefined while one of the former is still running: the trial
 * waits for it.
 */
export function trialsSeenBy(
  number: number,
  lag: number,
  finished: (trialNumber: number) => FinishedTrial | undefined,
  sampled: (trialNumber: number) => SampledParams,
): FrozenTrial[] | undefined {
  const seen: FrozenTrial[] = [];
  for (let n = 1; n < number; n++) {
    if (n <= number - lag) {
      const trial = finished(n);
      if (trial === undefined) return undefined;
      if (trial.frozen) seen.push(trial.frozen);
    } else {
      seen.push({ number: n, state: 'running', params: sampled(n), score: null, progress: 0 });
    }
  }
  return seen;
}

/**
 * A warm-started search's history from its source experiment (`foldwise run --from`), as every trial
 * of it sees it before its own: finished trials numbered in the source's order up to 0, so they are
 * older than trial 1 (TPE weighs older observations less and breaks ties by number).
 */
export function warmStartTrials(trials: readonly WarmStartTrial[], space: SearchSpace): FrozenTrial[] {
  const last = Math.max(0, ...trials.map((trial) => trial.number));
  return [...trials]
    .sort((a, b) => a.number - b.number)
    .map((trial) => ({
      number: trial.number - last,
      state: trial.state,
      params: sampledOf(space, trial.params),
      score: trial.score,
      progress: trial.progress,
    }));
}
