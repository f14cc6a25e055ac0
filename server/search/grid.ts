import { DEFAULT_PARAMS, omittedFromIdentity, type ExperimentSpec, type Params, type ParamValue } from '../../worker/contract/spec.js';
import { DEFAULT_LEADERBOARD_COLUMNS, PARAM_NAMES, PARAMS_OF_FAMILY, type ParamName } from '../../worker/contract/vocabulary.js';
import { isSampledSearch } from '../../worker/contract/search-spec.js';

/**
 * Canonical JSON of a run's hyperparameters: every key (but those left out at their default,
 * spec.ts omittedFromIdentity), sorted, a class-weight map's labels too, so equal settings compare equal in SQL.
 */
export function canonicalParamsJson(params: Params): string {
  const canonical = (value: ParamValue) =>
    typeof value === 'object' ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : value;
  const kept = [...PARAM_NAMES].sort().filter((name) => !omittedFromIdentity(name, params[name]));
  return JSON.stringify(Object.fromEntries(kept.map((name) => [name, canonical(params[name])])));
}

/** Each grid axis as a list of its distinct values, in the order the spec gave them. */
export function gridAxes(spec: ExperimentSpec): [ParamName, ParamValue[]][] {
  return (Object.entries(spec.grid) as [ParamName, ParamValue | ParamValue[]][])
    .map(([name, values]) => [name, [...new Set(Array.isArray(values) ? values : [values])]] as [ParamName, ParamValue[]])
    .sort(([a], [b]) => a.localeCompare(b));
}

/** Number of runs the grid expands to, computed without expanding it: an upper bound when `family` is searched (see expandGrid). */
export function gridSize(spec: ExperimentSpec): number {
  return gridAxes(spec).reduce((product, [, values]) => product * values.length, 1);
}

/**
 * Expands the grid into full hyperparameter settings: defaults, then the spec's fixed
 * `model` values, then one value per grid axis (cartesian product, axes in sorted key order).
 * A hyperparameter the setting's family does not read (PARAMS_OF_FAMILY: e.g. `depth` for `mf`,
 * `factors` for `mlp`) is recorded at its fixed or default value, so a grid crossing `family`
 * with such an axis does not train the same model twice. Duplicates (the same setting reached
 * twice) are dropped.
 */
export function expandGrid(spec: ExperimentSpec): Params[] {
  const base: Params = { ...DEFAULT_PARAMS, ...spec.model } as Params;
  let settings: Params[] = [base];
  for (const [name, values] of gridAxes(spec)) {
    settings = settings.flatMap((setting) => values.map((value) => ({ ...setting, [name]: value }) as Params));
  }
  settings = settings.map((setting) => {
    const read = new Set<ParamName>(PARAMS_OF_FAMILY[setting.family]);
    return Object.fromEntries(PARAM_NAMES.map((name) => [name, read.has(name) ? setting[name] : base[name]])) as Params;
  });
  const seen = new Set<string>();
  return settings.filter((setting) => {
    const key = canonicalParamsJson(setting);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The hyperparameters that vary across the grid (or a random or tpe search's space): the columns a leaderboard shows. */
export function searchedParamNames(spec: ExperimentSpec): ParamName[] {
  if (isSampledSearch(spec)) return PARAM_NAMES.filter((name) => spec.space?.[name] !== undefined).sort((a, b) => a.localeCompare(b));
  return gridAxes(spec)
    .filter(([, values]) => values.length > 1)
    .map(([name]) => name);
}

/** The leaderboard's hyperparameter columns: the searched ones, or a default few when the grid searches nothing. */
export function leaderboardColumns(spec: ExperimentSpec | null): ParamName[] {
  const searched = spec ? searchedParamNames(spec) : [];
  return searched.length > 0 ? searched : [...DEFAULT_LEADERBOARD_COLUMNS];
}
