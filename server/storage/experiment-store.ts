import { z } from 'zod';
import { specSchema, storedParamsSchema, type ExperimentSpec, type Params } from '../../worker/contract/spec.js';
import { DIRECTIONS, TASKS, type Direction, type TaskKind } from '../../worker/contract/vocabulary.js';
import type { Db } from './database.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { isLive } from './lease-store.js';

export type ExperimentStatus = 'queued' | 'running' | 'done' | 'failed' | 'interrupted';

/** A finished trial of the experiment a warm-started search starts from, as it stood when that search's experiment was created. */
export type WarmStartTrial = {
  /** Its trial number in the source experiment. */
  readonly number: number;
  readonly state: 'complete' | 'pruned';
  readonly params: Params;
  /** The selection metric's mean over its folds (a pruned trial's: over those it trained). */
  readonly score: number;
  /** How far a pruned trial got (FrozenTrial.progress). */
  readonly progress: number;
};

/** Where a warm-started TPE search (`foldwise run SPEC --from EXPERIMENT`) took its first history from. */
export type WarmStart = {
  /** The source experiment's name and id (it may have been deleted since: the trials are kept here). */
  readonly from: string;
  readonly fromExperimentId: number;
  /** The source's finished trials inside this experiment's space, by their number there. */
  readonly trials: readonly WarmStartTrial[];
  /** The source's finished trials left out: values outside this experiment's space. */
  readonly outOfSpace: number;
};

const warmStartSchema = z.strictObject({
  from: z.string(),
  fromExperimentId: z.number().int(),
  trials: z.array(
    z.strictObject({
      number: z.number().int(),
      state: z.enum(['complete', 'pruned']),
      params: storedParamsSchema,
      score: z.number(),
      progress: z.number(),
    }),
  ),
  outOfSpace: z.number().int().min(0),
});

export type Experiment = {
  readonly experimentId: number;
  readonly name: string;
  /** The spec as its author wrote it. */
  readonly specText: string;
  /** The resolved spec (defaults filled, dataset path absolute), parsed once here. */
  readonly spec: ExperimentSpec;
  readonly specHash: string;
  readonly datasetKind: string;
  /** The task kind, as the worker read it from the data (the spec may leave it out). */
  readonly task: TaskKind;
  readonly selectionMetric: string;
  readonly selectionDirection: Direction;
  /**
   * As recorded, except that a `running` experiment whose owner is gone (its lease is stale or
   * missing: the process was killed) reads as `interrupted`, which is what it is: resumable.
   */
  readonly status: ExperimentStatus;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /**
   * A random or tpe search: how many trials may be in flight (trial n is sampled from the results
   * of trials 1…n − this). The spec's `search.concurrentTrials`, else the worker count when the
   * search first started; null before that, and for a grid.
   */
  readonly concurrentTrials: number | null;
  /** Binary tasks: the positive class (spec `positiveClass`, or the default the data implied); null otherwise. */
  readonly positiveClass: string | null;
  /** Nested CV: an outer fold's experiment names the experiment it belongs to and its 0-based outer fold; null otherwise. */
  readonly outerOf: { readonly parentExperimentId: number; readonly outerFold: number } | null;
  /** The sha256 of the CSV file's or MovieLens folder's bytes its search ran on (dataset-digest.ts); null for generated data. */
  readonly dataSha256: string | null;
  /** A TPE search warm-started from another experiment's trials; null otherwise. */
  readonly warmStart: WarmStart | null;
};

/** An experiment with its run counts and best score, for listings. */
export type ExperimentSummary = Experiment & {
  readonly runsTotal: number;
  readonly runsFinished: number;
  readonly runsFailed: number;
  readonly bestScore: number | null;
};

type ExperimentRow = {
  experiment_id: number;
  name: string;
  spec_text: string;
  spec_json: string;
  spec_hash: string;
  dataset_kind: string;
  task: string;
  selection_metric: string;
  selection_direction: string;
  status: ExperimentStatus;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  concurrent_trials: number | null;
  positive_class: string | null;
  parent_experiment_id: number | null;
  outer_fold: number | null;
  data_sha256: string | null;
  warm_start_json: string | null;
  /** From the experiment's lease, if any (LEFT JOIN leases). */
  lease_pid: number | null;
  lease_host: string | null;
  lease_heartbeat_at: number | null;
};

/** The experiments columns and its lease's, for every query that returns experiments. */
const EXPERIMENT_WITH_LEASE = `SELECT e.*, l.pid AS lease_pid, l.host AS lease_host, l.heartbeat_at AS lease_heartbeat_at
  FROM experiments e LEFT JOIN leases l USING (experiment_id)`;

function effectiveStatus(row: ExperimentRow): ExperimentStatus {
  if (row.status !== 'running') return row.status;
  const owned =
    row.lease_pid !== null &&
    row.lease_host !== null &&
    row.lease_heartbeat_at !== null &&
    isLive({ pid: row.lease_pid, host: row.lease_host, heartbeatAt: row.lease_heartbeat_at }, Date.now());
  return owned ? 'running' : 'interrupted';
}

const taskSchema = z.enum(TASKS);
const directionSchema = z.enum(DIRECTIONS);

/** The one place an experiments row becomes an Experiment: its JSON and vocabulary columns are checked and typed here. */
function rowToExperiment(row: ExperimentRow): Experiment {
  return {
    experimentId: row.experiment_id,
    name: row.name,
    specText: row.spec_text,
    spec: specSchema.parse(JSON.parse(row.spec_json)),
    specHash: row.spec_hash,
    datasetKind: row.dataset_kind,
    task: taskSchema.parse(row.task),
    selectionMetric: row.selection_metric,
    selectionDirection: directionSchema.parse(row.selection_direction),
    status: effectiveStatus(row),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    concurrentTrials: row.concurrent_trials,
    positiveClass: row.positive_class,
    outerOf:
      row.parent_experiment_id === null || row.outer_fold === null
        ? null
        : { parentExperimentId: row.parent_experiment_id, outerFold: row.outer_fold },
    dataSha256: row.data_sha256,
    warmStart: row.warm_start_json === null ? null : warmStartSchema.parse(JSON.parse(row.warm_start_json)),
  };
}

/**
 * Nested CV: the name of outer fold `outerFold`'s experiment (0-based), `NAME/outer-1` for the first: a `/` no
 * spec's name may have, so it never meets an experiment a person named (and its model folder lies in the parent's).
 */
export function outerFoldName(parentName: string, outerFold: number): string {
  return `${parentName}/outer-${outerFold + 1}`;
}

export type NewExperiment = Pick<
  Experiment,
  'name' | 'specText' | 'spec' | 'specHash' | 'datasetKind' | 'task' | 'selectionMetric' | 'selectionDirection'
> & { readonly positiveClass?: string | null; readonly outerOf?: Experiment['outerOf']; readonly warmStart?: WarmStart | null };

export class ExperimentStore {
  readonly #insert;
  readonly #byName;
  readonly #byId;
  readonly #setStatus;
  readonly #summaries;
  readonly #delete;
  readonly #setConcurrentTrials;
  readonly #updateSpec;
  readonly #setPositiveClass;
  readonly #outerFolds;
  readonly #setDataSha256;

  constructor(db: Db) {
    this.#insert = db.prepare(`INSERT INTO experiments (name, spec_text, spec_json, spec_hash, dataset_kind, task, selection_metric,
        selection_direction, positive_class, parent_experiment_id, outer_fold, warm_start_json, status, created_at)
      VALUES (@name, @specText, @specJson, @specHash, @datasetKind, @task, @selectionMetric, @selectionDirection, @positiveClass,
        @parentExperimentId, @outerFold, @warmStartJson, 'queued', @createdAt)`);
    this.#outerFolds = db.prepare(`${EXPERIMENT_WITH_LEASE} WHERE e.parent_experiment_id = ? ORDER BY e.outer_fold`);
    this.#setPositiveClass = db.prepare(`UPDATE experiments SET positive_class = @positiveClass
      WHERE experiment_id = @experimentId AND positive_class IS NULL`);
    this.#byName = db.prepare(`${EXPERIMENT_WITH_LEASE} WHERE e.name = ?`);
    this.#byId = db.prepare(`${EXPERIMENT_WITH_LEASE} WHERE e.experiment_id = ?`);
    this.#setStatus = db.prepare(`UPDATE experiments SET status = @status,
      started_at = CASE WHEN @status = 'running' THEN coalesce(started_at, @now) ELSE started_at END,
      finished_at = CASE WHEN @status IN ('done','failed','interrupted') THEN @now ELSE NULL END
      WHERE experiment_id = @experimentId`);
    // Best score honours the direction stored in the spec (minimise → smallest mean).
    this.#summaries = db.prepare(`SELECT e.*, l.pid AS lease_pid, l.host AS lease_host, l.heartbeat_at AS lease_heartbeat_at,
        (SELECT count(*) FROM runs r WHERE r.experiment_id = e.experiment_id AND r.kind = 'search') AS runs_total,
        (SELECT count(*) FROM runs r WHERE r.experiment_id = e.experiment_id AND r.kind = 'search'
           AND r.status IN ('done','failed','pruned')) AS runs_finished,
        (SELECT count(*) FROM runs r WHERE r.experiment_id = e.experiment_id AND r.kind = 'search' AND r.status = 'failed') AS runs_failed,
        (SELECT CASE WHEN e.selection_direction = 'minimize' THEN min(r.score_mean) ELSE max(r.score_mean) END
           FROM runs r WHERE r.experiment_id = e.experiment_id AND r.kind = 'search' AND r.status = 'done') AS best_score
      FROM experiments e LEFT JOIN leases l USING (experiment_id)
      WHERE e.parent_experiment_id IS NULL ORDER BY e.created_at DESC, e.experiment_id DESC`);
    this.#delete = db.prepare('DELETE FROM experiments WHERE experiment_id = ?');
    this.#setConcurrentTrials = db.prepare(`UPDATE experiments SET concurrent_trials = @concurrentTrials
      WHERE experiment_id = @experimentId AND concurrent_trials IS NULL`);
    this.#setDataSha256 = db.prepare('UPDATE experiments SET data_sha256 = @dataSha256 WHERE experiment_id = @experimentId');
    this.#updateSpec = db.prepare(`UPDATE experiments SET spec_text = @specText, spec_json = @specJson
      WHERE experiment_id = @experimentId AND spec_hash = @specHash`);
  }

  /** @throws {ConflictError} when the name is taken. */
  create(experiment: NewExperiment, now = Date.now()): Experiment {
    try {
      const { spec, outerOf, warmStart, ...columns } = experiment;
      const { lastInsertRowid } = this.#insert.run({
        ...columns,
        warmStartJson: warmStart ? JSON.stringify(warmStart) : null,
        positiveClass: columns.positiveClass ?? null,
        parentExperimentId: outerOf?.parentExperimentId ?? null,
        outerFold: outerOf?.outerFold ?? null,
        specJson: JSON.stringify(spec),
        createdAt: now,
      });
      return this.get(Number(lastInsertRowid));
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new ConflictError(`an experiment named "${experiment.name}" already exists`);
      }
      throw error;
    }
  }

  /** Records the positive class of an experiment created before it was recorded (a resumed one); a recorded one stays. */
  setPositiveClass(experimentId: number, positiveClass: string): void {
    this.#setPositiveClass.run({ experimentId, positiveClass });
  }

  findByName(name: string): Experiment | undefined {
    const row = this.#byName.get(name) as ExperimentRow | undefined;
    return row && rowToExperiment(row);
  }

  /** @throws {NotFoundError} */
  get(experimentId: number): Experiment {
    const row = this.#byId.get(experimentId) as ExperimentRow | undefined;
    if (!row) throw new NotFoundError(`no experiment with id ${experimentId}`);
    return rowToExperiment(row);
  }

  /** @throws {NotFoundError} */
  getByName(name: string): Experiment {
    const experiment = this.findByName(name);
    if (!experiment) throw new NotFoundError(`no experiment named "${name}" (see \`foldwise list\`)`);
    return experiment;
  }

  /** Records a sampled search's trials in flight, once: a value already recorded is kept (the trial sequence depends on it). */
  setConcurrentTrials(experimentId: number, concurrentTrials: number): Experiment {
    this.#setConcurrentTrials.run({ experimentId, concurrentTrials });
    return this.get(experimentId);
  }

  /**
   * Replaces the spec of an experiment by one with the same hash (what determines results is
   * unchanged: an extension raises `search.trials`). @throws {ConflictError} when the hash differs.
   */
  updateSpec(experimentId: number, specText: string, spec: ExperimentSpec, specHash: string): Experiment {
    const { changes } = this.#updateSpec.run({ experimentId, specText, specJson: JSON.stringify(spec), specHash });
    if (changes === 0) throw new ConflictError(`experiment ${experimentId} has another spec hash; its spec was not replaced`);
    return this.get(experimentId);
  }

  /** Records the digest of the data the experiment's search runs on (null: generated data). */
  setDataSha256(experimentId: number, dataSha256: string | null): void {
    this.#setDataSha256.run({ experimentId, dataSha256 });
  }

  setStatus(experimentId: number, status: ExperimentStatus, now = Date.now()): void {
    this.#setStatus.run({ experimentId, status, now });
  }

  /** Nested CV: the outer folds' experiments of `parentExperimentId`, by outer fold (none without `validation.outer`). */
  outerFoldsOf(parentExperimentId: number): Experiment[] {
    return (this.#outerFolds.all(parentExperimentId) as ExperimentRow[]).map(rowToExperiment);
  }

  /** The experiments people made, newest first: the outer folds of a nested CV are listed under theirs (outerFoldsOf), not here. */
  list(): ExperimentSummary[] {
    return (
      this.#summaries.all() as (ExperimentRow & {
        runs_total: number;
        runs_finished: number;
        runs_failed: number;
        best_score: number | null;
      })[]
    ).map((row) => ({
      ...rowToExperiment(row),
      runsTotal: row.runs_total,
      runsFinished: row.runs_finished,
      runsFailed: row.runs_failed,
      bestScore: row.best_score,
    }));
  }

  /** Deletes the experiment with its runs, folds, curves and model rows (cascade), in one statement. */
  delete(experimentId: number): void {
    if (this.#delete.run(experimentId).changes === 0) throw new NotFoundError(`no experiment with id ${experimentId}`);
  }
}
