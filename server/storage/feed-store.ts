import { randomUUID } from 'node:crypto';
import { writeTransaction, type Db } from './database.js';

/**
 * The change feed: events a process announced, kept for a minute, so that a dashboard in another
 * process (`foldwise serve` beside a `foldwise run`) can stream them live. Each Storage has its
 * own `origin`: a follower skips the rows its own process wrote, which it has already published.
 */
export const FEED_RETENTION_MS = 60_000;

/** One announced event: its name and what it carried (JSON), as the coordinator's bus had them. */
export type FeedEntry = {
  readonly experimentId: number;
  readonly type: string;
  readonly payload: string;
  /** When the event happened (not when the row was written): the benchmark's latency starts here. */
  readonly createdAt: number;
};

export type FeedRow = FeedEntry & { readonly seq: number; readonly origin: string };

export type FeedRead = { readonly rows: readonly FeedRow[]; readonly next: number; readonly missed: boolean };

type Row = { seq: number; origin: string; experiment_id: number; type: string; payload: string; created_at: number };

function toFeedRow(row: Row): FeedRow {
  return {
    seq: row.seq,
    origin: row.origin,
    experimentId: row.experiment_id,
    type: row.type,
    payload: row.payload,
    createdAt: row.created_at,
  };
}

export class FeedStore {
  /** This handle's writer id, unique per opened database handle (so per process in practice). */
  readonly origin = randomUUID();
  readonly #db: Db;
  readonly #insert;
  readonly #since;
  readonly #bounds;
  readonly #prune;

  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare(`INSERT INTO live_feed (origin, experiment_id, type, payload, created_at)
      VALUES (@origin, @experimentId, @type, @payload, @createdAt)`);
    this.#since = db.prepare('SELECT * FROM live_feed WHERE seq > ? AND origin <> ? ORDER BY seq LIMIT ?');
    // sqlite_sequence holds the newest seq even after every row is pruned.
    this.#bounds = db.prepare(`SELECT (SELECT min(seq) FROM live_feed) AS first,
      (SELECT seq FROM sqlite_sequence WHERE name = 'live_feed') AS last`);
    this.#prune = db.prepare('DELETE FROM live_feed WHERE created_at < ?');
  }

  /** Appends entries in one transaction, and drops those older than `pruneBefore` when given. */
  append(entries: readonly FeedEntry[], pruneBefore?: number): void {
    if (entries.length === 0 && pruneBefore === undefined) return;
    writeTransaction(this.#db, () => {
      for (const entry of entries) this.#insert.run({ ...entry, origin: this.origin });
      if (pruneBefore !== undefined) this.#prune.run(pruneBefore);
    });
  }

  /**
   * What other handles wrote after `seq`, oldest first (at most `limit` rows), read in one snapshot
   * with the feed's bounds: `next` is where to read from next time (past this handle's own rows
   * too), and `missed` says rows after `seq` were pruned before they were read.
   */
  readSince(seq: number, limit = 5000): FeedRead {
    return this.#db.transaction(() => {
      const { first, last } = this.#bounds.get() as { first: number | null; last: number | null };
      const rows = (this.#since.all(seq, this.origin, limit) as Row[]).map(toFeedRow);
      const complete = rows.length < limit;
      return {
        rows,
        next: complete ? Math.max(seq, last ?? 0) : rows.at(-1)!.seq,
        missed: last !== null && last > seq && (first === null || first > seq + 1),
      };
    })();
  }

  /** The newest seq ever written (0 for a new feed): a follower starting now reads after it. */
  lastSeq(): number {
    return (this.#bounds.get() as { last: number | null }).last ?? 0;
  }

  /**
   * SQLite's `data_version`: changes when another connection commits, never for this one's own
   * writes. Reading it costs no query of a table, so a follower can ask several times a second.
   */
  dataVersion(): number {
    return this.#db.pragma('data_version', { simple: true }) as number;
  }
}
