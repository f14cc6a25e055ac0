/**
 * CONTRACT: the `search` and `space` sections of an experiment spec (spec.ts composes them) —
 * how a search beyond the grid is written:
 *
 * ```yaml
 * search: { strategy: tpe, trials: 40, timeBudget: 20m }
 * space:
 *   learningRate: { float: [1.0e-4, 1.0e-1], log: true }
 *   width: { int: [8, 128], step: 8 }
 *   activation: { choice: [relu, tanh] }
 *   batchSize: [64, 128, 256]          # a plain list is a choice
 * ```
 *
 * The entries are checked here, field by field, with the path of a bad one and what was expected;
 * the server turns a checked space into distributions (server/search/space.ts).
 */
import { z } from 'zod';
import { PARAM_NAMES, PARAMS_OF_FAMILY, type Family, type ParamName } from './vocabulary.js';

/** `grid` expands the grid; `random` and `tpe` sample `trials` configurations from `space`. */
export const SEARCH_STRATEGIES = ['grid', 'random', 'tpe'] as const;
export type SearchStrategy = (typeof SEARCH_STRATEGIES)[number];

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `20m`, `1h30m`, `500ms` (or a number of seconds) in milliseconds; null when it does not parse or is not positive. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value * 1000 : null;
  const text = value.replace(/\s+/g, '');
  if (!DURATION.test(text)) return null;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) ms += Number(amount) * UNIT_MS[unit!]!;
  return ms > 0 ? ms : null;
}

export const searchSchema = z.strictObject({
  /** `grid` (the default when `search` is absent), `random` or `tpe` (multivariate TPE, as Optuna's). */
  strategy: z.enum(SEARCH_STRATEGIES, { error: `expected one of ${SEARCH_STRATEGIES.join(', ')}` }).default('grid'),
  /**
   * random, tpe: configurations to sample. Raising it on an existing experiment continues it
   * (so does `foldwise run --add-trials N`); it is not part of what must match to resume.
   */
  trials: z
    .number({ error: 'expected a whole number of trials, at least 1' })
    .int('expected a whole number of trials, at least 1')
    .min(1, 'expected a whole number of trials, at least 1')
    .max(100_000)
    .optional(),
  /**
   * random, tpe: no new trial starts once a `foldwise run` has searched this long (running ones
   * finish); the next run continues. `90s`, `20m`, `1h30m`, or a number of seconds.
   */
  timeBudget: z
    .union([z.string(), z.number()])
    .refine((value) => parseDuration(value) !== null, 'expected a duration such as 90s, 20m or 1h30m')
    .optional(),
  /**
   * random, tpe: trials sampled before the results of the ones in flight are known. Trial n is
   * sampled from the results of trials 0…n−concurrentTrials, whatever the timing, so the same
   * spec and seed give the same trials. @default the worker count when the search first starts
   * (then recorded with the experiment)
   */
  concurrentTrials: z.number().int().min(1).max(1024).optional(),
  /** tpe: trials sampled at random before the model takes over (Optuna's n_startup_trials). @default 10 */
  startupTrials: z.number().int().min(1).max(10_000).optional(),
});
export type SearchSpec = z.infer<typeof searchSchema>;

/** A plain value of a choice: what hyperparameters are made of. */
export type ChoiceValue = string | number | boolean;

/**
 * One searched hyperparameter. `{ float: [low, high] }` (optionally `log: true` or `step`),
 * `{ int: [low, high] }` (optionally `log: true` or `step`), `{ choice: [...] }`, or a plain list
 * (a choice). Checked by spaceIssues, not by the schema, so that each mistake gets its own message.
 */
export type SpaceEntry =
  | { readonly float: readonly [number, number]; readonly log?: boolean; readonly step?: number }
  | { readonly int: readonly [number, number]; readonly log?: boolean; readonly step?: number }
  | { readonly choice: readonly ChoiceValue[] }
  | readonly ChoiceValue[];

/** The space: hyperparameter name → entry (validated by spaceIssues). */
export const spaceSchema = z.strictObject(
  Object.fromEntries(PARAM_NAMES.map((name) => [name, z.custom<SpaceEntry>((value) => value !== undefined).optional()])) as {
    [K in ParamName]: z.ZodOptional<z.ZodCustom<SpaceEntry, SpaceEntry>>;
  },
);
export type SpaceSpec = z.infer<typeof spaceSchema>;

/** How a hyperparameter can be searched: a float range, an int range, or only as a choice. */
export type ParamKind = 'float' | 'int' | 'categorical';

/** What a spec issue looks like here (spec.ts adds them to its refinement). */
export type SearchIssue = { readonly path: (string | number)[]; readonly message: string };

/** Where the search sections and the fixed values sit, typed apart from ExperimentSpec (spec.ts's refinement calls this). */
export type SearchFields = {
  readonly search?: SearchSpec;
  readonly space?: SpaceSpec;
  readonly model: Readonly<Partial<Record<ParamName, unknown>>>;
  readonly grid: Readonly<Partial<Record<ParamName, unknown>>>;
};

/** Whether a spec samples its configurations (random, tpe) rather than expanding a grid. */
export function isSampledSearch(spec: Pick<SearchFields, 'search'>): boolean {
  return (spec.search?.strategy ?? 'grid') !== 'grid';
}

/** A parsed space entry: a numeric range or a list of choices. */
export type ParsedEntry =
  | { readonly kind: 'float' | 'int'; readonly low: number; readonly high: number; readonly log: boolean; readonly step: number | null }
  | { readonly kind: 'categorical'; readonly choices: readonly ChoiceValue[] };

/** A hyperparameter as a space entry sees it: its kind and a check of one value (null when it fits). */
export type FieldCheck = { readonly kind: ParamKind; readonly check: (value: unknown) => string | null };

const RANGE_KEYS = ['float', 'int'] as const;

/**
 * Reads one space entry, or says what is wrong with it (each issue with its path below the
 * entry). `field` is the hyperparameter's kind and value check.
 */
export function parseSpaceEntry(raw: unknown, field: FieldCheck): { entry: ParsedEntry | null; issues: SearchIssue[] } {
  if (Array.isArray(raw)) return parseChoices(raw, [], field);
  if (raw === null || typeof raw !== 'object') {
    return {
      entry: null,
      issues: [{ path: [], message: 'expected { float: [low, high] }, { int: [low, high] }, { choice: [...] } or a list of values' }],
    };
  }
  const entry = raw as Record<string, unknown>;
  const kinds = [...RANGE_KEYS, 'choice'].filter((key) => key in entry);
  if (kinds.length !== 1) {
    const message = kinds.length === 0 ? 'expected one of float, int or choice' : `expected one of ${kinds.join(', ')}, not both`;
    return { entry: null, issues: [{ path: [], message }] };
  }
  const kind = kinds[0]!;
  const allowed = kind === 'choice' ? ['choice'] : [kind, 'log', 'step'];
  const unknown = Object.keys(entry).filter((key) => !allowed.includes(key));
  if (unknown.length > 0)
    return {
      entry: null,
      issues: [{ path: [], message: `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}` }],
    };
  if (kind === 'choice') {
    if (!Array.isArray(entry.choice)) return { entry: null, issues: [{ path: ['choice'], message: 'expected a list of values' }] };
    return parseChoices(entry.choice, ['choice'], field);
  }
  return parseRange(entry, kind as 'float' | 'int', field);
}

function parseChoices(
  values: readonly unknown[],
  at: (string | number)[],
  field: FieldCheck,
): { entry: ParsedEntry | null; issues: SearchIssue[] } {
  if (values.length === 0) return { entry: null, issues: [{ path: at, message: 'expected at least one value' }] };
  const types = [...new Set(values.map((value) => typeof value))];
  if (types.length > 1) return { entry: null, issues: [{ path: at, message: `expected values of one type, got ${types.join(' and ')}` }] };
  const issues: SearchIssue[] = [];
  const seen = new Set<unknown>();
  values.forEach((value, i) => {
    const problem = field.check(value);
    if (problem !== null) issues.push({ path: [...at, i], message: problem });
    else if (seen.has(value)) issues.push({ path: [...at, i], message: `${JSON.stringify(value)} is listed twice` });
    seen.add(value);
  });
  return { entry: issues.length > 0 ? null : { kind: 'categorical', choices: values as ChoiceValue[] }, issues };
}

function parseRange(
  entry: Record<string, unknown>,
  kind: 'float' | 'int',
  field: FieldCheck,
): { entry: ParsedEntry | null; issues: SearchIssue[] } {
  const bounds = entry[kind];
  const other = kind === 'float' ? 'int' : 'float';
  if (field.kind === 'categorical') {
    return { entry: null, issues: [{ path: [kind], message: 'this hyperparameter is not a number: search it as { choice: [...] }' }] };
  }
  if (field.kind !== kind) {
    const what = field.kind === 'int' ? 'a whole number' : 'not a whole number';
    return { entry: null, issues: [{ path: [kind], message: `this hyperparameter is ${what}: search it as { ${other}: [low, high] }` }] };
  }
  if (!Array.isArray(bounds) || bounds.length !== 2 || !bounds.every((b) => typeof b === 'number' && Number.isFinite(b))) {
    return { entry: null, issues: [{ path: [kind], message: 'expected [low, high], two numbers' }] };
  }
  const [low, high] = bounds as [number, number];
  const issues: SearchIssue[] = [];
  if (kind === 'int') {
    bounds.forEach((b, i) => {
      if (!Number.isInteger(b)) issues.push({ path: [kind, i], message: `expected a whole number, got ${b}` });
    });
  }
  if (issues.length === 0 && !(low < high)) {
    issues.push({
      path: [kind],
      message: `expected low < high, got [${low}, ${high}]${low === high ? ' (a single value belongs in model)' : ''}`,
    });
  }
  [low, high].forEach((b, i) => {
    const problem = kind === 'int' && !Number.isInteger(b) ? null : field.check(b);
    if (problem !== null) issues.push({ path: [kind, i], message: problem });
  });
  const log = entry.log ?? false;
  if (typeof log !== 'boolean') issues.push({ path: ['log'], message: 'expected true or false' });
  else if (log && low <= 0) issues.push({ path: [kind, 0], message: `a log range needs bounds above 0, got ${low}` });
  const step = entry.step;
  if (step !== undefined) {
    if (typeof step !== 'number' || !(step > 0) || (kind === 'int' && !Number.isInteger(step))) {
      issues.push({ path: ['step'], message: kind === 'int' ? 'expected a whole number from 1 up' : 'expected a number above 0' });
    } else if (log === true) {
      issues.push({ path: ['step'], message: 'a range is either log or stepped, not both' });
    } else if (issues.length === 0 && !isMultiple(high - low, step)) {
      issues.push({ path: ['step'], message: `high − low (${high - low}) must be a multiple of step ${step}` });
    }
  }
  if (issues.length > 0) return { entry: null, issues };
  const stepOrNull = typeof step === 'number' ? step : kind === 'int' ? 1 : null;
  return { entry: { kind, low, high, log: log === true, step: stepOrNull }, issues };
}

function isMultiple(span: number, step: number): boolean {
  const ratio = span / step;
  return Math.abs(ratio - Math.round(ratio)) < 1e-9 * Math.max(1, ratio);
}

/** The values a space entry offers when it is a choice (a plain list or `{ choice }`); none for a range or a malformed entry. */
export function spaceChoiceValues(entry: unknown): readonly unknown[] {
  if (Array.isArray(entry)) return entry;
  if (entry !== null && typeof entry === 'object' && Array.isArray((entry as { choice?: unknown }).choice))
    return (entry as { choice: unknown[] }).choice;
  return [];
}

const needsSampling = (strategy: SearchStrategy) => `strategy ${strategy} samples from space`;

/**
 * Everything wrong with a spec's `search` and `space` sections, and with how they sit with
 * `model` and `grid`. `fields` gives each hyperparameter's kind and value check (spec.ts owns
 * the hyperparameter schemas); `families` are the ones the spec's trials may train.
 */
export function searchIssues(
  spec: SearchFields,
  fields: Readonly<Record<ParamName, FieldCheck>>,
  families: readonly Family[],
): SearchIssue[] {
  const strategy = spec.search?.strategy ?? 'grid';
  const issues: SearchIssue[] = [];
  const space = Object.entries(spec.space ?? {}).filter(([, entry]) => entry !== undefined) as [ParamName, unknown][];
  if (strategy === 'grid') {
    if (spec.space !== undefined) {
      issues.push({
        path: ['space'],
        message: 'space is read by strategy random or tpe (search: { strategy: tpe, trials: 40 }); the grid reads grid',
      });
    }
    for (const key of ['trials', 'timeBudget', 'concurrentTrials', 'startupTrials'] as const) {
      if (spec.search?.[key] !== undefined)
        issues.push({ path: ['search', key], message: 'only for strategy random or tpe (the grid runs every point)' });
    }
    return issues;
  }
  if (spec.search?.trials === undefined) {
    issues.push({
      path: ['search', 'trials'],
      message: `expected the number of trials strategy ${strategy} samples (a whole number, at least 1)`,
    });
  }
  if (strategy !== 'tpe' && spec.search?.startupTrials !== undefined) {
    issues.push({ path: ['search', 'startupTrials'], message: 'only for strategy tpe' });
  }
  for (const name of Object.keys(spec.grid)) {
    issues.push({
      path: ['grid', name],
      message:
        `${needsSampling(strategy)}, not grid: move ${name} to model (one fixed value) ` +
        'or to space (searched; a list there is a choice)',
    });
  }
  if (space.length === 0) {
    issues.push({
      path: ['space'],
      message:
        `${needsSampling(strategy)}: expected at least one hyperparameter, ` + 'e.g. learningRate: { float: [1.0e-4, 1.0e-1], log: true }',
    });
    return issues;
  }
  for (const [name, raw] of space) {
    if (name in spec.model) {
      issues.push({ path: ['space', name], message: `"${name}" is set in both model and space; keep it in one place` });
      continue;
    }
    const { issues: entryIssues } = parseSpaceEntry(raw, fields[name]);
    issues.push(...entryIssues.map((issue) => ({ path: ['space', name, ...issue.path], message: issue.message })));
    if (entryIssues.length === 0 && !families.some((family) => PARAMS_OF_FAMILY[family].includes(name))) {
      issues.push({ path: ['space', name], message: `no family this spec trains (${families.join(', ')}) reads ${name}` });
    }
  }
  return issues;
}
