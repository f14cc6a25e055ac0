import { storedParamsSchema, type Params } from '../../worker/contract/spec.js';
import { writeTransaction, type Db } from './database.js';
import { ConflictError, NotFoundError } from '../errors.js';

export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'pruned' | 'interrupted';
export type RunKind = 'search' | 'refit';

export type Run = {
  readonly runId: number;
  readonly experimentId: number;
  /** The run's number within its experiment (#1…#N, in creation order): what the CLI, the pages and model folders show. */
  readonly number: number;
  /**
   * A search run's place in its experiment's trial sequence (1…N, in the order its configuration
   * was sampled or, for a grid, expanded); null for a refit. Trial n of a random or tpe search is
   * sampled from the results of trials 1…n − concurrentTrials (server/search/).
   */
  readonly trialNumber: number | null;
  readonly kind: RunKind;
  /** The hyperparameters as canonical JSON: what makes a run unique in its experiment (and names a refit's source). */
  readonly paramsJson: string;
  /** The hyperparameters, parsed once here (older rows get the defaults of keys added since). */
  readonly params: Params;
  readonly status: RunStatus;
  readonly nFolds: number;
  readonly scoreMean: number | null;
  readonly scoreStd: number | null;
  /** Epochs a refit of this configuration trains: the median of the folds' best epochs, counted from 1. */
  readonly refitEpochs: number | null;
  readonly paramCount: number | null;
  readonly backend: string | null;
  readonly error: string | null;
  readonly sourceRunId: number | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** Training time summed over folds. */
  readonly trainMs: number | null;
  readonly foldsDone: number;
};

export type Fold = {
  readonly runId: number;
  readonly foldIndex: number;
  readonly status: RunStatus;
  readonly attempt: number;
  readonly bestEpoch: number | null;
  readonly stoppedEpoch: number | null;
  readonly score: number | null;
  readonly bestMetrics: Readonly<Record<string, number | null>> | null;
  readonly trainMs: number | null;
  readonly workerName: string | null;
  readonly error: string | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
};

/** A (run, fold) still to train, with what the coordinator needs to build its task. */
export type PendingFold = {
  readonly runId: number;
  readonly foldIndex: number;
  readonly attempt: number;
  readonly params: Params;
  readonly kind: RunKind;
};

export type FoldResult = {
  readonly bestEpoch: number;
  readonly stoppedEpoch: number;
  readonly score: number | null;
  readonly bestMetrics: Readonly<Record<string, number | null>>;
  readonly paramCount: number;
  readonly trainMs: number;
  readonly backend: string;
  readonly workerName: string;
  /** Set when the fold was stopped by pruning: the fold and its run end as pruned. */
  readonly prunedReason?: string;
  /**
   * With `prunedReason`: only this fold ends (pruned, with its partial score); the run's other
   * folds go on, and the run ends pruned once every fold has ended (a sampled trial, whose partial
   * score must not depend on timing: see server/search/trial-pruning.ts).
   */
  readonly runContinues?: boolean;
};

type RunRow = {
  run_id: number;
  experiment_id: number;
  number: number;
  trial_number: number | null;
  kind: RunKind;
  params_json: string;
  status: RunStatus;
  n_folds: number;
  score_mean: number | null;
  score_std: number | null;
  refit_epochs: number | null;
  param_count: number | null;
  backend: string | null;
  error: string | null;
  source_run_id: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  train_ms: number | null;
  folds_done: number;
};
type FoldRow = {
  run_id: number;
  fold_index: number;
  status: RunStatus;
  attempt: number;
  best_epoch: number | null;
  stopped_epoch: number | null;
  score: number | null;
  best_metrics_json: string | null;
  train_ms: number | null;
  worker_name: string | null;
  error: string | null;
  started_at: number | null;
  finished_at: number | null;
};

/** Parsed hyperparameters kept by their stored JSON (parseParams); past this many the cache starts afresh. */
const PARSED_PARAMS_KEPT = 50_000;
const parsedParams = new Map<string, Params>();

/**
 * A run's stored hyperparameters, filled in with the defaults of keys added after the row was written.
 * A run's params never change once written, and a dashboard re-reads every run of an experiment
 * after each change to any of them (10,000 at a time: ~35 ms of parsing and validating), so each
 * JSON is parsed once per process. Frozen: every reader of that JSON shares the one object.
 */
function parseParams(paramsJson: string): Params {
  let params = parsedParams.get(paramsJson);
  if (params === undefined) {
    if (parsedParams.size >= PARSED_PARAMS_KEPT) parsedParams.clear();
    params = Object.freeze(storedParamsSchema.parse(JSON.parse(paramsJson)));
    parsedParams.set(paramsJson, params);
  }
  return params;
}

/** A run from its row; `foldsDone` when it was counted apart from the row (searchRunsWithFoldScores). */
function rowToRun(row: Omit<RunRow, 'folds_done'>, foldsDone: number): Run {
  return {
    runId: row.run_id,
    experimentId: row.experiment_id,
    number: row.number,
    trialNumber: row.trial_number,
    kind: row.kind,
    paramsJson: row.params_json,
    params: parseParams(row.params_json),
    status: row.status,
    nFolds: row.n_folds,
    scoreMean: row.score_mean,
    scoreStd: row.score_std,
    refitEpochs: row.refit_epochs,
    paramCount: row.param_count,
    backend: row.backend,
    error: row.error,
    sourceRunId: row.source_run_id,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    trainMs: row.train_ms,
    foldsDone,
  };
}

function rowToFold(row: FoldRow): Fold {
  return {
    runId: row.run_id,
    foldIndex: row.fold_index,
    status: row.status,
    attempt: row.attempt,
    bestEpoch: row.best_epoch,
    stoppedEpoch: row.stopped_epoch,
    score: row.score,
    bestMetrics: row.best_metrics_json === null ? null : JSON.parse(row.best_metrics_json),
    trainMs: row.train_ms,
    workerName: row.worker_name,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

const RUN_COLUMNS = `r.*, (SELECT count(*) FROM folds f WHERE f.run_id = r.run_id AND f.status = 'done') AS folds_done`;

/** Median of the folds' best epochs, as an epoch count (best epoch 0 → 1 epoch). */
export function medianEpochCount(bestEpochs: readonly number[]): number {
  const sorted = [...bestEpochs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return Math.round(median) + 1;
}

/** Mean and population standard deviation (as scikit-learn's `std_test_score`); null if any is missing. */
export function meanAndStd(values: readonly (number | null)[]): { mean: number | null; std: number | null } {
  if (values.length === 0 || values.some((v) => v === null || !Number.isFinite(v))) return { mean: null, std: null };
  const numbers = values as number[];
  const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
  const variance = numbers.reduce((a, b) => a + (b - mean) ** 2, 0) / numbers.length;
  return { mean, std: Math.sqrt(variance) };
}

/**
 * Runs and their folds. Status changes are guarded by the current status (and the fold's
 * attempt), so a late or duplicated message from a worker cannot overwrite newer state.
 */
export class RunStore {
  readonly #insertRun;
  readonly #insertFold;
  readonly #runById;
  readonly #runByNumber;
  readonly #runsOf;
  readonly #foldsOf;
  readonly #pending;
  readonly #startFold;
  readonly #markRunRunning;
  readonly #clearPoints;
  readonly #clearPointsAfter;
  readonly #finishFold;
  readonly #doneFolds;
  readonly #finishRun;
  readonly #failFold;
  readonly #failRun;
  readonly #failUntrainedFolds;
  readonly #interruptFolds;
  readonly #interruptRuns;
  readonly #requeueFolds;
  readonly #requeueRuns;
  readonly #clearUnfinishedPoints;
  readonly #resetRefit;
  readonly #foldScores;
  readonly #searchRunsOf;
  readonly #requeueRefitFold;
  readonly #requeueUnstartedRuns;
  readonly #scoredFolds;
  readonly #findRun;
  readonly #pruneRun;
  readonly #pruneFolds;
  readonly #settledFolds;
  readonly #firstPrunedFold;
  readonly #version;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    this.#insertRun = db.prepare(`INSERT INTO runs
        (experiment_id, kind, params_json, status, n_folds, source_run_id, created_at, number, trial_number)
      VALUES (@experimentId, @kind, @paramsJson, 'queued', @nFolds, @sourceRunId, @now,
        (SELECT coalesce(max(number), 0) + 1 FROM runs WHERE experiment_id = @experimentId),
        CASE WHEN @kind = 'search' THEN
          (SELECT coalesce(max(trial_number), 0) + 1 FROM runs WHERE experiment_id = @experimentId AND kind = 'search') END)
      ON CONFLICT DO NOTHING`);
    this.#insertFold = db.prepare(`INSERT INTO folds (run_id, fold_index, status) VALUES (?, ?, 'queued') ON CONFLICT DO NOTHING`);
    this.#findRun = db.prepare('SELECT run_id FROM runs WHERE experiment_id = ? AND kind = ? AND params_json = ?');
    this.#runById = db.prepare(`SELECT ${RUN_COLUMNS} FROM runs r WHERE r.run_id = ?`);
    this.#runsOf = db.prepare(`SELECT ${RUN_COLUMNS} FROM runs r WHERE r.experiment_id = ? AND r.kind = ? ORDER BY r.run_id`);
    this.#runByNumber = db.prepare(`SELECT ${RUN_COLUMNS} FROM runs r WHERE r.experiment_id = ? AND r.number = ?`);
    this.#foldsOf = db.prepare('SELECT * FROM folds WHERE run_id = ? ORDER BY fold_index');
    this.#pending = db.prepare(`SELECT f.run_id, f.fold_index, f.attempt, r.params_json, r.kind FROM folds f JOIN runs r USING (run_id)
      WHERE r.experiment_id = ? AND r.kind = 'search' AND r.status IN ('queued','running','interrupted') AND f.status <> 'done'
      ORDER BY f.run_id, f.fold_index`);
    this.#startFold =
      db.prepare(`UPDATE folds SET status = 'running', attempt = @attempt, started_at = @now, finished_at = NULL, error = NULL,
      worker_name = NULL WHERE run_id = @runId AND fold_index = @foldIndex AND status <> 'done'`);
    this.#markRunRunning = db.prepare(`UPDATE runs SET status = 'running', started_at = coalesce(started_at, @now)
      WHERE run_id = @runId AND status IN ('queued','interrupted','running')`);
    this.#clearPoints = db.prepare('DELETE FROM metric_points WHERE run_id = ? AND fold_index = ?');
    this.#clearPointsAfter = db.prepare('DELETE FROM metric_points WHERE run_id = ? AND fold_index = ? AND epoch > ?');
    this.#finishFold =
      db.prepare(`UPDATE folds SET status = @status, best_epoch = @bestEpoch, stopped_epoch = @stoppedEpoch, score = @score,
      best_metrics_json = @bestMetricsJson, train_ms = @trainMs, worker_name = @workerName, finished_at = @now, error = @error
      WHERE run_id = @runId AND fold_index = @foldIndex AND attempt = @attempt AND status = 'running'`);
    this.#doneFolds = db.prepare(`SELECT best_epoch, score, train_ms FROM folds WHERE run_id = ? AND status = 'done'`);
    this.#scoredFolds = db.prepare(`SELECT score FROM folds WHERE run_id = ? AND status IN ('done','pruned') AND score IS NOT NULL
      AND fold_index < ?`);
    this.#settledFolds = db.prepare(`SELECT count(*) AS n FROM folds WHERE run_id = ? AND (status = 'done'
      OR (status = 'pruned' AND stopped_epoch IS NOT NULL))`);
    this.#firstPrunedFold = db.prepare(`SELECT error FROM folds WHERE run_id = ? AND status = 'pruned' AND stopped_epoch IS NOT NULL
      ORDER BY fold_index LIMIT 1`);
    this.#requeueRefitFold = db.prepare(`UPDATE folds SET status = 'queued', attempt = 0 WHERE run_id = ?`);
    this.#requeueUnstartedRuns = db.prepare(`UPDATE runs SET status = 'queued' WHERE experiment_id = ? AND status = 'running'`);
    // No folds_done: counted from the fold scores read beside it (searchRunsWithFoldScores).
    this.#searchRunsOf = db.prepare(`SELECT r.* FROM runs r WHERE r.experiment_id = ? AND r.kind = 'search' ORDER BY r.run_id`);
    // Rows as arrays (raw): 50,000 of them at 10,000 runs, read after every change the dashboard sees.
    this.#foldScores = db
      .prepare(`SELECT f.run_id, f.fold_index, f.score FROM folds f JOIN runs r USING (run_id)
      WHERE r.experiment_id = ? AND r.kind = 'search' AND f.status = 'done'`)
      .raw(true);
    this.#finishRun =
      db.prepare(`UPDATE runs SET status = 'done', score_mean = @scoreMean, score_std = @scoreStd, refit_epochs = @refitEpochs,
      param_count = @paramCount, backend = @backend, train_ms = @trainMs, finished_at = @now WHERE run_id = @runId AND status = 'running'`);
    this.#failFold = db.prepare(`UPDATE folds SET status = @status, error = @error, worker_name = @workerName, finished_at = @now
      WHERE run_id = @runId AND fold_index = @foldIndex AND attempt = @attempt AND status = 'running'`);
    this.#failRun = db.prepare(
      `UPDATE runs SET status = 'failed', error = @error, finished_at = @now
      WHERE run_id = @runId AND status IN ('queued','running','interrupted')`,
    );
    this.#failUntrainedFolds = db.prepare(`UPDATE folds SET status = 'failed', error = @reason, finished_at = @now
      WHERE run_id = @runId AND status IN ('queued','interrupted')`);
    this.#pruneRun =
      db.prepare(`UPDATE runs SET status = 'pruned', error = @reason, score_mean = @scoreMean, score_std = @scoreStd, finished_at = @now
      WHERE run_id = @runId AND status IN ('queued','running','interrupted')`);
    this.#pruneFolds = db.prepare(`UPDATE folds SET status = 'pruned' WHERE run_id = ? AND status IN ('queued','interrupted')`);
    this.#interruptFolds = db.prepare(
      `UPDATE folds SET status = 'interrupted' WHERE status = 'running' AND run_id IN (SELECT run_id FROM runs WHERE experiment_id = ?)`,
    );
    this.#interruptRuns = db.prepare(`UPDATE runs SET status = 'interrupted' WHERE experiment_id = ? AND status IN ('running','queued')
      AND EXISTS (SELECT 1 FROM folds f WHERE f.run_id = runs.run_id AND f.status IN ('interrupted','done'))`);
    this.#requeueFolds = db.prepare(
      `UPDATE folds SET status = 'queued' WHERE status IN ('running','interrupted')
      AND run_id IN (SELECT run_id FROM runs WHERE experiment_id = ?)`,
    );
    this.#requeueRuns = db.prepare(`UPDATE runs SET status = 'queued' WHERE experiment_id = ? AND status IN ('running','interrupted')`);
    // Only the folds that train again: a failed or pruned run keeps its curves (a diverged fold's epochs before the NaN).
    this.#clearUnfinishedPoints = db.prepare(`DELETE FROM metric_points WHERE (run_id, fold_index) IN
      (SELECT f.run_id, f.fold_index FROM folds f JOIN runs r USING (run_id) WHERE r.experiment_id = ? AND f.status <> 'done'
      AND r.status IN ('queued','running','interrupted'))`);
    this.#version = db.prepare('SELECT runs_version FROM experiments WHERE experiment_id = ?').pluck();
    this.#resetRefit = db.prepare(`UPDATE runs SET status = 'queued', error = NULL, score_mean = NULL, score_std = NULL, started_at = NULL,
      finished_at = NULL, source_run_id = ? WHERE run_id = ?`);
  }

  /**
   * Creates the search runs (one fold row per fold) in one transaction, numbered as trials in list
   * order after the existing ones; existing ones are kept. Returns how many were new.
   */
  createSearchRuns(experimentId: number, paramsJsonList: readonly string[], nFolds: number, now = Date.now()): number {
    return writeTransaction(this.#db, () => {
      let created = 0;
      for (const paramsJson of paramsJsonList) {
        const { changes } = this.#insertRun.run({ experimentId, kind: 'search', paramsJson, nFolds, sourceRunId: null, now });
        created += changes;
        const { run_id: runId } = this.#findRun.get(experimentId, 'search', paramsJson) as { run_id: number };
        for (let fold = 0; fold < nFolds; fold++) this.#insertFold.run(runId, fold);
      }
      return created;
    });
  }

  /**
   * Records trial `trialNumber` of a sampled search: its run and fold rows, in one transaction,
   * before any of it is dispatched. Returns null (and records nothing) when the configuration is
   * already a run of the experiment. @throws {ConflictError} when the trial is not the next one.
   */
  createTrial(experimentId: number, trialNumber: number, paramsJson: string, nFolds: number, now = Date.now()): Run | null {
    return writeTransaction(this.#db, () => {
      const { changes } = this.#insertRun.run({ experimentId, kind: 'search', paramsJson, nFolds, sourceRunId: null, now });
      if (changes === 0) return null;
      const { run_id: runId } = this.#findRun.get(experimentId, 'search', paramsJson) as { run_id: number };
      const run = this.get(runId);
      if (run.trialNumber !== trialNumber) throw new ConflictError(`trial ${trialNumber} is not the next trial (${run.trialNumber} is)`);
      for (let fold = 0; fold < nFolds; fold++) this.#insertFold.run(runId, fold);
      return run;
    });
  }

  /** Creates (or resets, when the same configuration was refitted before) the refit run of a configuration. */
  createRefitRun(experimentId: number, paramsJson: string, sourceRunId: number, now = Date.now()): Run {
    return writeTransaction(this.#db, () => {
      this.#insertRun.run({ experimentId, kind: 'refit', paramsJson, nFolds: 1, sourceRunId, now });
      const { run_id: runId } = this.#findRun.get(experimentId, 'refit', paramsJson) as { run_id: number };
      this.#resetRefit.run(sourceRunId, runId);
      this.#insertFold.run(runId, 0);
      this.#requeueRefitFold.run(runId);
      this.#clearPoints.run(runId, 0);
      return this.get(runId);
    });
  }

  /** @throws {NotFoundError} */
  get(runId: number): Run {
    const row = this.#runById.get(runId) as RunRow | undefined;
    if (!row) throw new NotFoundError(`no run with id ${runId}`);
    return rowToRun(row, row.folds_done);
  }

  /** The run numbered `number` (#N) in its experiment, search or refit; undefined when there is none. */
  byNumber(experimentId: number, number: number): Run | undefined {
    const row = this.#runByNumber.get(experimentId, number) as RunRow | undefined;
    return row ? rowToRun(row, row.folds_done) : undefined;
  }

  list(experimentId: number, kind: RunKind = 'search'): Run[] {
    return (this.#runsOf.all(experimentId, kind) as RunRow[]).map((row) => rowToRun(row, row.folds_done));
  }

  /**
   * A counter the database raises with every change to the experiment's runs and folds, in the same
   * transaction (the runs_version triggers in migrations.ts): while it stays, list and foldScores answer the same.
   * @throws {NotFoundError}
   */
  runsVersion(experimentId: number): number {
    const version = this.#version.get(experimentId) as number | undefined;
    if (version === undefined) throw new NotFoundError(`no experiment with id ${experimentId}`);
    return version;
  }

  folds(runId: number): Fold[] {
    return (this.#foldsOf.all(runId) as FoldRow[]).map(rowToFold);
  }

  /** Folds of unfinished search runs that still need training, in run order. */
  pendingFolds(experimentId: number): PendingFold[] {
    return (
      this.#pending.all(experimentId) as { run_id: number; fold_index: number; attempt: number; params_json: string; kind: RunKind }[]
    ).map((row) => ({
      runId: row.run_id,
      foldIndex: row.fold_index,
      attempt: row.attempt,
      params: parseParams(row.params_json),
      kind: row.kind,
    }));
  }

  /** Marks a fold running under a new attempt and drops any points an earlier attempt left: a retried task starts from scratch. */
  startFold(runId: number, foldIndex: number, attempt: number, now = Date.now()): void {
    writeTransaction(this.#db, () => {
      if (this.#startFold.run({ runId, foldIndex, attempt, now }).changes === 0) {
        throw new ConflictError(`fold ${foldIndex} of run ${runId} is already done`);
      }
      this.#markRunRunning.run({ runId, now });
      this.#clearPoints.run(runId, foldIndex);
    });
  }

  /**
   * Records a finished fold and, when it was the run's last, the run's aggregate, in one transaction.
   * Returns false (and changes nothing) when the fold is not running under this attempt.
   */
  finishFold(runId: number, foldIndex: number, attempt: number, result: FoldResult, now = Date.now()): boolean {
    return writeTransaction(this.#db, () => {
      const { changes } = this.#finishFold.run({
        runId,
        foldIndex,
        attempt,
        now,
        status: result.prunedReason ? 'pruned' : 'done',
        bestEpoch: result.bestEpoch,
        stoppedEpoch: result.stoppedEpoch,
        score: result.score,
        bestMetricsJson: JSON.stringify(result.bestMetrics),
        trainMs: Math.round(result.trainMs),
        workerName: result.workerName,
        error: result.prunedReason ?? null,
      });
      if (changes === 0) return false;
      // A dead earlier delivery of the same attempt (a queue redelivery) may have reported epochs past this one's end.
      this.#clearPointsAfter.run(runId, foldIndex, result.stoppedEpoch);
      if (result.prunedReason && !result.runContinues) {
        this.pruneRun(runId, result.prunedReason, now);
        return true;
      }
      const run = this.get(runId);
      const { n: settled } = this.#settledFolds.get(runId) as { n: number };
      const done = this.#doneFolds.all(runId) as { best_epoch: number; score: number | null; train_ms: number }[];
      if (done.length === run.nFolds) {
        const { mean, std } = meanAndStd(done.map((fold) => fold.score));
        this.#finishRun.run({
          runId,
          now,
          scoreMean: mean,
          scoreStd: std,
          refitEpochs: medianEpochCount(done.map((fold) => fold.best_epoch)),
          paramCount: result.paramCount,
          backend: result.backend,
          trainMs: done.reduce((sum, fold) => sum + fold.train_ms, 0),
        });
      } else if (settled === run.nFolds && run.status === 'running') {
        // Every fold ended and some were pruned: the run is pruned, with the mean of its folds' (partial) scores.
        const { error } = this.#firstPrunedFold.get(runId) as { error: string | null };
        this.pruneRun(runId, error ?? 'pruned', now);
      }
      return true;
    });
  }

  /**
   * The search runs (as `list`) and their fold scores (as `foldScores`) as of one moment: read in
   * one transaction, each run's `foldsDone` counted from the same fold rows rather than by a
   * query per run (~40 ms of `list` at 10,000 runs). What the selection, the search's standings
   * and the dashboard's run snapshots read.
   */
  searchRunsWithFoldScores(experimentId: number): { runs: Run[]; foldScores: Map<number, Map<number, number | null>> } {
    return this.#db.transaction(() => {
      const foldScores = this.foldScores(experimentId);
      const runs = (this.#searchRunsOf.all(experimentId) as Omit<RunRow, 'folds_done'>[]).map((row) =>
        rowToRun(row, foldScores.get(row.run_id)?.size ?? 0),
      );
      return { runs, foldScores };
    })();
  }

  /** Scores of every finished search fold of an experiment: run id → fold index → score. */
  foldScores(experimentId: number): Map<number, Map<number, number | null>> {
    const byRun = new Map<number, Map<number, number | null>>();
    for (const [runId, foldIndex, score] of this.#foldScores.all(experimentId) as [number, number, number | null][]) {
      let folds = byRun.get(runId);
      if (folds === undefined) byRun.set(runId, (folds = new Map<number, number | null>()));
      folds.set(foldIndex, score);
    }
    return byRun;
  }

  /**
   * Ends a fold attempt in failure; when `final`, the whole run fails with the message and its
   * untrained folds are marked failed with "not trained: fold N failed (…)".
   */
  failFold(
    runId: number,
    foldIndex: number,
    attempt: number,
    error: string,
    final: boolean,
    workerName: string | null = null,
    now = Date.now(),
  ): void {
    writeTransaction(this.#db, () => {
      this.#failFold.run({ runId, foldIndex, attempt, error, workerName, now, status: final ? 'failed' : 'interrupted' });
      if (!final) return;
      this.#failRun.run({ runId, error, now });
      // Its folds that will not train now say why (not "queued" forever); folds training elsewhere finish as they do.
      this.#failUntrainedFolds.run({ runId, now, reason: `not trained: fold ${foldIndex + 1} failed (${error})` });
    });
  }

  /**
   * Ends a run early (pruned) with the reason and the partial score of its finished folds (only
   * those below `foldsCounted` when given: a fold cut of a sampled trial counts the folds it judged).
   */
  pruneRun(runId: number, reason: string, now = Date.now(), foldsCounted = Number.MAX_SAFE_INTEGER): void {
    writeTransaction(this.#db, () => {
      const scored = this.#scoredFolds.all(runId, foldsCounted) as { score: number }[];
      const { mean, std } = meanAndStd(scored.map((fold) => fold.score));
      this.#pruneRun.run({ runId, reason, now, scoreMean: mean, scoreStd: std });
      this.#pruneFolds.run(runId);
    });
  }

  /** After a stop: running folds and runs become interrupted (finished ones are untouched). */
  markInterrupted(experimentId: number): void {
    writeTransaction(this.#db, () => {
      this.#interruptFolds.run(experimentId);
      this.#interruptRuns.run(experimentId);
      // Runs that had no fold interrupted or done never really started.
      this.#requeueUnstartedRuns.run(experimentId);
    });
  }

  /**
   * Before resuming: every unfinished fold goes back to the queue and loses the points an
   * interrupted attempt left, so no epoch row is duplicated or half-kept.
   */
  requeueUnfinished(experimentId: number): void {
    writeTransaction(this.#db, () => {
      this.#clearUnfinishedPoints.run(experimentId);
      this.#requeueFolds.run(experimentId);
      this.#requeueRuns.run(experimentId);
    });
  }
}
