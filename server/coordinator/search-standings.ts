import type { Experiment } from '../storage/experiment-store.js';
import type { Storage } from '../storage/storage.js';
import { searchStandings, type Standing } from '../selection/provisional.js';

/** At most this share of the coordinator's time goes to recomputing the standings. */
const MAX_SHARE = 0.05;

export type Standings = { readonly best: Standing | null; readonly leading: Standing | null };

/**
 * The best finished run and the provisional leader of one search, for its progress events.
 * Reading every run after every task costs milliseconds for a grid of hundreds of runs, so the
 * standings are recomputed only once enough time has passed for that to stay under 5% of the
 * time (at every task for a small grid); `force` recomputes them now (the first and last events).
 */
export class StandingsTracker {
  readonly #storage: Storage;
  readonly #experiment: Experiment;
  #value: Standings | null = null;
  #computedAt = Number.NEGATIVE_INFINITY;
  #costMs = 0;

  constructor(storage: Storage, experiment: Experiment) {
    this.#storage = storage;
    this.#experiment = experiment;
  }

  current(force = false): Standings {
    const start = performance.now();
    if (force || this.#value === null || start - this.#computedAt >= this.#costMs / MAX_SHARE) {
      const { runs, foldScores } = this.#storage.runs.searchRunsWithFoldScores(this.#experiment.experimentId);
      this.#value = searchStandings(this.#experiment, runs, foldScores);
      this.#computedAt = performance.now();
      this.#costMs = this.#computedAt - start;
    }
    return this.#value;
  }
}
