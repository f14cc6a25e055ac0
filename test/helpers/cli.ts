import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const BIN = new URL('../../bin/foldwise.js', import.meta.url).pathname;

export type CliResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/** A fresh temporary folder for a test's data directory and files. */
export function tempDir(prefix = 'foldwise-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Starts `foldwise ARGS` with the data dir set; the caller waits with `finished`. */
export function startCli(
  args: readonly string[],
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; finished: Promise<CliResult>; output: () => string } {
  const child = spawn(process.execPath, [BIN, '--data-dir', dataDir, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const finished = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, finished, output: () => stdout + stderr };
}

export function runCli(args: readonly string[], dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return startCli(args, dataDir, env).finished;
}

/** A count (`SELECT count(*) AS n …`) from the database in `dataDir`, read while a CLI may write to it; 0 before it exists. */
export function countRows(dataDir: string, sql: string): number {
  let db: Database.Database | undefined;
  try {
    db = new Database(join(dataDir, 'foldwise.db'), { readonly: true, fileMustExist: true });
    return (db.prepare(sql).get() as { n: number }).n;
  } catch {
    return 0; // not created yet
  } finally {
    db?.close();
  }
}
