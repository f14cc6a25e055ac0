/**
 * What tells two specs of one experiment apart. Some fields decide no run's result — the worker
 * count, the description, and how many trials a random or tpe search samples and for how long —
 * so an experiment resumes (or, with more trials, extends) whatever they say. Any other
 * difference makes it another experiment: the refusal lists the fields that changed.
 */
import type { ExperimentSpec } from '../../worker/contract/spec.js';
import { isSampledSearch } from '../../worker/contract/search-spec.js';

/** Spec fields an existing experiment may change (they are left out of its hash). */
export const EXTENT_FIELDS = ['workers', 'description', 'search.trials', 'search.timeBudget'] as const;

/** The spec without EXTENT_FIELDS, keys in their order: what the hash covers (a spec without `search` hashes as it always did). */
export function resultFields(spec: ExperimentSpec): Record<string, unknown> {
  const { workers: _workers, description: _description, ...rest } = spec;
  if (rest.search === undefined) return rest;
  const { trials: _trials, timeBudget: _timeBudget, ...search } = rest.search;
  return { ...rest, search };
}

export type SpecChange = { readonly path: string; readonly before: unknown; readonly after: unknown };

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The leaves that differ between two values, as field paths under `path` (`grid.width`); lists compare whole. */
export function valueChanges(before: unknown, after: unknown, path = ''): SpecChange[] {
  const changes: SpecChange[] = [];
  const walk = (a: unknown, b: unknown, at: string) => {
    if (isRecord(a) && isRecord(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[key], b[key], at ? `${at}.${key}` : key);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      changes.push({ path: at, before: a, after: b });
    }
  };
  walk(before, after, path);
  return changes;
}

/** The leaves that differ between two specs' result fields. */
export function specChanges(before: ExperimentSpec, after: ExperimentSpec): SpecChange[] {
  return valueChanges(resultFields(before), resultFields(after));
}

/** A value as a change shows it: JSON, cut at 80 characters. */
export function shown(value: unknown): string {
  if (value === undefined) return '(not set)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/**
 * The refusal of a spec that differs from the recorded one: each changed field (old → new), and what
 * to do instead. `warmStartable`: the new spec could start a new experiment from the old one's trials
 * (`foldwise run --from`, warm-start.ts): a tpe search scoring trials as the old one did.
 */
export function differentSpecMessage(name: string, before: ExperimentSpec, after: ExperimentSpec, warmStartable = false): string {
  const changes = specChanges(before, after);
  const lines =
    changes.length > 0
      ? changes.map((c) => `  ${c.path}: ${shown(c.before)} → ${shown(c.after)}`)
      : ['  dataset: the data changed since the experiment was created (same fields, other bytes)'];
  return [
    `an experiment named "${name}" already exists with a different spec (or data):`,
    ...lines,
    ...(isSampledSearch(before)
      ? ['Only search.trials (or `foldwise run --add-trials N`) may change on an existing experiment; it continues the search.']
      : []),
    `To start a new experiment, give this spec another name (e.g. name: ${name}-2), ` +
      `or delete the old one with \`foldwise delete ${name}\`.` +
      (warmStartable ? ` With another name, \`foldwise run SPEC --from ${name}\` starts its TPE search from the old one’s trials.` : ''),
  ].join('\n');
}
