import { rmSync } from 'node:fs';
import PQueue from 'p-queue';
import { foldCountOf, type ExperimentSpec, type Params } from '../../worker/contract/spec.js';
import { datasetDigest } from '../../worker/contract/dataset-digest.js';
import { makeTaskId, type EpochMetrics, type Task, type TaskResult } from '../../worker/contract/protocol.js';
import { isBetter, metricKey, parseMetricKey, type Direction } from '../../worker/contract/vocabulary.js';
import { AppError, ConflictError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { PendingFold, Run } from '../storage/run-store.js';
import type { ModelRecord } from '../storage/model-store.js';
import { refitModelDir } from '../storage/model-folders.js';
import { rankRuns, refitEpochsOf } from '../selection/ranking.js';
import { selectionOf } from '../selection/selection.js';
import { deleteExperiment } from './delete-experiment.js';
import { assertNotLeased, withLease } from './experiment-lease.js';
import { CoordinatorEventBus } from './events.js';
import { StandingsTracker } from './search-standings.js';
import { prepareExperiment, type PrepareOptions, type PreparedExperiment } from './prepare-experiment.js';
import type { TaskOutcome, TaskRunner } from './task-runner.js';
import { canSharePrefixes, PrefixBook } from './epoch-prefixes.js';
import { gridPruning, type FoldPruning } from '../search/pruning.js';
import { isSampledSearch } from '../../worker/contract/search-spec.js';
import { TrialScheduler } from './trial-scheduler.js';
import { searchOuterFolds } from './outer-folds.js';
import { assertSameData } from './same-data.js';

export type CoordinatorOptions = {
  /** Folder for model files (beside the database). */
  readonly dataDir: string;
  /** Deliveries of one task before its run is marked failed (crashes and errors; divergence is never retried). @default 3 */
  readonly maxAttempts?: number;
  /**
   * Epoch-prefix sharing (epoch-prefixes.ts): a grid run's task also answers the same fold of runs
   * that differ from it only in fewer epochs, where the runner supports it. @default true
   */
  readonly sharePrefixes?: boolean;
};

export type SearchSummary = {
  readonly experiment: Experiment;
  readonly interrupted: boolean;
  readonly tasksTrained: number;
  readonly wallMs: number;
  /** A random or tpe search that stopped sampling before its trials: why (time budget, no configuration left). */
  readonly note?: string;
};

export type RefitSummary = { readonly refitRun: Run; readonly sourceRun: Run; readonly model: ModelRecord };

/** What a task says about its dataset's bytes (Task.dataSha256): nothing for generated data. */
type DataDigest = { readonly dataSha256?: string };

async function dataDigestOf(spec: ExperimentSpec): Promise<DataDigest> {
  const sha256 = await datasetDigest(spec.dataset);
  return sha256 === null ? {} : { dataSha256: sha256 };
}

/** A rough cost of one task, to start the longest first so no core idles at the end. */
function estimatedCost(params: Params): number {
  const hiddenUnits = params.depth === 0 ? 1 : params.width * params.depth;
  return params.epochs * (hiddenUnits + 32) * (1 + 64 / params.batchSize);
}

/**
 * Turns experiments into tasks and results into rows. The only writer of the database: workers
 * report, the coordinator records each event in one transaction and announces it on `events`.
 */
export class Coordinator {
  readonly events = new CoordinatorEventBus();
  readonly #storage: Storage;
  readonly #runner: TaskRunner;
  readonly #dataDir: string;
  readonly #maxAttempts: number;
  readonly #sharePrefixes: boolean;

  constructor(storage: Storage, runner: TaskRunner, options: CoordinatorOptions) {
    this.#storage = storage;
    this.#runner = runner;
    this.#dataDir = options.dataDir;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#sharePrefixes = options.sharePrefixes ?? true;
  }

  /** Deletes an experiment with its runs, curves and model files. See deleteExperiment. @throws {NotFoundError | LeaseHeldError} */
  deleteExperiment(experimentId: number): void {
    deleteExperiment(this.#storage, this.#dataDir, experimentId);
  }

  /** Records that a search ended without the coordinator recording an end state (it threw). @throws {NotFoundError} */
  recordSearchFailed(experimentId: number): void {
    this.#storage.experiments.setStatus(experimentId, 'failed');
  }

  /** Validates and records a spec (or finds it for resuming). See prepareExperiment. */
  prepare(specText: string, options: PrepareOptions): Promise<PreparedExperiment> {
    return prepareExperiment(this.#storage, this.#runner, specText, options);
  }

  /**
   * Trains every unfinished (run, fold) of the experiment on the runner. Interrupted folds start
   * over; finished ones are kept. Aborting `signal` stops dispatch, ends running tasks and marks
   * their runs interrupted.
   */
  search(experimentId: number, signal?: AbortSignal): Promise<SearchSummary> {
    const experiment = this.#storage.experiments.get(experimentId);
    if (experiment.spec.validation.outer === undefined || experiment.outerOf !== null)
      return withLease(this.#storage.leases, experiment, 'search', () => this.#search(experiment, signal));
    return withLease(this.#storage.leases, experiment, 'search', async () => {
      const startedAt = Date.now();
      const main = await this.#search(experiment, signal, false);
      return main.interrupted ? main : this.#searchOuterFolds(experiment, main, startedAt, signal);
    });
  }

  /**
   * Nested CV, after the search on all non-test rows (`main`, which left the experiment running):
   * each outer fold's search, selection and refit (outer-folds.ts), each under its own lease.
   */
  async #searchOuterFolds(experiment: Experiment, main: SearchSummary, startedAt: number, signal?: AbortSignal): Promise<SearchSummary> {
    const { experiments, leases } = this.#storage;
    const { experimentId } = experiment;
    const outcome = await searchOuterFolds(
      this.#storage,
      this.events,
      experiment,
      {
        search: (outerFold) => withLease(leases, outerFold, 'search', () => this.#search(outerFold, signal)),
        refit: (outerFold) => withLease(leases, outerFold, 'refit', () => this.#refit(outerFold, undefined, signal)),
      },
      signal,
    );
    const status = outcome.interrupted ? 'interrupted' : 'done';
    experiments.setStatus(experimentId, status);
    this.events.emit('experiment', { experimentId, status });
    return {
      ...main,
      experiment: experiments.get(experimentId),
      interrupted: outcome.interrupted,
      tasksTrained: main.tasksTrained + outcome.tasksTrained,
      wallMs: Date.now() - startedAt,
    };
  }

  /**
   * @throws {ConflictError} when the data file changed since the experiment's search: a refit refuses it
   *   (same-data.ts), so the dashboard checks before it starts one in the background.
   */
  async assertSameDataAsSearch(experimentId: number): Promise<void> {
    const experiment = this.#storage.experiments.get(experimentId);
    assertSameData(experiment, (await dataDigestOf(experiment.spec)).dataSha256 ?? null);
  }

  /**
   * @throws {LeaseHeldError} when another process (or task) searches or refits the experiment:
   *   the check `foldwise run` and the dashboard make before they start one.
   */
  assertNotOwnedElsewhere(experimentId: number): void {
    assertNotLeased(this.#storage.leases, this.#storage.experiments.get(experimentId));
  }

  /** `finish`: record the end state when done (nested CV goes on to the outer folds first); an interruption is always recorded. */
  async #search(experiment: Experiment, signal?: AbortSignal, finish = true): Promise<SearchSummary> {
    const startedAt = Date.now();
    const { experiments, runs } = this.#storage;
    const { experimentId } = experiment;
    const { spec } = experiment;
    // The dataset's bytes as this search starts: every task carries their digest, and workers refuse other bytes.
    const data = await dataDigestOf(spec);
    // A refit later trains on these bytes, or refuses (same-data.ts).
    experiments.setDataSha256(experimentId, data.dataSha256 ?? null);
    runs.requeueUnfinished(experimentId);
    experiments.setStatus(experimentId, 'running');
    this.events.emit('experiment', { experimentId, status: 'running' });

    // A random or tpe search samples its trials as it goes (trial-scheduler.ts); a grid's runs are all recorded already.
    const scheduler = isSampledSearch(spec) ? new TrialScheduler(this.#storage, experiment, this.#runner.concurrency, startedAt) : null;
    const pending = runs.pendingFolds(experimentId);
    const foldsRecorded = runs.list(experimentId).reduce((sum, run) => sum + run.nFolds, 0);
    const foldsTotal = Math.max(foldsRecorded, (scheduler?.trials ?? 0) * foldCountOf(spec.validation));
    let tasksDone = foldsRecorded - pending.length;
    const nFolds = foldCountOf(spec.validation);
    const standings = new StandingsTracker(this.#storage, experiment);
    let best = standings.current(true);
    const reportProgress = () =>
      this.events.emit('progress', { experimentId, tasksDone, tasksTotal: foldsTotal, elapsedMs: Date.now() - startedAt, ...best });
    reportProgress();

    const pruning: FoldPruning =
      scheduler ??
      gridPruning(
        { pruning: spec.pruning, direction: experiment.selectionDirection, selectionKey: metricKey('val', experiment.selectionMetric) },
        () => runs.foldScores(experimentId),
      );
    const queue = new PQueue({ concurrency: this.#runner.concurrency });
    const onAbort = () => queue.clear();
    signal?.addEventListener('abort', onAbort, { once: true });
    let tasksTrained = 0;
    const foldEnded = (ending: 'trained' | 'skipped' | 'answered') => {
      if (ending === 'trained') tasksTrained++;
      tasksDone++;
      best = standings.current(tasksDone === foldsTotal);
      reportProgress();
    };
    const prefixes = this.#sharePrefixes && canSharePrefixes(spec, this.#runner) ? new PrefixBook(pending) : null;
    const riders: Riders | null = prefixes && {
      claim: (fold) => prefixes.claimShorter(fold, (runId) => isOpenRun(runs.get(runId))),
      answered: () => foldEnded('answered'),
      // It trains on its own (or rides on another task) like any fold still to train.
      release: (fold) => {
        prefixes.release(fold);
        if (!signal?.aborted) dispatch(fold);
      },
    };
    // All first folds before any second fold (so fold cutting can act early), longest first within a
    // wave. Sorted here, not by p-queue priority alone: the first tasks added start before later ones are seen.
    const ordered = pending
      .map((fold) => ({ fold, priority: (nFolds - fold.foldIndex) * 1e12 + estimatedCost(fold.params) }))
      .sort((a, b) => b.priority - a.priority);
    const dispatch = (queued: PendingFold) =>
      void queue.add(
        async () => {
          if (signal?.aborted) return;
          // Null: a longer run's task answers this fold (it is not dispatched on its own).
          const fold = prefixes ? prefixes.take(queued) : queued;
          if (fold === null) return;
          const ending = await this.#trainFold(experiment, data, fold, pruning, riders, signal);
          if (ending === 'interrupted') return;
          foldEnded(ending);
          // A finished fold may let the next trials be sampled (trial n waits for trial n − concurrentTrials).
          if (scheduler && !signal?.aborted) for (const next of scheduler.sampleReady()) dispatch(next);
        },
        // A sampled search trains older trials first: later ones wait for them.
        { priority: scheduler ? -scheduler.order(queued) : 0 },
      );
    if (scheduler) for (const fold of [...pending, ...scheduler.sampleReady()]) dispatch(fold);
    else for (const { fold } of ordered) dispatch(fold);
    await queue.onIdle();
    signal?.removeEventListener('abort', onAbort);

    const interrupted = signal?.aborted ?? false;
    if (interrupted) runs.markInterrupted(experimentId);
    const status = interrupted ? 'interrupted' : 'done';
    if (interrupted || finish) {
      experiments.setStatus(experimentId, status);
      this.events.emit('experiment', { experimentId, status });
    }
    const note = scheduler?.note ?? undefined;
    return {
      experiment: experiments.get(experimentId),
      interrupted,
      tasksTrained,
      wallMs: Date.now() - startedAt,
      ...(note ? { note } : {}),
    };
  }

  /**
   * Trains one (run, fold), retrying crashes. 'skipped' when its run had already failed or been
   * pruned. With `riders`, its task also answers the same fold of waiting runs that differ only in
   * fewer epochs (Task.horizons): each is started beside it, gets its epochs from the task's, and is
   * finished when the worker reaches its last epoch; one not reached waits again (`riders.release`),
   * unless the search was stopped (then it ends interrupted with the others).
   */
  async #trainFold(
    experiment: Experiment,
    data: DataDigest,
    fold: PendingFold,
    pruning: FoldPruning,
    riders: Riders | null,
    signal?: AbortSignal,
  ): Promise<'trained' | 'skipped' | 'interrupted'> {
    const { runs } = this.#storage;
    const { runId, foldIndex, params } = fold;
    const experimentId = experiment.experimentId;
    for (let delivery = 1; delivery <= this.#maxAttempts; delivery++) {
      if (!isOpenRun(runs.get(runId))) return 'skipped'; // failed or pruned meanwhile
      const attempt = fold.attempt + delivery;
      runs.startFold(runId, foldIndex, attempt);
      this.events.emit('run', { experimentId, runId, status: 'running' });
      const shorter = (riders?.claim(fold) ?? []).map((rider) => ({ fold: rider, attempt: rider.attempt + 1, answered: false }));
      for (const rider of shorter) {
        runs.startFold(rider.fold.runId, foldIndex, rider.attempt);
        this.events.emit('run', { experimentId, runId: rider.fold.runId, status: 'running' });
      }
      const horizons = shorter.map((rider) => ({ runId: rider.fold.runId, epochs: rider.fold.params.epochs }));
      const task: Task = {
        taskId: makeTaskId(runId, foldIndex, attempt),
        runId,
        foldIndex,
        attempt,
        kind: 'search',
        spec: experiment.spec,
        taskKind: experiment.task,
        ...data,
        ...outerFoldOf(experiment),
        params,
        ...(horizons.length > 0 ? { horizons } : {}),
      };
      const curve = new FoldCurve(experiment.selectionDirection, metricKey('val', experiment.selectionMetric));
      let stop: { readonly reason: string; readonly standing: FoldStanding } | undefined;
      const outcome = await this.#runner.run(
        task,
        (epoch, values) => {
          this.#recordEpoch(experimentId, runId, foldIndex, attempt, epoch, values);
          // A shorter run's epochs are this task's first ones.
          for (const rider of shorter)
            if (!rider.answered && epoch < rider.fold.params.epochs)
              this.#recordEpoch(experimentId, rider.fold.runId, foldIndex, rider.attempt, epoch, values);
          const best = curve.add(epoch, values);
          const reason = stop === undefined && best !== null ? pruning.atEpoch(runId, foldIndex, epoch, best) : null;
          if (reason === null) return 'continue';
          stop = { reason, standing: curve.standing(epoch) };
          return 'stop';
        },
        signal,
        (riderRunId, done) => {
          const rider = shorter.find((r) => r.fold.runId === riderRunId && !r.answered);
          if (rider === undefined) return;
          rider.answered = true;
          this.#finishFold(
            experiment,
            riderRunId,
            foldIndex,
            rider.attempt,
            done.result,
            done.backend,
            done.workerName,
            undefined,
            pruning,
          );
          riders!.answered();
        },
      );
      if (outcome.status === 'done' || outcome.reason !== 'interrupted')
        for (const rider of shorter) if (!rider.answered) riders!.release({ ...rider.fold, attempt: rider.attempt });
      if (outcome.status === 'done') {
        // A pruned fold is recorded as it stood at the rung that stopped it: the worker may have trained on into the next epoch.
        const pruned = outcome.result.stoppedByRequest ? stop : undefined;
        const result = pruned ? { ...outcome.result, ...pruned.standing } : outcome.result;
        this.#finishFold(experiment, runId, foldIndex, attempt, result, outcome.backend, outcome.workerName, pruned?.reason, pruning);
        return 'trained';
      }
      if (outcome.reason === 'interrupted') return 'interrupted';
      const retry = outcome.reason !== 'diverged' && delivery < this.#maxAttempts;
      const message = outcome.reason === 'diverged' ? `diverged: ${outcome.message}` : outcome.message;
      runs.failFold(runId, foldIndex, attempt, message, !retry, outcome.workerName);
      if (!retry) {
        this.events.emit('run', { experimentId, runId, status: 'failed' });
        return 'trained';
      }
    }
    return 'trained';
  }

  #recordEpoch(experimentId: number, runId: number, foldIndex: number, attempt: number, epoch: number, values: EpochMetrics): void {
    if (this.#storage.metrics.recordEpoch(runId, foldIndex, attempt, epoch, values)) {
      this.events.emit('epoch', { experimentId, runId, foldIndex, epoch, metrics: values });
    }
  }

  #finishFold(
    experiment: Experiment,
    runId: number,
    foldIndex: number,
    attempt: number,
    result: TaskResult,
    backend: string,
    workerName: string,
    prunedReason: string | undefined,
    pruning: FoldPruning,
  ): void {
    const { runs } = this.#storage;
    const score = result.bestMetrics[metricKey('val', experiment.selectionMetric)] ?? null;
    const runContinues = !pruning.stopEndsRun;
    const fold = { ...result, score, backend, workerName, prunedReason, runContinues };
    const recorded = this.#storage.finishSearchFold(runId, foldIndex, attempt, fold, result.outOfFold);
    if (!recorded) return;
    const cut = runs.get(runId).status === 'running' ? pruning.afterFold(runId) : null;
    if (cut) runs.pruneRun(runId, cut.reason, undefined, cut.foldsCounted);
    const status = runs.get(runId).status;
    if (status === 'done' || status === 'pruned') this.events.emit('run', { experimentId: experiment.experimentId, runId, status });
  }

  /** Finished search runs, best first by the selection metric (rankRuns); ties go to the simpler model. */
  leaderboard(experimentId: number): Run[] {
    const experiment = this.#storage.experiments.get(experimentId);
    return rankRuns(experiment, this.#storage.runs.list(experimentId));
  }

  /**
   * Refits a configuration (by default the one the experiment's selection rule chose) on all
   * non-test rows for the epochs its search chose, scores it on the test split, and saves the
   * model. Recorded as a run of kind `refit`.
   */
  refit(experimentId: number, sourceRunId?: number, signal?: AbortSignal): Promise<RefitSummary> {
    const experiment = this.#storage.experiments.get(experimentId);
    return withLease(this.#storage.leases, experiment, 'refit', () => this.#refit(experiment, sourceRunId, signal));
  }

  async #refit(experiment: Experiment, sourceRunId?: number, signal?: AbortSignal): Promise<RefitSummary> {
    const { runs, models } = this.#storage;
    const { experimentId } = experiment;
    const { spec } = experiment;
    const sourceRun = sourceRunId === undefined ? (selectionOf(experiment, runs).selected ?? undefined) : runs.get(sourceRunId);
    if (!sourceRun) throw new ConflictError(`experiment "${experiment.name}" has no finished run to refit yet`);
    if (sourceRun.experimentId !== experimentId || sourceRun.kind !== 'search')
      throw new ConflictError(`run ${sourceRun.runId} is not a search run of "${experiment.name}"`);
    if (sourceRun.status !== 'done')
      throw new ConflictError(`run ${sourceRun.runId} is ${sourceRun.status}; only finished runs can be refitted`);
    const { params } = sourceRun;
    const epochs = refitEpochsOf(spec, sourceRun);
    // Binary: the source run's out-of-fold predictions, on which the worker chooses the threshold.
    const outOfFold = experiment.task === 'binary' ? this.#storage.outOfFold.encodedOfRun(sourceRun.runId) : undefined;
    const data = await dataDigestOf(spec);
    assertSameData(this.#storage.experiments.get(experimentId), data.dataSha256 ?? null);
    const refitRun = runs.createRefitRun(experimentId, sourceRun.paramsJson, sourceRun.runId);
    const modelDir = this.#modelDirFor(experiment, refitRun);
    rmSync(modelDir, { recursive: true, force: true });
    this.events.emit('refit', { experimentId, runId: refitRun.runId, sourceRunId: sourceRun.runId, epochs });

    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      runs.startFold(refitRun.runId, 0, attempt);
      this.events.emit('run', { experimentId, runId: refitRun.runId, status: 'running' });
      const task: Task = {
        taskId: makeTaskId(refitRun.runId, 0, attempt),
        runId: refitRun.runId,
        foldIndex: 0,
        attempt,
        kind: 'refit',
        spec,
        taskKind: experiment.task,
        ...data,
        ...outerFoldOf(experiment),
        params: { ...params, epochs },
        refit: { epochs, modelDir, ...(outOfFold === undefined ? {} : { outOfFold }) },
      };
      const outcome: TaskOutcome = await this.#runner.run(
        task,
        (epoch, values) => this.#recordEpoch(experimentId, refitRun.runId, 0, attempt, epoch, values),
        signal,
      );
      if (outcome.status === 'done') {
        const testMetrics = outcome.result.testMetrics ?? {};
        const score = testMetrics[metricKey('test', experiment.selectionMetric)] ?? null;
        this.#storage.finishRefit(
          refitRun.runId,
          attempt,
          { ...outcome.result, score, backend: outcome.backend, workerName: outcome.workerName },
          {
            runId: refitRun.runId,
            experimentId,
            sourceRunId: sourceRun.runId,
            format: 'tfjs-layers',
            path: modelDir,
            testMetrics,
            decision: outcome.result.decision ?? null,
          },
        );
        this.events.emit('run', { experimentId, runId: refitRun.runId, status: 'done' });
        const model = models.ofExperiment(experimentId).find((m) => m.runId === refitRun.runId)!;
        return { refitRun: runs.get(refitRun.runId), sourceRun, model };
      }
      const final = outcome.reason === 'diverged' || outcome.reason === 'interrupted' || attempt === this.#maxAttempts;
      runs.failFold(refitRun.runId, 0, attempt, outcome.message, final, outcome.workerName);
      if (final) {
        this.events.emit('run', { experimentId, runId: refitRun.runId, status: 'failed' });
        throw new AppError('internal', `refit of run ${sourceRun.runId} failed: ${outcome.message}`);
      }
    }
    throw new AppError('internal', 'unreachable: refit attempts exhausted');
  }

  /**
   * The refit run's model folder, named by its number in the experiment. Folders written before
   * runs were numbered per experiment are named by run id, so a number can meet another model's
   * folder: then the run id is added rather than that model's files being replaced.
   */
  #modelDirFor(experiment: Experiment, refitRun: Run): string {
    const dir = refitModelDir(this.#dataDir, experiment.name, refitRun.number);
    const taken = this.#storage.models.ofExperiment(experiment.experimentId).some((m) => m.path === dir && m.runId !== refitRun.runId);
    return taken ? refitModelDir(this.#dataDir, experiment.name, `${refitRun.number}-id${refitRun.runId}`) : dir;
  }
}

/** The shorter runs a search's tasks may answer (epoch-prefix sharing), as #search keeps them. */
type Riders = {
  /** Takes the waiting folds the task of `fold` can answer (PrefixBook.claimShorter). */
  claim(fold: PendingFold): PendingFold[];
  /** A fold was answered and recorded. */
  answered(): void;
  /** A fold the task did not reach: it waits again, as `fold` (its attempt since). */
  release(fold: PendingFold): void;
};

/** A run whose folds still train: not failed or pruned. */
function isOpenRun(run: Run): boolean {
  return run.status === 'queued' || run.status === 'running' || run.status === 'interrupted';
}

/** Nested CV: the outer fold an outer fold's experiment's tasks carry (Task.outerFold); nothing for any other experiment. */
function outerFoldOf(experiment: Experiment): { readonly outerFold?: number } {
  return experiment.outerOf === null ? {} : { outerFold: experiment.outerOf.outerFold };
}

/** Where a fold stood after some epoch: what its result would have been had it ended there. */
type FoldStanding = Pick<TaskResult, 'bestEpoch' | 'stoppedEpoch' | 'bestMetrics'>;

/**
 * A fold's validation curve as it arrives: the best selection score so far (non-finite values
 * skipped), the epoch it came from, and the validation metrics of that epoch.
 */
class FoldCurve {
  #best: number | null = null;
  #bestEpoch = 0;
  #bestMetrics: TaskResult['bestMetrics'] = {};
  constructor(
    readonly direction: Direction,
    readonly key: string,
  ) {}

  add(epoch: number, metrics: EpochMetrics): number | null {
    const value = metrics[this.key] ?? null;
    if (value !== null && Number.isFinite(value) && (this.#best === null || isBetter(this.direction, value, this.#best))) {
      this.#best = value;
      this.#bestEpoch = epoch;
      this.#bestMetrics = Object.fromEntries(Object.entries(metrics).filter(([name]) => parseMetricKey(name).scope === 'val'));
    }
    return this.#best;
  }

  standing(epoch: number): FoldStanding {
    return { bestEpoch: this.#bestEpoch, stoppedEpoch: epoch, bestMetrics: this.#bestMetrics };
  }
}
