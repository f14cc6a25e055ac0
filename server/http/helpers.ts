import { METRIC_SCOPES, metricKey, metricLabel, paramLabel, type MetricScope } from '../../worker/contract/vocabulary.js';
import { formatDuration, formatMeanStd, formatPValue, formatScore, formatSpread } from '../cli/format.js';

const pad = (n: number) => String(n).padStart(2, '0');

/** Local date and time, minutes precision: "2026-03-04 13:07". */
export function formatDateTime(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Handlebars helpers. Each returns plain text; `{{ }}` escapes it. None returns a SafeString. */
export const helpers: Record<string, (...args: never[]) => unknown> = {
  score: (value: unknown, digits?: unknown) => formatScore(isNumber(value) ? value : null, typeof digits === 'number' ? digits : 4),
  /** `{{scoreStd mean std nFolds}}`: `mean ± std`, or just the score over a single split (see formatSpread). */
  scoreStd: (mean: unknown, std: unknown, count?: unknown) =>
    formatMeanStd(isNumber(mean) ? mean : null, isNumber(std) ? std : null, isNumber(count) ? count : 2),
  /** `{{spread std nFolds}}`: `± std`, or '' over a single split, for markup that sets the mean apart. */
  spread: (std: unknown, count?: unknown) => formatSpread(isNumber(std) ? std : null, isNumber(count) ? count : 2),
  duration: (ms: unknown) => formatDuration(isNumber(ms) ? ms : null),
  /** A p-value: 4 decimals, `< 0.0001` below that, `—` without one. */
  pValue: (p: unknown) => formatPValue(isNumber(p) ? p : null),
  datetime: (ms: unknown) => formatDateTime(ms),
  isoTime: (ms: unknown) => (isNumber(ms) ? new Date(ms).toISOString() : ''),
  int: (value: unknown) => (isNumber(value) ? Math.round(value).toLocaleString('en-US') : '—'),
  /** 0-based epoch → the 1-based number the pages show. */
  epochNo: (epoch: unknown) => (isNumber(epoch) ? String(epoch + 1) : '—'),
  bytes: (n: unknown) =>
    !isNumber(n) ? '—' : n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1024 ** 2).toFixed(1)} MB`,
  percent: (part: unknown, whole: unknown) =>
    isNumber(part) && isNumber(whole) && whole > 0 ? String(Math.round((100 * part) / whole)) : '0',
  paramLabel: (name: unknown) => paramLabel(String(name)),
  paramValue: (value: unknown) => (value === null || value === undefined ? '—' : typeof value === 'string' ? value : String(value)),
  metricLabel: (name: unknown) => metricLabel(String(name ?? '')),
  /** `{{metricKey "test" e.selectionMetric}}` → `test_auc`. */
  metricKey: (scope: unknown, name: unknown) => {
    if (!METRIC_SCOPES.includes(scope as MetricScope)) throw new Error(`metricKey: unknown scope ${String(scope)}`);
    return metricKey(scope as MetricScope, String(name));
  },
  direction: (direction: unknown) => (direction === 'minimize' ? 'lower is better' : 'higher is better'),
  arrow: (direction: unknown) => (direction === 'minimize' ? '↓' : '↑'),
  /** JSON text for a data-* attribute: `{{ }}` escapes it and the browser unescapes attribute values. */
  json: (value: unknown) => JSON.stringify(value ?? null),
  plural: (count: unknown, singular: unknown, pluralForm?: unknown) =>
    `${String(count)} ${count === 1 ? String(singular) : typeof pluralForm === 'string' ? pluralForm : `${String(singular)}s`}`,
  eq: (a: unknown, b: unknown) => a === b,
  ne: (a: unknown, b: unknown) => a !== b,
  gt: (a: unknown, b: unknown) => isNumber(a) && isNumber(b) && a > b,
  and: (...args: unknown[]) => args.slice(0, -1).every(Boolean),
  or: (...args: unknown[]) => args.slice(0, -1).some(Boolean),
  not: (value: unknown) => !value,
  isNumber: (value: unknown) => isNumber(value),
  lookupParam: (params: unknown, name: unknown) =>
    params && typeof params === 'object' ? (params as Record<string, unknown>)[String(name)] : undefined,
  add: (a: unknown, b: unknown) => (isNumber(a) && isNumber(b) ? a + b : a),
  /** `{{default x "—"}}`: the value, or the fallback when it is missing or empty. */
  default: (value: unknown, fallback: unknown) => (value === null || value === undefined || value === '' ? fallback : value),
  join: (list: unknown, separator: unknown) => (Array.isArray(list) ? list.join(typeof separator === 'string' ? separator : ', ') : ''),
};
