import { refitEpochsOf } from '../selection/ranking.js';
import { selectionOf } from '../selection/selection.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import type { Run } from '../storage/run-store.js';
import type { DashboardDeps } from './deps.js';
import type { BackgroundRefit, BackgroundSearch } from './background-work-types.js';
import type { LiveEvents } from './live-events.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Message for an error a user sees; anything not an AppError is logged and summarised. */
function userMessage(error: unknown, what: string): string {
  if (error instanceof AppError) return error.message;
  console.error(`${what} failed:`, error);
  return `${what} failed unexpectedly; the server log has the details`;
}

/**
 * Background work started from the browser: searches and refits. Requests return at once; the
 * work goes on here and reports through `LiveEvents`. Also notices searches and refits the CLI
 * runs in the same process (`foldwise run --serve`) from the coordinator's events, so the
 * dashboard never starts a second search of a running experiment or deletes one mid-search.
 */
export class BackgroundWork {
  readonly #deps: DashboardDeps;
  readonly #live: LiveEvents;
  readonly #searches = new Map<number, Mutable<BackgroundSearch>>();
  readonly #refits = new Map<number, Mutable<BackgroundRefit>>();
  /** Experiments whose search runs in this process, whoever started it. */
  readonly #searching = new Set<number>();
  /** Refit runs in progress in this process → their experiment. */
  readonly #refitRuns = new Map<number, number>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #controller = new AbortController();
  readonly #unsubscribe: (() => void)[];

  constructor(deps: DashboardDeps, live: LiveEvents) {
    this.#deps = deps;
    this.#live = live;
    const bus = deps.coordinator.events;
    this.#unsubscribe = [
      bus.on('experiment', ({ experimentId, status }) => {
        if (status === 'running') this.#searching.add(experimentId);
        else if (!this.#searches.has(experimentId) || this.#searches.get(experimentId)!.state !== 'running')
          this.#searching.delete(experimentId);
      }),
      bus.on('run', ({ experimentId, runId, status }) => {
        if (status === 'running') {
          if (this.#refitRuns.has(runId)) return;
          const run = this.#findRun(runId);
          if (run?.kind !== 'refit') return;
          this.#refitRuns.set(runId, experimentId);
          const refit = this.#refits.get(experimentId);
          if (refit && refit.state === 'running' && refit.refitRunId === null) {
            refit.refitRunId = runId;
            this.#publishRefit(refit);
          }
        } else {
          this.#refitRuns.delete(runId);
        }
      }),
      bus.on('epoch', ({ experimentId, runId, epoch }) => {
        const refit = this.#refits.get(experimentId);
        if (refit?.state !== 'running' || refit.refitRunId !== runId) return;
        refit.epochsDone = Math.max(refit.epochsDone, epoch + 1);
        this.#publishRefit(refit);
      }),
    ];
  }

  #findRun(runId: number): Run | null {
    try {
      return this.#deps.storage.runs.get(runId);
    } catch {
      return null;
    }
  }

  /** Whether a search of the experiment is running in this process. */
  isSearching(experimentId: number): boolean {
    return this.#searching.has(experimentId);
  }

  /** Whether a refit of the experiment is running in this process. */
  isRefitting(experimentId: number): boolean {
    if (this.#refits.get(experimentId)?.state === 'running') return true;
    for (const owner of this.#refitRuns.values()) if (owner === experimentId) return true;
    return false;
  }

  latestSearch(experimentId: number): BackgroundSearch | null {
    return this.#searches.get(experimentId) ?? null;
  }

  latestRefit(experimentId: number): BackgroundRefit | null {
    return this.#refits.get(experimentId) ?? null;
  }

  /**
   * Starts (or resumes) the search of a prepared experiment in the background. When it is
   * already running in this process, returns its state and starts nothing.
   * @throws {NotFoundError}
   */
  startSearch(experimentId: number): BackgroundSearch {
    this.#deps.storage.experiments.get(experimentId);
    const current = this.#searches.get(experimentId);
    if (current?.state === 'running' || this.#searching.has(experimentId)) {
      return current ?? { experimentId, state: 'running', startedAt: Date.now(), finishedAt: null, error: null };
    }
    // Owned by another process: refuse now (409), before anything is started or recorded as failed.
    this.#deps.coordinator.assertNotOwnedElsewhere(experimentId);
    const search: Mutable<BackgroundSearch> = { experimentId, state: 'running', startedAt: Date.now(), finishedAt: null, error: null };
    this.#searches.set(experimentId, search);
    this.#searching.add(experimentId);
    this.#live.publish(experimentId, { type: 'search', data: { ...search } });
    this.#track(
      this.#deps.coordinator
        .search(experimentId, this.#controller.signal)
        .then(
          (summary) => {
            search.state = summary.interrupted ? 'interrupted' : 'done';
          },
          (error: unknown) => {
            search.state = 'failed';
            search.error = userMessage(error, `search of experiment ${experimentId}`);
            // The coordinator could not record an end state; say so rather than show "running" forever.
            try {
              this.#deps.coordinator.recordSearchFailed(experimentId);
            } catch {
              // The experiment may have been deleted meanwhile.
            }
          },
        )
        .finally(() => {
          search.finishedAt = Date.now();
          this.#searching.delete(experimentId);
          this.#live.publish(experimentId, { type: 'search', data: { ...search } });
        }),
    );
    return { ...search };
  }

  /**
   * Refits a finished run (by default the one the selection rule chose) in the background.
   * @throws {NotFoundError} for an unknown experiment, or a run not in it.
   * @throws {ConflictError} when a refit of it is running, or the run has not finished.
   */
  startRefit(experimentId: number, sourceRunId?: number): BackgroundRefit {
    const { storage, coordinator } = this.#deps;
    const experiment = storage.experiments.get(experimentId);
    if (this.isRefitting(experimentId)) throw new ConflictError(`a refit of "${experiment.name}" is already running`);
    let source: Run | undefined;
    if (sourceRunId === undefined) {
      source = selectionOf(experiment, storage.runs).selected ?? undefined;
      if (!source) throw new ConflictError(`"${experiment.name}" has no finished run to refit yet`);
    } else {
      source = storage.runs.get(sourceRunId);
      if (source.experimentId !== experimentId) throw new NotFoundError(`no run ${sourceRunId} in experiment ${experimentId}`);
      if (source.kind !== 'search') throw new ConflictError(`run ${sourceRunId} is a refit; refit its source run instead`);
      if (source.status !== 'done') throw new ConflictError(`run ${sourceRunId} is ${source.status}; only finished runs can be refitted`);
    }
    const epochsTotal = refitEpochsOf(experiment.spec, source);
    // Owned by another process: refuse now (409), before anything is started.
    this.#deps.coordinator.assertNotOwnedElsewhere(experimentId);
    const refit: Mutable<BackgroundRefit> = {
      experimentId,
      sourceRunId: source.runId,
      refitRunId: null,
      state: 'running',
      epochsDone: 0,
      epochsTotal,
      startedAt: Date.now(),
      finishedAt: null,
      error: null,
      modelId: null,
    };
    this.#refits.set(experimentId, refit);
    this.#publishRefit(refit);
    this.#track(
      coordinator
        .refit(experimentId, source.runId, this.#controller.signal)
        .then(
          (summary) => {
            refit.state = 'done';
            refit.refitRunId = summary.refitRun.runId;
            refit.modelId = summary.model.modelId;
            refit.epochsDone = refit.epochsTotal;
          },
          (error: unknown) => {
            refit.state = this.#controller.signal.aborted ? 'interrupted' : 'failed';
            refit.error = userMessage(error, `refit of run ${source.runId}`);
          },
        )
        .finally(() => {
          refit.finishedAt = Date.now();
          this.#publishRefit(refit);
        }),
    );
    return { ...refit };
  }

  #publishRefit(refit: BackgroundRefit): void {
    this.#live.publish(refit.experimentId, { type: 'refit', data: { ...refit } });
  }

  #track(promise: Promise<unknown>): void {
    const settled = promise.catch(() => undefined);
    this.#pending.add(settled);
    void settled.finally(() => this.#pending.delete(settled));
  }

  /** Stops background work (running tasks end as interrupted) and waits for it to record that. */
  async close(): Promise<void> {
    this.#controller.abort();
    await Promise.all([...this.#pending]);
    for (const stop of this.#unsubscribe) stop();
  }
}
