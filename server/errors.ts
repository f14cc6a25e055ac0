/**
 * One error type with a code; `http/error-handler.ts` maps codes to HTTP statuses and the CLI
 * prints the message as one line and exits 2. Messages may reach HTTP clients: never put
 * stack traces or file contents in them.
 */
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
