import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the foldwise database: WAL so the dashboard reads while the
 * coordinator writes, foreign keys on, a busy timeout, and every pending migration applied.
 */
export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS, busyTimeoutMs = BUSY_TIMEOUT_MS): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  migrate(db, migrations);
  return db;
}

/**
 * Runs `write` as one transaction that takes the write lock before its first statement
 * (BEGIN IMMEDIATE). Several foldwise processes may share a database: a deferred transaction that
 * reads first holds a snapshot it cannot upgrade once another process has written, and fails with
 * SQLITE_BUSY at once; an immediate one waits for the busy timeout instead, and is retried while the
 * lock stays taken (up to WRITE_RETRY_MS), so a write is never dropped. Nested calls become
 * savepoints of the outer transaction.
 */
export function writeTransaction<T>(db: Db, write: () => T): T {
  // Inside an outer transaction the lock is held already: a savepoint, never busy.
  if (db.inTransaction) return db.transaction(write).immediate();
  const giveUpAt = Date.now() + WRITE_RETRY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return db.transaction(write).immediate();
    } catch (error) {
      // Still locked after the busy timeout (a long write elsewhere): wait and retry, never drop the write.
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= giveUpAt) throw error;
      Atomics.wait(PAUSE, 0, 0, Math.min(50 * attempt, 1000));
    }
  }
}

/** How long SQLite itself waits for another process's write lock before a statement reports SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;
/** How long a write keeps retrying after that before the error reaches the caller (the CLI: exit 3, one line). */
export const WRITE_RETRY_MS = 120_000;
/** A synchronous pause: the busy handler's wait is synchronous too, and a write must not interleave with other work. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies migrations newer than the database's `user_version`, each in its own transaction. The
 * version is read again under the write lock, so two processes opening an old database at once
 * apply each migration once.
 */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  const current = schemaVersion(db);
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new Error(`database schema version ${current} is newer than this foldwise (${newest}); upgrade foldwise`);
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    writeTransaction(db, () => {
      if (schemaVersion(db) >= migration.version) return;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    });
  }
}
