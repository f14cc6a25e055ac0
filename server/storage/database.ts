import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the foldwise database: WAL so the dashboard reads while the
 * coordinator writes, foreign keys on, a busy timeout, and every pending migration applied.
 */
export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: 5000 });
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
 * SQLITE_BUSY at once; an immediate one waits for the busy timeout instead. Nested calls become
 * savepoints of the outer transaction.
 */
export function writeTransaction<T>(db: Db, write: () => T): T {
  return db.transaction(write).immediate();
}

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
