import { writeTransaction, type Db } from './database.js';

export type MetricPoint = {
  readonly runId: number;
  readonly foldIndex: number;
  readonly name: string;
  readonly epoch: number;
  readonly value: number | null;
};

/** Learning curves: one row per (run, fold, metric, epoch). */
export class MetricStore {
  readonly #insert;
  readonly #foldAttempt;
  readonly #ofRun;
  readonly #atBestEpoch;
  readonly #namesOfRun;
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare(`INSERT INTO metric_points (run_id, fold_index, name, epoch, value) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET value = excluded.value`);
    this.#foldAttempt = db.prepare(`SELECT attempt FROM folds WHERE run_id = ? AND fold_index = ? AND status = 'running'`);
    this.#ofRun = db.prepare(
      'SELECT run_id, fold_index, name, epoch, value FROM metric_points WHERE run_id = ? ORDER BY fold_index, name, epoch',
    );
    // One primary-key seek per (run, finished fold, name). CROSS JOIN pins this join order; left to
    // itself the planner scans every point of every run instead.
    this.#atBestEpoch = db.prepare(`SELECT f.run_id, n.value AS name, avg(m.value) AS mean
      FROM json_each(?) r CROSS JOIN folds f CROSS JOIN json_each(?) n CROSS JOIN metric_points m
      WHERE f.run_id = r.value AND f.status = 'done' AND f.best_epoch IS NOT NULL
        AND m.run_id = f.run_id AND m.fold_index = f.fold_index AND m.name = n.value AND m.epoch = f.best_epoch
      GROUP BY f.run_id, n.value`);
    this.#namesOfRun = db.prepare('SELECT DISTINCT name FROM metric_points WHERE run_id = ? ORDER BY name');
  }

  /**
   * Writes one epoch's metrics in one transaction. Ignored (returns false) unless the fold is
   * running under this attempt: a late message from a dead attempt, or a second delivery of a
   * task, never adds rows. Re-sending the same epoch overwrites rather than duplicates.
   */
  recordEpoch(runId: number, foldIndex: number, attempt: number, epoch: number, metrics: Readonly<Record<string, number | null>>): boolean {
    return writeTransaction(this.#db, () => {
      const fold = this.#foldAttempt.get(runId, foldIndex) as { attempt: number } | undefined;
      if (!fold || fold.attempt !== attempt) return false;
      for (const [name, value] of Object.entries(metrics)) {
        this.#insert.run(runId, foldIndex, name, epoch, value !== null && Number.isFinite(value) ? value : null);
      }
      return true;
    });
  }

  /** Every point of one run, ordered by fold, metric and epoch. */
  ofRun(runId: number): MetricPoint[] {
    return (this.#ofRun.all(runId) as { run_id: number; fold_index: number; name: string; epoch: number; value: number | null }[]).map(
      toPoint,
    );
  }

  /** Points of several runs, optionally only some metrics and only epochs after `afterEpoch` (for live updates). */
  ofRuns(runIds: readonly number[], options: { names?: readonly string[]; afterEpoch?: number } = {}): MetricPoint[] {
    if (runIds.length === 0) return [];
    // Ids and names are bound parameters; only the count of placeholders is built here.
    const names = options.names ?? [];
    const sql = `SELECT run_id, fold_index, name, epoch, value FROM metric_points WHERE run_id IN (${runIds.map(() => '?').join(',')})
      ${names.length > 0 ? `AND name IN (${names.map(() => '?').join(',')})` : ''} AND epoch > ? ORDER BY run_id, fold_index, name, epoch`;
    return (
      this.#db.prepare(sql).all(...runIds, ...names, options.afterEpoch ?? -1) as {
        run_id: number;
        fold_index: number;
        name: string;
        epoch: number;
        value: number | null;
      }[]
    ).map(toPoint);
  }

  /**
   * For each of some runs: each named metric at each finished fold's best epoch, averaged over
   * those folds. Runs without a finished fold are absent. Asked for the runs a page shows: at
   * 10,000 runs × 5 folds, every run's would be 150,000 seeks.
   */
  atBestEpoch(runIds: readonly number[], names: readonly string[]): BestEpochMean[] {
    if (names.length === 0 || runIds.length === 0) return [];
    return (
      this.#atBestEpoch.all(JSON.stringify(runIds), JSON.stringify(names)) as { run_id: number; name: string; mean: number | null }[]
    ).map((row) => ({ runId: row.run_id, name: row.name, mean: row.mean }));
  }

  /** The metric names recorded for a run, sorted. */
  namesOfRun(runId: number): string[] {
    return (this.#namesOfRun.all(runId) as { name: string }[]).map((row) => row.name);
  }
}

export type BestEpochMean = { readonly runId: number; readonly name: string; readonly mean: number | null };

function toPoint(row: { run_id: number; fold_index: number; name: string; epoch: number; value: number | null }): MetricPoint {
  return { runId: row.run_id, foldIndex: row.fold_index, name: row.name, epoch: row.epoch, value: row.value };
}
