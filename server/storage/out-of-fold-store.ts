import { decodeFloats, type OutOfFold } from '../../worker/contract/protocol.js';
import type { Db } from './database.js';

/** Stored predictions of some held-out rows, as the arrays they encode. */
export type StoredPredictions = {
  readonly width: number;
  /** n class indices (binary: 1 = the positive class), or the actual values (regression). */
  readonly targets: Float32Array;
  /** n × width, row-major. */
  readonly predictions: Float32Array;
  /** Classification: the class labels by target index and prediction column; null for regression and older rows. */
  readonly classes: readonly string[] | null;
};

/** A fold's stored out-of-fold predictions. */
export type StoredOutOfFold = StoredPredictions & { readonly foldIndex: number };

/** The columns a predictions row has (out_of_fold, test_predictions). */
export type PredictionsRow = { n: number; width: number; targets: Buffer; predictions: Buffer; classes_json: string | null };

/** A message's predictions as the columns store them: the float32 bytes as they came. */
export function predictionsColumns(encoded: OutOfFold) {
  return {
    n: encoded.n,
    width: encoded.width,
    targets: Buffer.from(encoded.targets, 'base64'),
    predictions: Buffer.from(encoded.predictions, 'base64'),
    classesJson: encoded.classes === undefined ? null : JSON.stringify(encoded.classes),
  };
}

export function decodePredictionsRow(row: PredictionsRow): StoredPredictions {
  return {
    width: row.width,
    targets: decodeFloats(row.targets),
    predictions: decodeFloats(row.predictions),
    classes: row.classes_json === null ? null : (JSON.parse(row.classes_json) as string[]),
  };
}

type Row = PredictionsRow & { fold_index: number };

/**
 * Each search fold's out-of-fold predictions at its chosen epoch, one row per (run, fold)
 * holding two float32 blobs (4 bytes per value: 16,000 validation rows of a binary task are
 * 128 kB per run and fold count, whatever the number of epochs). A redelivered fold replaces its row.
 */
export class OutOfFoldStore {
  readonly #upsert;
  readonly #ofRun;

  constructor(db: Db) {
    this.#upsert = db.prepare(`INSERT INTO out_of_fold (run_id, fold_index, n, width, targets, predictions, classes_json)
      VALUES (@runId, @foldIndex, @n, @width, @targets, @predictions, @classesJson)
      ON CONFLICT (run_id, fold_index) DO UPDATE SET n = excluded.n, width = excluded.width, targets = excluded.targets,
        predictions = excluded.predictions, classes_json = excluded.classes_json`);
    this.#ofRun = db.prepare(
      'SELECT fold_index, n, width, targets, predictions, classes_json FROM out_of_fold WHERE run_id = ? ORDER BY fold_index',
    );
  }

  /** Records a fold's predictions (a caller's transaction makes it one event with the fold's result). */
  save(runId: number, foldIndex: number, outOfFold: OutOfFold): void {
    this.#upsert.run({ runId, foldIndex, ...predictionsColumns(outOfFold) });
  }

  /** A run's folds' predictions, in fold order, as the protocol carries them (a refit task's `outOfFold`). */
  encodedOfRun(runId: number): OutOfFold[] {
    return (this.#ofRun.all(runId) as Row[]).map((row) => ({
      n: row.n,
      width: row.width,
      targets: row.targets.toString('base64'),
      predictions: row.predictions.toString('base64'),
      ...(row.classes_json === null ? {} : { classes: JSON.parse(row.classes_json) as string[] }),
    }));
  }

  /** A run's folds' predictions, in fold order, decoded. */
  ofRun(runId: number): StoredOutOfFold[] {
    return (this.#ofRun.all(runId) as Row[]).map((row) => ({ foldIndex: row.fold_index, ...decodePredictionsRow(row) }));
  }
}
