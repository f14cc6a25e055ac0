import { writeTransaction, type Db } from './database.js';

/**
 * Notes and tags people write on experiments and runs (migration 7): what they thought of a run,
 * a label to find it again by. Nothing in the search reads them. A note that is cleared (empty
 * text, no tags) is deleted, so "has notes" means something was written.
 */
export type Notes = {
  readonly note: string;
  /** Distinct, in the order they were written. */
  readonly tags: readonly string[];
  /** null: nothing was ever written (or it was cleared). */
  readonly updatedAt: number | null;
};

export const EMPTY_NOTES: Notes = { note: '', tags: [], updatedAt: null };

type Row = { note: string; tags_json: string; updated_at: number };

function toNotes(row: Row | undefined): Notes {
  return row ? { note: row.note, tags: JSON.parse(row.tags_json) as string[], updatedAt: row.updated_at } : EMPTY_NOTES;
}

const isEmpty = (notes: Pick<Notes, 'note' | 'tags'>) => notes.note === '' && notes.tags.length === 0;

export class NoteStore {
  readonly #db: Db;
  readonly #experiment;
  readonly #runs;
  readonly #run;
  readonly #setExperiment;
  readonly #clearExperiment;
  readonly #setRun;
  readonly #clearRun;

  constructor(db: Db) {
    this.#db = db;
    this.#experiment = db.prepare('SELECT note, tags_json, updated_at FROM experiment_notes WHERE experiment_id = ?');
    this.#runs = db.prepare('SELECT run_id, note, tags_json, updated_at FROM run_notes WHERE experiment_id = ?');
    this.#run = db.prepare('SELECT note, tags_json, updated_at FROM run_notes WHERE run_id = ?');
    this.#setExperiment = db.prepare(`INSERT INTO experiment_notes (experiment_id, note, tags_json, updated_at)
      VALUES (@id, @note, @tagsJson, @now)
      ON CONFLICT (experiment_id) DO UPDATE SET note = excluded.note, tags_json = excluded.tags_json, updated_at = excluded.updated_at`);
    this.#clearExperiment = db.prepare('DELETE FROM experiment_notes WHERE experiment_id = ?');
    // The run's experiment is copied from its row, so that an experiment's run notes are one indexed read.
    this.#setRun = db.prepare(`INSERT INTO run_notes (run_id, experiment_id, note, tags_json, updated_at)
      SELECT run_id, experiment_id, @note, @tagsJson, @now FROM runs WHERE run_id = @id
      ON CONFLICT (run_id) DO UPDATE SET note = excluded.note, tags_json = excluded.tags_json, updated_at = excluded.updated_at`);
    this.#clearRun = db.prepare('DELETE FROM run_notes WHERE run_id = ?');
  }

  ofExperiment(experimentId: number): Notes {
    return toNotes(this.#experiment.get(experimentId) as Row | undefined);
  }

  ofRun(runId: number): Notes {
    return toNotes(this.#run.get(runId) as Row | undefined);
  }

  /** The notes of an experiment's runs that have any: run id → notes. */
  ofRuns(experimentId: number): Map<number, Notes> {
    const rows = this.#runs.all(experimentId) as (Row & { run_id: number })[];
    return new Map(rows.map((row) => [row.run_id, toNotes(row)]));
  }

  /** Replaces an experiment's notes (clearing both deletes them); returns what is stored now. */
  setExperiment(experimentId: number, notes: Pick<Notes, 'note' | 'tags'>, now = Date.now()): Notes {
    return writeTransaction(this.#db, () => {
      if (isEmpty(notes)) this.#clearExperiment.run(experimentId);
      else this.#setExperiment.run({ id: experimentId, note: notes.note, tagsJson: JSON.stringify(notes.tags), now });
      return this.ofExperiment(experimentId);
    });
  }

  /** Replaces a run's notes (clearing both deletes them); returns what is stored now. */
  setRun(runId: number, notes: Pick<Notes, 'note' | 'tags'>, now = Date.now()): Notes {
    return writeTransaction(this.#db, () => {
      if (isEmpty(notes)) this.#clearRun.run(runId);
      else this.#setRun.run({ id: runId, note: notes.note, tagsJson: JSON.stringify(notes.tags), now });
      return this.ofRun(runId);
    });
  }
}
