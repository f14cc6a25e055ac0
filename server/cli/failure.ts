/**
 * What the CLI prints and exits with when a command fails: one line, never a stack trace (unless
 * FOLDWISE_DEBUG=1), and an exit code that tells bad input from a broken environment from a bug.
 * The README's "Exit codes" section lists these.
 */
import { AppError } from '../errors.js';

export const EXIT_CODES = {
  /** A bug or an unexpected failure of ours (the message says so). */
  internal: 1,
  /** Bad input or usage: a spec field, a flag value, an unknown name, a conflict with another process. */
  usage: 2,
  /** The environment: disk full, a read-only or unreadable data directory, a corrupted database, a port in use. */
  environment: 3,
  /** Stopped by Ctrl-C / SIGTERM; the same command resumes. */
  interrupted: 130,
} as const;

export type Failure = { readonly message: string; readonly exitCode: number };

/** Where a command was working, for messages that would otherwise name no file. */
export type FailureContext = { readonly dbPath?: string };

type SystemError = Error & { code?: string; path?: string; address?: string; port?: number; syscall?: string };

const environment = (message: string): Failure => ({ message, exitCode: EXIT_CODES.environment });

/** The one-line message and the exit code for an error that ended a command. */
export function describeFailure(error: unknown, context: FailureContext = {}): Failure {
  if (error instanceof AppError) {
    if (error.code !== 'internal') return { message: error.message, exitCode: EXIT_CODES.usage };
    // A worker's failure reaches us as text: a full disk there is still the environment.
    if (/ENOSPC|no space left on device|SQLITE_FULL|database or disk is full/i.test(error.message)) return environment(error.message);
    return { message: error.message, exitCode: EXIT_CODES.internal };
  }
  const system = error instanceof Error ? (error as SystemError) : null;
  const code = system?.code ?? '';
  const db = context.dbPath ?? 'the database';
  const file = system?.path ?? db;
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'))
    return environment(`${db} is not a foldwise database (corrupted, or another kind of file): move it aside or pass --data-dir`);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return environment(`disk full: cannot write ${file}`);
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS')
    return environment(`${file} is read-only: this command writes to the data directory (list, show and export only read it)`);
  if (code === 'SQLITE_CANTOPEN') return environment(`cannot open ${db}: is its folder readable and writable?`);
  if (code === 'EACCES' || code === 'EPERM') return environment(`permission denied: ${file}`);
  if (code.startsWith('SQLITE_IOERR')) return environment(`I/O error on ${db}: ${system!.message}`);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
    return environment(`${db} stayed locked by another foldwise process for too long; try again`);
  if (code === 'EADDRINUSE')
    return environment(`${system!.address ?? 'the address'}:${system!.port ?? ''} is in use by another process: pass --port`);
  if (code === 'EADDRNOTAVAIL') return environment(`cannot listen on ${system!.address ?? 'that address'}: not an address of this machine`);
  if (code === 'EMFILE' || code === 'ENFILE') return environment('too many open files: raise the limit (ulimit -n) or use fewer workers');
  const message = error instanceof Error ? error.message : String(error);
  return {
    message: `internal error: ${message} (FOLDWISE_DEBUG=1 prints the stack trace; please report it)`,
    exitCode: EXIT_CODES.internal,
  };
}

/** Prints the failure as one line (and, with FOLDWISE_DEBUG=1, the error itself) and returns the exit code. */
export function reportFailure(error: unknown, context: FailureContext = {}, env: NodeJS.ProcessEnv = process.env): number {
  const { message, exitCode } = describeFailure(error, context);
  console.error(`foldwise: ${message}`);
  if (env.FOLDWISE_DEBUG === '1') console.error(error);
  return exitCode;
}

/**
 * An error thrown where no command awaits it (a database write in a worker's message handler
 * when the disk fills up) ends the process the same way: one line and the exit code. Its
 * experiment's lease dies with the process, so the experiment reads `interrupted` and resumes.
 */
export function exitOnUncaughtErrors(context: () => FailureContext): void {
  const exit = (error: unknown) => process.exit(reportFailure(error, context()));
  process.on('uncaughtException', exit);
  process.on('unhandledRejection', exit);
}
