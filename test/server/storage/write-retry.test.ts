import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, writeTransaction } from '../../../server/storage/database.js';

test('a write that finds the lock taken beyond the busy timeout is retried until it goes through, not dropped', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'foldwise-retry-')), 'foldwise.db');
  const db = openDatabase(path, undefined, 100); // SQLite gives up after 100 ms: the retry has to do the rest
  db.exec('CREATE TABLE notes (text TEXT)');
  // Another process holds the write lock for 1.5 s, 15 busy timeouts.
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `const Database = require('better-sqlite3');
       const db = new Database(${JSON.stringify(path)});
       db.exec('BEGIN IMMEDIATE');
       console.log('locked');
       setTimeout(() => { db.exec('COMMIT'); db.close(); }, 1500);`,
    ],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await once(holder.stdout!, 'data');
  const started = Date.now();
  writeTransaction(db, () => db.prepare("INSERT INTO notes VALUES ('kept')").run());
  const waited = Date.now() - started;
  assert.ok(waited >= 1000, `waited for the other process (${waited} ms)`);
  assert.deepEqual(db.prepare('SELECT text FROM notes').all(), [{ text: 'kept' }]);
  await once(holder, 'exit');
  db.close();
});
