/**
 * Epoch-prefix sharing: a grid configuration that differs from another only in fewer `epochs`
 * is, with the same seeds (worker/training/task-data.ts `taskSeeds` leaves `epochs` out), exactly
 * the first epochs of the longer one. So when a fold of a run is dispatched, the same fold of the
 * shorter runs still waiting rides along on its task (`Task.horizons`): the worker reports each
 * one's result when training reaches its last epoch, and they are not trained again.
 *
 * Only for grids without ASHA: ASHA stops a run mid-training by its own curve, which the shorter
 * runs riding on it do not share, and a random or tpe search samples trials one by one.
 */
import { canonicalParamsJson } from '../search/grid.js';
import { isSampledSearch } from '../../worker/contract/search-spec.js';
import type { ExperimentSpec } from '../../worker/contract/spec.js';
import { ValidationError } from '../errors.js';
import type { PendingFold } from '../storage/run-store.js';
import type { TaskRunner } from './task-runner.js';

/** `0` turns sharing off (to measure what it saves); `1` or unset leaves it on. */
export const SHARE_PREFIXES_ENV_VAR = 'FOLDWISE_SHARE_PREFIXES';

/** Whether FOLDWISE_SHARE_PREFIXES leaves sharing on. @throws {ValidationError} on a value other than 0 or 1. */
export function sharePrefixesFromEnv(env: NodeJS.ProcessEnv): boolean {
  const value = env[SHARE_PREFIXES_ENV_VAR]?.trim() ?? '';
  if (value === '' || value === '1') return true;
  if (value === '0') return false;
  throw new ValidationError(`${SHARE_PREFIXES_ENV_VAR}: expected 0 (off) or 1 (on), got "${value}"`);
}

/** Whether a search of `spec` on `runner` may share epoch prefixes (see the module's note). */
export function canSharePrefixes(spec: ExperimentSpec, runner: TaskRunner): boolean {
  return runner.answersHorizons === true && !isSampledSearch(spec) && spec.pruning?.asha === undefined;
}

/**
 * The folds of one search that wait to be trained, by what they train (the fold and every
 * hyperparameter but `epochs`), each either waiting or taken: by its own task, or by a longer
 * run's task it rides on. A taken fold goes back to waiting when the task it rode on ended before
 * its last epoch.
 */
export class PrefixBook {
  readonly #byModel = new Map<string, PendingFold[]>();
  readonly #taken = new Set<string>();

  constructor(folds: readonly PendingFold[]) {
    for (const fold of folds) {
      const key = modelKey(fold);
      const list = this.#byModel.get(key) ?? [];
      list.push(fold);
      this.#byModel.set(key, list);
    }
  }

  /**
   * A fold's own task is about to start: null when the fold is taken (it rides on a longer run's
   * task, or was answered by one). Otherwise it is taken now and returned as it stands (its attempt
   * may have grown since it was queued).
   */
  take(fold: PendingFold): PendingFold | null {
    const key = foldKey(fold);
    if (this.#taken.has(key)) return null;
    this.#taken.add(key);
    return this.#byModel.get(modelKey(fold))?.find((other) => foldKey(other) === key) ?? fold;
  }

  /**
   * Takes every waiting fold `fold`'s task can answer: the same fold of runs with the same
   * hyperparameters but fewer epochs, whose run `isOpen` (not failed or pruned), shortest first.
   */
  claimShorter(fold: PendingFold, isOpen: (runId: number) => boolean): PendingFold[] {
    const shorter = (this.#byModel.get(modelKey(fold)) ?? [])
      .filter((other) => other.params.epochs < fold.params.epochs && !this.#taken.has(foldKey(other)) && isOpen(other.runId))
      .sort((a, b) => a.params.epochs - b.params.epochs);
    for (const other of shorter) this.#taken.add(foldKey(other));
    return shorter;
  }

  /** A fold that rode on a task which ended before its last epoch waits again, as `fold` (its attempt since). */
  release(fold: PendingFold): void {
    this.#taken.delete(foldKey(fold));
    const list = this.#byModel.get(modelKey(fold)) ?? [];
    const at = list.findIndex((other) => foldKey(other) === foldKey(fold));
    if (at >= 0) list[at] = fold;
  }
}

function foldKey(fold: Pick<PendingFold, 'runId' | 'foldIndex'>): string {
  return `${fold.runId}:${fold.foldIndex}`;
}

/** What a fold trains, whatever its epochs: the shorter of two equal keys is the first epochs of the longer. */
function modelKey(fold: PendingFold): string {
  return `${fold.foldIndex}:${canonicalParamsJson({ ...fold.params, epochs: 1 })}`;
}
