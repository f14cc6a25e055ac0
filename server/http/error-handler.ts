import type { NextFunction, Request, Response } from 'express';
import { AppError, ValidationError, type ErrorCode } from '../errors.js';
import { HttpError } from './http-error.js';
import type { Views } from './views.js';

const STATUS: Record<ErrorCode, number> = { invalid_argument: 400, not_found: 404, conflict: 409, internal: 500 };
const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  413: 'Request too large',
  421: 'Wrong host',
  500: 'Something went wrong',
};

export type ErrorBody = { error: { code: string; message: string; path?: string; issues?: readonly { path: string; message: string }[] } };

/** Status and client-safe body of any error; unknown errors become a generic 500 (logged, never sent). */
export function describeError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  if (error instanceof AppError) {
    const status = STATUS[error.code] ?? 500;
    if (status === 500) return internal(error);
    const issues = error instanceof ValidationError && error.issues.length > 0 ? error.issues : undefined;
    return { status, body: { error: { code: error.code, message: error.message, ...(issues ? { path: issues[0]!.path, issues } : {}) } } };
  }
  // body-parser's errors: an oversized or malformed body.
  const parserError = error as { type?: string; status?: number; expose?: boolean; limit?: number };
  if (parserError?.type === 'entity.too.large') {
    return {
      status: 413,
      body: { error: { code: 'payload_too_large', message: `request body larger than ${Math.round((parserError.limit ?? 0) / 1024)} kB` } },
    };
  }
  if (parserError?.type === 'entity.parse.failed')
    return { status: 400, body: { error: { code: 'invalid_argument', message: 'malformed JSON body' } } };
  if (parserError?.expose === true && typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return { status: parserError.status, body: { error: { code: 'invalid_argument', message: (error as Error).message } } };
  }
  return internal(error);
}

function internal(error: unknown): { status: number; body: ErrorBody } {
  console.error('dashboard: unexpected error:', error);
  return { status: 500, body: { error: { code: 'internal', message: 'internal error; the server log has the details' } } };
}

export function isApiRequest(req: Request): boolean {
  return req.originalUrl === '/api' || req.originalUrl.startsWith('/api/');
}

/** The one error handler: JSON `{error: {code, message, path?}}` under /api, an error page elsewhere. */
export function createErrorHandler(views: Views) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(error);
    const { status, body } = describeError(error);
    if (isApiRequest(req)) {
      res.status(status).json(body);
      return;
    }
    res
      .status(status)
      .type('html')
      .send(
        views.page('error', {
          title: TITLES[status] ?? 'Error',
          status,
          heading: TITLES[status] ?? 'Error',
          message: body.error.message,
          issues: body.error.issues,
        }),
      );
  };
}

export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new AppError('not_found', `no such ${isApiRequest(req) ? 'endpoint' : 'page'}: ${req.method} ${req.path.slice(0, 200)}`));
}
