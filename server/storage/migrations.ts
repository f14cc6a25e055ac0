/**
 * Ordered, append-only schema migrations, applied under `PRAGMA user_version`.
 * A shipped migration is never edited: add a new one, so an older database still opens.
 */
export type Migration = { readonly version: number; readonly sql: string };

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE experiments (
  experiment_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  spec_text TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  dataset_kind TEXT NOT NULL,
  task TEXT NOT NULL,
  selection_metric TEXT NOT NULL,
  selection_direction TEXT NOT NULL CHECK (selection_direction IN ('maximize','minimize')),
  status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','interrupted')),
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
) STRICT;

CREATE TABLE runs (
  run_id INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('search','refit')),
  params_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','pruned','interrupted')),
  n_folds INTEGER NOT NULL,
  score_mean REAL,
  score_std REAL,
  refit_epochs INTEGER,
  param_count INTEGER,
  backend TEXT,
  error TEXT,
  source_run_id INTEGER REFERENCES runs ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  train_ms INTEGER,
  UNIQUE (experiment_id, kind, params_json)
) STRICT;
CREATE INDEX runs_by_experiment ON runs (experiment_id, status);

CREATE TABLE folds (
  run_id INTEGER NOT NULL REFERENCES runs ON DELETE CASCADE,
  fold_index INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','pruned','interrupted')),
  attempt INTEGER NOT NULL DEFAULT 0,
  best_epoch INTEGER,
  stopped_epoch INTEGER,
  score REAL,
  best_metrics_json TEXT,
  train_ms INTEGER,
  worker_name TEXT,
  error TEXT,
  started_at INTEGER,
  finished_at INTEGER,
  PRIMARY KEY (run_id, fold_index)
) STRICT, WITHOUT ROWID;

-- value NULL = non-finite (SQLite stores NaN as NULL; JSON turns NaN/Inf into null).
CREATE TABLE metric_points (
  run_id INTEGER NOT NULL,
  fold_index INTEGER NOT NULL,
  name TEXT NOT NULL,
  epoch INTEGER NOT NULL CHECK (epoch >= 0),
  value REAL,
  PRIMARY KEY (run_id, fold_index, name, epoch),
  FOREIGN KEY (run_id, fold_index) REFERENCES folds ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE models (
  model_id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL UNIQUE REFERENCES runs ON DELETE CASCADE,
  experiment_id INTEGER NOT NULL REFERENCES experiments ON DELETE CASCADE,
  source_run_id INTEGER,
  format TEXT NOT NULL,
  path TEXT NOT NULL,
  test_metrics_json TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
`,
  },
  {
    version: 2,
    sql: `
-- Who is searching or refitting an experiment: one row per owned experiment (lease-store.ts).
CREATE TABLE leases (
  experiment_id INTEGER PRIMARY KEY REFERENCES experiments ON DELETE CASCADE,
  owner TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  purpose TEXT NOT NULL CHECK (purpose IN ('search','refit')),
  acquired_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
) STRICT;
`,
  },
  {
    version: 3,
    sql: `
-- Runs numbered within their experiment (#1…#N), in creation order; run_id stays the key.
ALTER TABLE runs ADD COLUMN number INTEGER;
UPDATE runs SET number = (SELECT count(*) FROM runs r WHERE r.experiment_id = runs.experiment_id AND r.run_id <= runs.run_id);
CREATE UNIQUE INDEX runs_by_number ON runs (experiment_id, number);
`,
  },
  {
    version: 4,
    sql: `
-- The change feed (feed-store.ts): what each process announced, so that a dashboard in another
-- process streams it live. Short-lived: rows older than a minute are pruned. No foreign key: the
-- feed may announce an experiment that is deleted meanwhile. AUTOINCREMENT: a seq is never reused.
CREATE TABLE live_feed (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  origin TEXT NOT NULL,
  experiment_id INTEGER NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX live_feed_by_time ON live_feed (created_at);
`,
  },
  {
    version: 5,
    sql: `
-- Trials: each search run's place in its experiment's trial sequence (1…N, in the order its
-- configuration was sampled or, for a grid, expanded); refit runs have none. Trial n of a random
-- or tpe search is sampled from the results of trials 1…n − concurrent_trials (server/search/).
ALTER TABLE runs ADD COLUMN trial_number INTEGER;
UPDATE runs SET trial_number = (SELECT count(*) FROM runs r
  WHERE r.experiment_id = runs.experiment_id AND r.kind = 'search' AND r.run_id <= runs.run_id) WHERE kind = 'search';
CREATE UNIQUE INDEX runs_by_trial ON runs (experiment_id, trial_number) WHERE trial_number IS NOT NULL;
-- How many trials a sampled search may have in flight; recorded when its search first starts.
ALTER TABLE experiments ADD COLUMN concurrent_trials INTEGER;
`,
  },
  {
    version: 6,
    sql: `
-- Out-of-fold predictions of each search fold at its chosen epoch (classification tasks), compact:
-- float32 little-endian blobs, targets n values, predictions n × width (worker/contract/protocol.ts
-- outOfFoldSchema), so thresholds and curves are recomputed without retraining (issue 11).
-- A rowid table: its rows are large.
CREATE TABLE out_of_fold (
  run_id INTEGER NOT NULL,
  fold_index INTEGER NOT NULL,
  n INTEGER NOT NULL,
  width INTEGER NOT NULL,
  targets BLOB NOT NULL,
  predictions BLOB NOT NULL,
  PRIMARY KEY (run_id, fold_index),
  FOREIGN KEY (run_id, fold_index) REFERENCES folds ON DELETE CASCADE
) STRICT;
-- A binary refit's operating point: threshold, how it was chosen, its values fold by fold, the test
-- split's confusion matrix at it (protocol.ts decisionSchema); NULL for other models.
ALTER TABLE models ADD COLUMN decision_json TEXT;
-- Binary experiments: the positive class (spec positiveClass, or the default the data implied).
ALTER TABLE experiments ADD COLUMN positive_class TEXT;
`,
  },
  {
    version: 7,
    sql: `
-- Notes and tags people write on an experiment or a run in the dashboard (note-store.ts): a free
-- text note and a JSON list of tags. A row exists once something was written; deleting the
-- experiment or the run deletes it.
CREATE TABLE experiment_notes (
  experiment_id INTEGER PRIMARY KEY REFERENCES experiments ON DELETE CASCADE,
  note TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE run_notes (
  run_id INTEGER PRIMARY KEY REFERENCES runs ON DELETE CASCADE,
  experiment_id INTEGER NOT NULL REFERENCES experiments ON DELETE CASCADE,
  note TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX run_notes_by_experiment ON run_notes (experiment_id);
`,
  },
  {
    version: 8,
    sql: `
-- Nested cross-validation (spec validation.outer): each outer fold's search, selection and refit is
-- an experiment of its own (runs numbered within it, its own leaderboard), a child of the experiment
-- that asked for it: parent_experiment_id and its 0-based outer_fold; NULL for every other experiment.
-- Deleting the parent deletes its outer folds.
ALTER TABLE experiments ADD COLUMN parent_experiment_id INTEGER REFERENCES experiments ON DELETE CASCADE;
ALTER TABLE experiments ADD COLUMN outer_fold INTEGER;
CREATE UNIQUE INDEX experiments_by_outer_fold ON experiments (parent_experiment_id, outer_fold) WHERE parent_experiment_id IS NOT NULL;
`,
  },
  {
    version: 10,
    sql: `
-- The run page's views (issue 11 item 5). A refit model's predictions of the test split (nested CV:
-- of its outer fold), in out_of_fold's format: they are only drawn, never used to choose anything.
-- Regression folds now keep their out-of-fold predictions too (width 1, targets the actual values).
CREATE TABLE test_predictions (
  model_id INTEGER PRIMARY KEY REFERENCES models ON DELETE CASCADE,
  n INTEGER NOT NULL,
  width INTEGER NOT NULL,
  targets BLOB NOT NULL,
  predictions BLOB NOT NULL,
  classes_json TEXT
) STRICT;
-- Classification: the class labels by target index and prediction column (protocol.ts outOfFoldSchema);
-- NULL for regression and for predictions stored before they were kept.
ALTER TABLE out_of_fold ADD COLUMN classes_json TEXT;
`,
  },
  {
    version: 12,
    sql: `
-- The sha256 of the data a search ran on (worker/contract/dataset-digest.ts: a CSV file's bytes, a
-- MovieLens folder's manifest), recorded when its search starts; a refit refuses other bytes. NULL for
-- generated data, and for experiments searched before it was recorded (their refits are not checked).
ALTER TABLE experiments ADD COLUMN data_sha256 TEXT;
`,
  },
  {
    version: 13,
    sql: `
-- A TPE search warm-started from another experiment (\`foldwise run SPEC --from EXPERIMENT\`): the source's
-- name and id, its finished trials inside this experiment's space as they stood when this one was
-- created (the sampler's first history: copied, so the trial sequence stays the same whatever becomes
-- of the source), and how many were left out (experiment-store.ts warmStartSchema). NULL otherwise.
ALTER TABLE experiments ADD COLUMN warm_start_json TEXT;
`,
  },
  {
    version: 14,
    sql: `
-- A counter per experiment that every change to its runs or their folds raises, in the same
-- transaction (the triggers below, whatever process writes): equal counters, the same runs and folds.
-- The dashboard keeps an experiment's leaderboard while its counter stays (services/run-snapshots.ts):
-- reading 10,000 runs and ranking them takes longer than the page may.
ALTER TABLE experiments ADD COLUMN runs_version INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER runs_inserted AFTER INSERT ON runs BEGIN
  UPDATE experiments SET runs_version = runs_version + 1 WHERE experiment_id = NEW.experiment_id;
END;
CREATE TRIGGER runs_updated AFTER UPDATE ON runs BEGIN
  UPDATE experiments SET runs_version = runs_version + 1 WHERE experiment_id = NEW.experiment_id;
END;
CREATE TRIGGER runs_deleted AFTER DELETE ON runs BEGIN
  UPDATE experiments SET runs_version = runs_version + 1 WHERE experiment_id = OLD.experiment_id;
END;
CREATE TRIGGER folds_inserted AFTER INSERT ON folds BEGIN
  UPDATE experiments SET runs_version = runs_version + 1 WHERE experiment_id = (SELECT experiment_id FROM runs WHERE run_id = NEW.run_id);
END;
CREATE TRIGGER folds_updated AFTER UPDATE ON folds BEGIN
  UPDATE experiments SET runs_version = runs_version + 1 WHERE experiment_id = (SELECT experiment_id FROM runs WHERE run_id = NEW.run_id);
END;
CREATE TRIGGER folds_deleted AFTER DELETE ON folds BEGIN
  UPDATE experiments SET runs_version = runs_version + 1 WHERE experiment_id = (SELECT experiment_id FROM runs WHERE run_id = OLD.run_id);
END;
`,
  },
];
