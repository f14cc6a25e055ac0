import { decodeFloats, type OutOfFold } from '../../worker/contract/protocol.js';
import type { Db } from './database.js';

/** A fold's stored out-of-fold predictions, as the arrays they encode. */
export type StoredOutOfFold = {
  readonly foldIndex: number;
  readonly width: number;
  /** n class indices (binary: 1 = the positive class). */
  readonly targets: Float32Array;
  /** n × width, row-major. */
  readonly predictions: Float32Array;
};

type Row = { fold_index: number; n: number; width: number; targets: Buffer; predictions: Buffer };

/**
 * Each classification fold's out-of-fold predictions at its chosen epoch, one row per (run, fold)
 * holding two float32 blobs (4 bytes per value: 16,000 validation rows of a binary task are
 * 128 kB per run and fold count, whatever the number of epochs). A redelivered fold replaces its row.
 */
export class OutOfFoldStore {
  readonly #upsert;
  readonly #ofRun;

  constructor(db: Db) {
    this.#upsert = db.prepare(`INSERT INTO out_of_fold (run_id, fold_index, n, width, targets, predictions)
      VALUES (@runId, @foldIndex, @n, @width, @targets, @predictions)
      ON CONFLICT (run_id, fold_index) DO UPDATE SET n = excluded.n, width = excluded.width, targets = excluded.targets,
        predictions = excluded.predictions`);
    this.#ofRun = db.prepare('SELECT fold_index, n, width, targets, predictions FROM out_of_fold WHERE run_id = ? ORDER BY fold_index');
  }

  /** Records a fold's predictions (a caller's transaction makes it one event with the fold's result). */
  save(runId: number, foldIndex: number, outOfFold: OutOfFold): void {
    this.#upsert.run({
      runId,
      foldIndex,
      n: outOfFold.n,
      width: outOfFold.width,
      targets: Buffer.from(outOfFold.targets, 'base64'),
      predictions: Buffer.from(outOfFold.predictions, 'base64'),
    });
  }

  /** A run's folds' predictions, in fold order, as the protocol carries them (a refit task's `outOfFold`). */
  encodedOfRun(runId: number): OutOfFold[] {
    return (this.#ofRun.all(runId) as Row[]).map((row) => ({
      n: row.n,
      width: row.width,
      targets: row.targets.toString('base64'),
      predictions: row.predictions.toString('base64'),
    }));
  }

  /** A run's folds' predictions, in fold order, decoded. */
  ofRun(runId: number): StoredOutOfFold[] {
    return (this.#ofRun.all(runId) as Row[]).map((row) => ({
      foldIndex: row.fold_index,
      width: row.width,
      targets: decodeFloats(row.targets),
      predictions: decodeFloats(row.predictions),
    }));
  }
}
