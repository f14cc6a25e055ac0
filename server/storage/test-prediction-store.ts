import type { OutOfFold } from '../../worker/contract/protocol.js';
import type { Db } from './database.js';
import { decodePredictionsRow, type PredictionsRow, predictionsColumns, type StoredPredictions } from './out-of-fold-store.js';

/**
 * Each refit model's predictions of the test split (nested CV: of its outer fold), as out_of_fold
 * keeps a fold's, one row per model. They are drawn on the run page beside the out-of-fold ones and
 * never used to choose anything (DESIGN.md): the threshold is frozen before the test split is scored.
 */
export class TestPredictionStore {
  readonly #upsert;
  readonly #ofModel;

  constructor(db: Db) {
    // Keyed by the model of the refit run: its row is written first, in the same transaction (storage.ts finishRefit).
    this.#upsert = db.prepare(`INSERT INTO test_predictions (model_id, n, width, targets, predictions, classes_json)
      SELECT model_id, @n, @width, @targets, @predictions, @classesJson FROM models WHERE run_id = @runId
      ON CONFLICT (model_id) DO UPDATE SET n = excluded.n, width = excluded.width, targets = excluded.targets,
        predictions = excluded.predictions, classes_json = excluded.classes_json`);
    this.#ofModel = db.prepare('SELECT n, width, targets, predictions, classes_json FROM test_predictions WHERE model_id = ?');
  }

  /** Records the test predictions of the model of refit run `runId` (recorded before, in the caller's transaction). */
  saveForRefitRun(runId: number, predictions: OutOfFold): void {
    const { changes } = this.#upsert.run({ runId, ...predictionsColumns(predictions) });
    if (changes === 0) throw new Error(`no model of refit run ${runId} to keep test predictions for`);
  }

  /** A model's test predictions, or null when it has none (refitted before they were kept). */
  ofModel(modelId: number): StoredPredictions | null {
    const row = this.#ofModel.get(modelId) as PredictionsRow | undefined;
    return row === undefined ? null : decodePredictionsRow(row);
  }
}
