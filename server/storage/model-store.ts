import type { Decision } from '../../worker/contract/protocol.js';
import type { Db } from './database.js';
import { NotFoundError } from '../errors.js';

export type ModelRecord = {
  readonly modelId: number;
  readonly runId: number;
  readonly experimentId: number;
  readonly sourceRunId: number | null;
  readonly format: string;
  /** Folder holding model.json, weights and preprocessing.json. */
  readonly path: string;
  readonly testMetrics: Readonly<Record<string, number | null>>;
  /** A binary model's operating point: its frozen threshold, how it was chosen, fold by fold, and the test confusion matrix; else null. */
  readonly decision: Decision | null;
  readonly createdAt: number;
};

/** A model row to record: the refit run it belongs to, where its files are, its test metrics and (binary) its operating point. */
export type NewModel = Omit<ModelRecord, 'modelId' | 'createdAt' | 'decision'> & { readonly decision?: Decision | null };

type ModelRow = {
  model_id: number;
  run_id: number;
  experiment_id: number;
  source_run_id: number | null;
  format: string;
  path: string;
  test_metrics_json: string;
  decision_json: string | null;
  created_at: number;
};

function rowToModel(row: ModelRow): ModelRecord {
  return {
    modelId: row.model_id,
    runId: row.run_id,
    experimentId: row.experiment_id,
    sourceRunId: row.source_run_id,
    format: row.format,
    path: row.path,
    testMetrics: JSON.parse(row.test_metrics_json),
    decision: row.decision_json === null ? null : JSON.parse(row.decision_json),
    createdAt: row.created_at,
  };
}

/** Refitted models: where their files are and how they scored on the test split. */
export class ModelStore {
  readonly #upsert;
  readonly #byId;
  readonly #ofExperiment;

  constructor(db: Db) {
    this.#upsert = db.prepare(`INSERT INTO models
        (run_id, experiment_id, source_run_id, format, path, test_metrics_json, decision_json, created_at)
      VALUES (@runId, @experimentId, @sourceRunId, @format, @path, @testMetricsJson, @decisionJson, @createdAt)
      ON CONFLICT (run_id) DO UPDATE SET path = excluded.path, test_metrics_json = excluded.test_metrics_json,
        decision_json = excluded.decision_json, created_at = excluded.created_at,
        source_run_id = excluded.source_run_id`);
    this.#byId = db.prepare('SELECT * FROM models WHERE model_id = ?');
    this.#ofExperiment = db.prepare('SELECT * FROM models WHERE experiment_id = ? ORDER BY created_at DESC, model_id DESC');
  }

  save(model: NewModel, now = Date.now()): void {
    const { decision, ...fields } = model;
    this.#upsert.run({
      ...fields,
      testMetricsJson: JSON.stringify(model.testMetrics),
      decisionJson: decision ? JSON.stringify(decision) : null,
      createdAt: now,
    });
  }

  /** @throws {NotFoundError} */
  get(modelId: number): ModelRecord {
    const row = this.#byId.get(modelId) as ModelRow | undefined;
    if (!row) throw new NotFoundError(`no model with id ${modelId}`);
    return rowToModel(row);
  }

  /** Newest first. */
  ofExperiment(experimentId: number): ModelRecord[] {
    return (this.#ofExperiment.all(experimentId) as ModelRow[]).map(rowToModel);
  }
}
