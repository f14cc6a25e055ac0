/**
 * One error type with a code; `http/error-handler.ts` maps codes to HTTP statuses and the CLI
 * prints the message as one line and exits 2. Messages may reach HTTP clients: never put
 * stack traces or file contents in them. A worker's failure becomes an error here too, by its
 * kind (the end of this file): only bad data is an AppError.
 */
import type { FailureKind } from '../worker/contract/protocol.js';

export type ErrorCode = 'invalid_argument' | 'not_found' | 'conflict' | 'internal';

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Bad input: `path` names the field, as in spec errors. */
export class ValidationError extends AppError {
  override name = 'ValidationError';
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super('invalid_argument', message);
  }
}

export class NotFoundError extends AppError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super('not_found', message);
  }
}

export class ConflictError extends AppError {
  override name = 'ConflictError';
  constructor(message: string) {
    super('conflict', message);
  }
}

/**
 * A worker's request failed with an error of its own (`kind` 'error' or 'diverged'): not the
 * user's input, so not an AppError. The CLI exits 1 and HTTP answers 500, never "bad input".
 */
export class WorkerFailureError extends Error {
  override name = 'WorkerFailureError';
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

// ── Worker failures, mapped by the kind the worker decided: the one place the server reads a kind.

/** The error a failed `describe` rejects with: bad data is bad input (exit 2, the worker's message as it is); anything else is ours. */
export function describeFailureError(kind: FailureKind, message: string): Error {
  return kind === 'data' ? new ValidationError(message) : new WorkerFailureError(kind, message);
}

/**
 * The reason a failed task is recorded with: a divergence fails its run at once; anything
 * else, bad data included, is an error the coordinator retries up to its attempt limit.
 */
export function taskFailureReason(kind: FailureKind): 'diverged' | 'error' {
  return kind === 'diverged' ? 'diverged' : 'error';
}
