/**
 * How a worker reports an error it caught: its kind (see `FailureKind`) and its message. The
 * kind is decided here, once, from the error's class, so that a bug in the worker is never
 * reported as the user's bad input.
 */
import type { FailureKind } from './contract/protocol.js';
import { SpecError } from './contract/spec.js';
import { DataError } from './data/table.js';
import { ModelFileError } from './models/model-files.js';
import { DivergedError } from './training/types.js';

export type Failure = { readonly kind: FailureKind; readonly message: string };

export function failureOf(error: unknown): Failure {
  return { kind: failureKindOf(error), message: errorMessage(error) };
}

export function failureKindOf(error: unknown): FailureKind {
  if (error instanceof DivergedError) return 'diverged';
  if (error instanceof DataError || error instanceof SpecError || error instanceof ModelFileError) return 'data';
  return 'error';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
