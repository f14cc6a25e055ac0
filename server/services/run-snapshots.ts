/**
 * An experiment's search runs and fold scores as of one state of them, kept while the database's
 * counter of changes to its runs and folds stays (RunStore.runsVersion, raised by triggers in the
 * same transaction as the change, by whichever process writes). Reading 10,000 runs and ranking
 * them takes longer than a page may, and one page load asks for them several times (the page, the
 * charts' sample, the search views); with a snapshot they are read once per change, and what is
 * derived from them (the selection, the leaderboard's rows, the trials) is computed once too.
 */
import type { Experiment } from '../storage/experiment-store.js';
import type { Run, RunStore } from '../storage/run-store.js';
import type { FoldScores } from '../selection/selection.js';

export type RunSnapshot = {
  readonly experimentId: number;
  /** The search runs, in run order. Shared by every caller of this snapshot: read only. */
  readonly runs: readonly Run[];
  readonly foldScores: FoldScores;
  /** What `compute` derives from this snapshot, computed on the first call for `key` and kept with it. */
  derive<T>(key: string, compute: () => T): T;
};

/** Snapshots of this many experiments are kept, the least recently read dropped first. */
const KEPT_EXPERIMENTS = 4;

type Entry = { readonly version: number; readonly specText: string; readonly snapshot: RunSnapshot };

export class RunSnapshots {
  readonly #runs: Pick<RunStore, 'searchRunsWithFoldScores' | 'runsVersion'>;
  readonly #kept = new Map<number, Entry>();

  constructor(runs: Pick<RunStore, 'searchRunsWithFoldScores' | 'runsVersion'>) {
    this.#runs = runs;
  }

  /** The snapshot of the experiment's runs as stored now; `experiment` as read just before. @throws {NotFoundError} */
  of(experiment: Pick<Experiment, 'experimentId' | 'specText'>): RunSnapshot {
    const { experimentId, specText } = experiment;
    // The counter first: rows read after it are at least as new, so a snapshot is never kept under a newer counter than its rows'.
    const version = this.#runs.runsVersion(experimentId);
    const kept = this.#kept.get(experimentId);
    this.#kept.delete(experimentId);
    // Derived values may read the spec (the selection rule, the searched columns): a replaced spec starts afresh too.
    const entry =
      kept && kept.version === version && kept.specText === specText
        ? kept
        : { version, specText, snapshot: snapshotOf(experimentId, this.#runs.searchRunsWithFoldScores(experimentId)) };
    this.#kept.set(experimentId, entry);
    for (const oldest of this.#kept.keys()) {
      if (this.#kept.size <= KEPT_EXPERIMENTS) break;
      this.#kept.delete(oldest);
    }
    return entry.snapshot;
  }
}

function snapshotOf(experimentId: number, { runs, foldScores }: { runs: readonly Run[]; foldScores: FoldScores }): RunSnapshot {
  const derived = new Map<string, unknown>();
  return {
    experimentId,
    runs,
    foldScores,
    derive<T>(key: string, compute: () => T): T {
      if (!derived.has(key)) derived.set(key, compute());
      return derived.get(key) as T;
    },
  };
}
