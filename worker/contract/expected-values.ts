/**
 * CONTRACT: what a hyperparameter's schema accepts, in words, for messages about a bad value:
 * `grid.depth[1]: expected an integer from 0 to 16, got "two"`. Read off the schemas themselves
 * (spec.ts paramFields), so the words cannot drift from the rule.
 */
import type { z } from 'zod';

type Def = {
  readonly type: string;
  readonly checks?: readonly { readonly _zod: { readonly def: Record<string, unknown> } }[];
  readonly entries?: Record<string, unknown>;
  readonly options?: readonly z.ZodType[];
  readonly valueType?: z.ZodType;
  readonly innerType?: z.ZodType;
};

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** "an integer from 0 to 16", "a number above 0 and at most 10", "one of relu, tanh", "true or false". */
export function describeExpected(schema: z.ZodType): string {
  const def = defOf(schema);
  switch (def.type) {
    case 'number':
      return describeNumber(def);
    case 'enum':
      return `one of ${Object.values(def.entries ?? {}).join(', ')}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'text';
    case 'union':
      return (def.options ?? []).map(describeExpected).join(' or ');
    case 'record':
      return `a mapping of names to ${def.valueType ? plural(describeExpected(def.valueType)) : 'values'}`;
    case 'default':
    case 'optional':
      return def.innerType ? describeExpected(def.innerType) : 'a valid value';
    default:
      return 'a valid value';
  }
}

function describeNumber(def: Def): string {
  const checks = (def.checks ?? []).map((check) => check._zod.def);
  const integer = checks.some((check) => check.check === 'number_format' && String(check.format).includes('int'));
  const bound = (kind: string) => checks.find((check) => check.check === kind) as { value: number; inclusive: boolean } | undefined;
  const low = bound('greater_than');
  const high = bound('less_than');
  // An integer's bounds are said inclusively: "> 0" is "from 1".
  const min = low && integer && !low.inclusive ? { value: Math.floor(low.value) + 1, inclusive: true } : low;
  const max = high && integer && !high.inclusive ? { value: Math.ceil(high.value) - 1, inclusive: true } : high;
  const noun = integer ? 'an integer' : 'a number';
  if (min?.inclusive && max?.inclusive) return `${noun} from ${min.value} to ${max.value}`;
  const parts = [
    min ? `${min.inclusive ? 'at least' : 'above'} ${min.value}` : null,
    max ? `${max.inclusive ? 'at most' : 'below'} ${max.value}` : null,
  ].filter((part) => part !== null);
  return parts.length === 0 ? noun : `${noun} ${parts.join(' and ')}`;
}

function plural(description: string): string {
  return description.replace(/^an? (integer|number)/, '$1s');
}

/** A value as a message shows it: text quoted, NaN and infinities by name, lists and mappings by kind. */
export function showValue(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** "expected an integer from 0 to 16, got "two"". */
export function expectedMessage(schema: z.ZodType, value: unknown): string {
  return `expected ${describeExpected(schema)}, got ${showValue(value)}`;
}
