import type { SearchSummary } from '../coordinator/coordinator.js';
import type { CoordinatorEventBus } from '../coordinator/events.js';
import { LeaseHeldError } from '../coordinator/experiment-lease.js';
import { formatDuration, formatScore } from '../cli/format.js';
import { metricKey } from '../../worker/contract/vocabulary.js';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import { refitEpochsOf } from '../selection/ranking.js';
import { selectionOf } from '../selection/selection.js';
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

export type BackgroundWorkOptions = {
  /** Events of searches and refits other processes run (the change feed's follower): their refits show too. */
  readonly followed?: CoordinatorEventBus;
  /** Where a search started from the browser says that it started and ended (the `serve` terminal). @default console.log */
  readonly log?: (line: string) => void;
};

/**
 * Background work started from the browser: searches and refits. Requests return at once; the
 * work goes on here and reports through `LiveEvents`. A search ends like `foldwise run`: its best
 * run is refitted, and Stop interrupts it as Ctrl-C does (Resume searches again). Also notices
 * searches and refits the CLI runs in the same process (`foldwise run --serve`) from the
 * coordinator's events, so the dashboard never starts a second search of a running experiment or
 * deletes one mid-search, and refits other processes run, from the change feed.
 */
export class BackgroundWork {
  readonly #deps: DashboardDeps;
  readonly #live: LiveEvents;
  readonly #log: (line: string) => void;
  readonly #searches = new Map<number, Mutable<BackgroundSearch>>();
  readonly #refits = new Map<number, Mutable<BackgroundRefit>>();
  /** Refits other processes run, as the change feed tells them. */
  readonly #followedRefits = new Map<number, Mutable<BackgroundRefit>>();
  /** What Stop aborts: the background search or refit of an experiment in this process. */
  readonly #stoppers = new Map<number, AbortController>();
  /** Experiments whose search runs in this process, whoever started it. */
  readonly #searching = new Set<number>();
  /** Refit runs in progress in this process → their experiment. */
  readonly #refitRuns = new Map<number, number>();
  readonly #pending = new Set<Promise<unknown>>();
  /** The latest piece of work per experiment, settled (never rejects): what Stop waits for. */
  readonly #settled = new Map<number, Promise<unknown>>();
  readonly #controller = new AbortController();
  readonly #unsubscribe: (() => void)[];

  constructor(deps: DashboardDeps, live: LiveEvents, options: BackgroundWorkOptions = {}) {
    this.#deps = deps;
    this.#live = live;
    this.#log = options.log ?? ((line) => console.log(line));
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
      bus.on('epoch', ({ experimentId, runId, epoch }) => this.#refitEpoch(this.#refits, experimentId, runId, epoch)),
      ...(options.followed ? this.#follow(options.followed) : []),
    ];
  }

  /** Tracks the refits another process runs: announced with their epochs, moved by their epochs, ended by their run. */
  #follow(followed: CoordinatorEventBus): (() => void)[] {
    return [
      followed.on('refit', ({ experimentId, runId, sourceRunId, epochs }) => {
        const refit: Mutable<BackgroundRefit> = {
          experimentId,
          sourceRunId,
          refitRunId: runId,
          state: 'running',
          epochsDone: 0,
          epochsTotal: epochs,
          startedAt: Date.now(),
          finishedAt: null,
          error: null,
          modelId: null,
        };
        this.#followedRefits.set(experimentId, refit);
        this.#publishRefit(refit);
      }),
      followed.on('epoch', ({ experimentId, runId, epoch }) => this.#refitEpoch(this.#followedRefits, experimentId, runId, epoch)),
      followed.on('run', ({ experimentId, runId, status }) => {
        const refit = this.#followedRefits.get(experimentId);
        if (refit?.state !== 'running' || refit.refitRunId !== runId || (status !== 'done' && status !== 'failed')) return;
        refit.state = status;
        refit.finishedAt = Date.now();
        if (status === 'done') {
          refit.epochsDone = refit.epochsTotal;
          refit.modelId = this.#deps.storage.models.ofExperiment(experimentId).find((model) => model.runId === runId)?.modelId ?? null;
        } else {
          refit.error = this.#findRun(runId)?.error ?? 'the refit failed';
        }
        this.#publishRefit(refit);
      }),
    ];
  }

  #refitEpoch(refits: ReadonlyMap<number, Mutable<BackgroundRefit>>, experimentId: number, runId: number, epoch: number): void {
    const refit = refits.get(experimentId);
    if (refit?.state !== 'running' || refit.refitRunId !== runId) return;
    refit.epochsDone = Math.max(refit.epochsDone, epoch + 1);
    this.#publishRefit(refit);
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

  /**
   * The latest refit of the experiment started here, or followed in another process (one whose
   * owner died without a word reads as interrupted).
   */
  latestRefit(experimentId: number): BackgroundRefit | null {
    const mine = this.#refits.get(experimentId) ?? null;
    const followed = this.#followedRefits.get(experimentId) ?? null;
    if (followed === null || (mine !== null && mine.startedAt >= followed.startedAt)) return mine;
    if (followed.state === 'running' && this.#deps.storage.leases.holder(experimentId)?.purpose !== 'refit')
      return { ...followed, state: 'interrupted', finishedAt: followed.finishedAt ?? Date.now() };
    return followed;
  }

  /** Whether Stop has something to stop: a search or refit of the experiment started from this dashboard is running. */
  canStop(experimentId: number): boolean {
    return this.#stoppers.has(experimentId);
  }

  /**
   * Stops the experiment's background search (its running tasks end as interrupted, as with
   * Ctrl-C; Resume searches again) or refit. Returns the search's state once it has recorded that.
   * @throws {NotFoundError}
   * @throws {LeaseHeldError} when another process runs it (stop it there).
   * @throws {ConflictError} when nothing of it runs.
   */
  async stop(experimentId: number): Promise<BackgroundSearch | null> {
    const experiment = this.#deps.storage.experiments.get(experimentId);
    const stopper = this.#stoppers.get(experimentId);
    if (!stopper) {
      const holder = this.#deps.storage.leases.holder(experimentId);
      if (holder) throw new LeaseHeldError(experiment.name, holder);
      throw new ConflictError(`"${experiment.name}" is not running; there is nothing to stop`);
    }
    stopper.abort();
    await this.#settled.get(experimentId);
    return this.latestSearch(experimentId);
  }

  /** A fresh stopper for the experiment's next piece of work, aborted also when the dashboard closes. */
  #stopperFor(experimentId: number): AbortController {
    const stopper = new AbortController();
    this.#stoppers.set(experimentId, stopper);
    return stopper;
  }

  #signalOf(stopper: AbortController): AbortSignal {
    return AbortSignal.any([stopper.signal, this.#controller.signal]);
  }

  #release(experimentId: number, stopper: AbortController): void {
    if (this.#stoppers.get(experimentId) === stopper) this.#stoppers.delete(experimentId);
  }

  /**
   * Starts (or resumes) the search of a prepared experiment in the background. When it is
   * already running in this process, returns its state and starts nothing.
   * @throws {NotFoundError}
   */
  startSearch(experimentId: number): BackgroundSearch {
    const experiment = this.#deps.storage.experiments.get(experimentId);
    const current = this.#searches.get(experimentId);
    if (current?.state === 'running' || this.#searching.has(experimentId)) {
      return current ?? { experimentId, state: 'running', startedAt: Date.now(), finishedAt: null, error: null };
    }
    // Owned by another process: refuse now (409), before anything is started or recorded as failed.
    this.#deps.coordinator.assertNotOwnedElsewhere(experimentId);
    const stopper = new AbortController();
    const pending = this.#deps.storage.runs.pendingFolds(experimentId).length;
    this.#log(`search of "${experiment.name}" started from the dashboard: ${pending} tasks to train`);
    const running = this.#deps.coordinator.search(experimentId, this.#signalOf(stopper));
    return this.#watchSearch(experimentId, running, stopper, {
      failed: (error) => {
        // The coordinator could not record an end state; say so rather than show "running" forever.
        try {
          this.#deps.coordinator.recordSearchFailed(experimentId);
        } catch {
          // The experiment may have been deleted meanwhile.
        }
        return userMessage(error, `search of experiment ${experimentId}`);
      },
      ended: (search, summary) => {
        this.#logSearchEnd(experiment.name, search, summary);
        // As `foldwise run` does: a finished search refits its best run.
        if (search.state === 'done' && !this.#controller.signal.aborted) this.#refitAfterSearch(experimentId);
      },
    });
  }

  /**
   * A search this process runs outside the dashboard (`foldwise run SPEC --serve`) gets the Stop
   * button of a browser-started one: Stop aborts `stopper`, which the caller's search listens to,
   * and answers once `running` has recorded its end. The caller prints, refits and exits as it
   * does after Ctrl-C or a finished search; nothing is logged or refitted here.
   */
  adoptSearch(experimentId: number, running: Promise<SearchSummary>, stopper: AbortController): BackgroundSearch {
    return this.#watchSearch(experimentId, running, stopper, {
      // The CLI reports the failure itself (one line, its exit code); the page only says where to look.
      failed: (error) => (error instanceof AppError ? error.message : 'the search failed; the terminal of `foldwise run` says why'),
    });
  }

  /** Follows a search of this process as it runs and ends, with Stop aborting `stopper` meanwhile. */
  #watchSearch(
    experimentId: number,
    running: Promise<SearchSummary>,
    stopper: AbortController,
    hooks: {
      /** Returns the message the page shows. */
      failed(error: unknown): string;
      ended?(search: BackgroundSearch, summary: SearchSummary | null): void;
    },
  ): BackgroundSearch {
    const search: Mutable<BackgroundSearch> = { experimentId, state: 'running', startedAt: Date.now(), finishedAt: null, error: null };
    this.#searches.set(experimentId, search);
    this.#searching.add(experimentId);
    this.#stoppers.set(experimentId, stopper);
    this.#live.publish(experimentId, { type: 'search', data: { ...search } });
    let summary: SearchSummary | null = null;
    this.#track(
      experimentId,
      running
        .then(
          (done) => {
            summary = done;
            search.state = done.interrupted ? 'interrupted' : 'done';
          },
          (error: unknown) => {
            search.state = 'failed';
            search.error = hooks.failed(error);
          },
        )
        .finally(() => {
          search.finishedAt = Date.now();
          this.#searching.delete(experimentId);
          this.#release(experimentId, stopper);
          this.#live.publish(experimentId, { type: 'search', data: { ...search } });
          hooks.ended?.(search, summary);
        }),
    );
    return { ...search };
  }

  #logSearchEnd(name: string, search: BackgroundSearch, summary: SearchSummary | null): void {
    const took = formatDuration((search.finishedAt ?? Date.now()) - search.startedAt);
    const trained = summary ? ` (${summary.tasksTrained} tasks trained)` : '';
    if (search.state === 'done') this.#log(`search of "${name}" finished in ${took}${trained}`);
    else if (search.state === 'interrupted') this.#log(`search of "${name}" interrupted after ${took}${trained}; Resume continues it`);
    else this.#log(`search of "${name}" failed after ${took}: ${search.error}`);
  }

  #refitAfterSearch(experimentId: number): void {
    this.#track(
      experimentId,
      this.startRefit(experimentId).catch((error: unknown) => {
        // No finished run (every run failed), or another process took the experiment meanwhile.
        this.#log(`no refit after the search: ${userMessage(error, 'the refit')}`);
      }),
    );
  }

  /**
   * Refits a finished run (by default the one the selection rule chose) in the background, once
   * its data has been found unchanged since the search (hashed first: the one wait before it starts).
   * @throws {NotFoundError} for an unknown experiment, or a run not in it.
   * @throws {ConflictError} when a refit of it is running, the run has not finished, the data file changed
   *   since the search, or the dashboard is closing.
   */
  async startRefit(experimentId: number, sourceRunId?: number): Promise<BackgroundRefit> {
    const { storage, coordinator } = this.#deps;
    await coordinator.assertSameDataAsSearch(experimentId);
    // From here on nothing waits: no second refit can slip in between these checks and the refit's start.
    if (this.#controller.signal.aborted) throw new ConflictError('the dashboard is closing; refit from the next one');
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
    const stopper = this.#stopperFor(experimentId);
    const signal = this.#signalOf(stopper);
    const runLabel = `run ${source.runId} of "${experiment.name}"`;
    this.#log(`refit of ${runLabel} started: ${epochsTotal} epochs on all non-test rows`);
    this.#track(
      experimentId,
      coordinator
        .refit(experimentId, source.runId, signal)
        .then(
          (summary) => {
            refit.state = 'done';
            refit.refitRunId = summary.refitRun.runId;
            refit.modelId = summary.model.modelId;
            refit.epochsDone = refit.epochsTotal;
            const test = summary.model.testMetrics[metricKey('test', experiment.selectionMetric)];
            this.#log(`refit of ${runLabel} finished: test ${experiment.selectionMetric} ${formatScore(test)}`);
          },
          (error: unknown) => {
            refit.state = signal.aborted ? 'interrupted' : 'failed';
            refit.error = userMessage(error, `refit of run ${source.runId}`);
            this.#log(`refit of ${runLabel} ${refit.state}: ${refit.error}`);
          },
        )
        .finally(() => {
          refit.finishedAt = Date.now();
          this.#release(experimentId, stopper);
          this.#publishRefit(refit);
        }),
    );
    return { ...refit };
  }

  #publishRefit(refit: BackgroundRefit): void {
    this.#live.publish(refit.experimentId, { type: 'refit', data: { ...refit } });
  }

  #track(experimentId: number, promise: Promise<unknown>): void {
    const settled = promise.catch(() => undefined);
    this.#pending.add(settled);
    this.#settled.set(experimentId, settled);
    void settled.finally(() => {
      this.#pending.delete(settled);
      if (this.#settled.get(experimentId) === settled) this.#settled.delete(experimentId);
    });
  }

  /** Stops background work (running tasks end as interrupted) and waits for it to record that. */
  async close(): Promise<void> {
    this.#controller.abort();
    await Promise.all([...this.#pending]);
    for (const stop of this.#unsubscribe) stop();
  }
}
