/**
 * Errors that only exist at the HTTP edge (server/errors.ts keeps the domain codes): a refused
 * cross-origin request (403) or host (421), a malformed Host header (400), a body over the size limit (413).
 */
export type HttpErrorCode = 'bad_request' | 'forbidden' | 'misdirected' | 'payload_too_large' | 'not_acceptable';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
  }
}
