import { z } from 'zod';
import { ValidationError } from '../errors.js';
import type { SpecSource } from '../services/experiment-commands.js';

const ID = /^\d{1,15}$/;

/** A path or body id: digits only, else 400 (a non-numeric id is malformed, not missing). */
export function parseId(value: unknown, name: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new ValidationError(`${name}: expected a whole number, got ${JSON.stringify(String(value).slice(0, 40))}`, [
      { path: name, message: 'expected a whole number' },
    ]);
  }
  return Number(value);
}

/** `1,2,3` → [1, 2, 3], between `min` and `max` distinct ids. */
export function parseIdList(value: unknown, name: string, min: number, max: number): number[] {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`${name}: expected comma-separated run ids such as 1,2,3`, [
      { path: name, message: 'expected comma-separated run ids' },
    ]);
  }
  const parts = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length > max)
    throw new ValidationError(`${name}: at most ${max} ids, got ${parts.length}`, [{ path: name, message: `at most ${max} ids` }]);
  const ids = [...new Set(parts.map((part) => parseId(part, name)))];
  if (ids.length < min)
    throw new ValidationError(`${name}: expected at least ${min} different ids, got ${ids.length}`, [
      { path: name, message: `at least ${min} ids` },
    ]);
  return ids;
}

const METRIC_NAME = /^[a-z][a-z0-9_]{0,40}$/;

/** `loss,val_auc` → names; empty or absent → []. */
export function parseMetricNames(value: unknown): string[] {
  if (value === undefined || value === '') return [];
  if (typeof value !== 'string')
    throw new ValidationError('names: expected comma-separated metric names', [
      { path: 'names', message: 'expected comma-separated metric names' },
    ]);
  const names = [
    ...new Set(
      value
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ];
  if (names.length > 20) throw new ValidationError('names: at most 20 metric names', [{ path: 'names', message: 'at most 20 names' }]);
  for (const name of names) {
    if (!METRIC_NAME.test(name))
      throw new ValidationError(`names: "${name.slice(0, 40)}" is not a metric name such as loss or val_auc`, [
        { path: 'names', message: 'expected metric names such as loss or val_auc' },
      ]);
  }
  return names;
}

/** Turns zod issues into a ValidationError naming each field. */
function fromZod(error: z.ZodError): ValidationError {
  const issues = error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(body)', message: issue.message }));
  return new ValidationError(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '), issues);
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw fromZod(result.error);
  return result.data;
}

const startSchema = z.object({
  source: z.enum(['file', 'text']).optional(),
  specFile: z.string().max(200).optional(),
  specText: z.string().optional(),
});

/** The start form / API body: `{specFile}` or `{specText}` (`source` picks when both are sent, as the form does). */
export function parseStartBody(body: unknown): SpecSource & { source: 'file' | 'text' } {
  const { source, specFile, specText } = parseBody(startSchema, body);
  const chosen = source ?? (specFile !== undefined && specFile !== '' ? 'file' : 'text');
  if (chosen === 'file') {
    if (!specFile) throw new ValidationError('specFile: choose a spec file', [{ path: 'specFile', message: 'choose a spec file' }]);
    return { source: 'file', specFile };
  }
  if (specText === undefined || specText.trim() === '')
    throw new ValidationError('specText: paste a spec (YAML or JSON)', [{ path: 'specText', message: 'paste a spec (YAML or JSON)' }]);
  return { source: 'text', specText };
}

const refitSchema = z.object({ runId: z.union([z.string().max(20), z.number()]).optional() });

/** `{runId?}`: the run to refit; absent or empty means the best. */
export function parseRefitBody(body: unknown): { runId?: number } {
  const { runId } = parseBody(refitSchema, body);
  return runId === undefined || runId === '' ? {} : { runId: parseId(runId, 'runId') };
}

const deleteSchema = z.object({ confirm: z.string({ message: 'type the experiment name to confirm' }).max(200) });

export function parseDeleteBody(body: unknown): { confirm: string } {
  return parseBody(deleteSchema, body);
}
