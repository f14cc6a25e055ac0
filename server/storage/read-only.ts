import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage, type Storage } from './storage.js';

/**
 * Opens the database for a command that only reads it (`list`, `show`, `export`). A database in a
 * folder that cannot be written (a read-only mount, an archived copy) cannot be opened in place:
 * WAL mode must create its `-shm` file beside it. Then the file, and its `-wal` if a process
 * died with one, is copied to a temporary folder and read there; nothing can write the original
 * meanwhile, so the copy is what it holds. The copy is removed on close.
 */
export function openStorageForReading(path: string): Storage {
  try {
    return openStorage(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!(code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_READONLY')) || !existsSync(path)) throw error;
  }
  const dir = mkdtempSync(join(tmpdir(), 'foldwise-read-'));
  try {
    const copy = join(dir, 'foldwise.db');
    copyFileSync(path, copy);
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
    const storage = openStorage(copy);
    return {
      ...storage,
      close: () => {
        storage.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Removes a database file this process created and left without an experiment (a first `run`
 * whose spec or data was refused): bad input writes nothing. `dataDir` too when this process
 * created it and it is empty now.
 */
export function removeDatabase(path: string, dataDir: string | null): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
  if (dataDir !== null && existsSync(dataDir) && readdirSync(dataDir).length === 0) rmdirSync(dataDir);
}
