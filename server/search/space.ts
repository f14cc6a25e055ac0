/**
 * A spec's `space` as distributions the samplers draw from, and the conditional structure that
 * `family` gives it: a trial samples only the hyperparameters its family reads (PARAMS_OF_FAMILY);
 * the others keep their fixed or default value, as the grid does.
 */
import { DEFAULT_PARAMS, PARAM_CHECKS, type ExperimentSpec, type Params, type ParamValue } from '../../worker/contract/spec.js';
import { parseSpaceEntry, type ParsedEntry } from '../../worker/contract/search-spec.js';
import { PARAM_NAMES, PARAMS_OF_FAMILY, type Family, type ParamName } from '../../worker/contract/vocabulary.js';

/** A searched numeric hyperparameter: a range (an int range always has a step, 1 by default). */
export type NumericDimension = Extract<ParsedEntry, { kind: 'float' | 'int' }> & { readonly name: ParamName };
/** A searched hyperparameter with a list of choices. */
export type CategoricalDimension = { readonly kind: 'categorical'; readonly name: ParamName; readonly choices: readonly ParamValue[] };
/** One searched hyperparameter. */
export type Dimension = NumericDimension | CategoricalDimension;

/** The values a sampler chose for one trial: only the hyperparameters the trial's family reads. */
export type SampledParams = Readonly<Partial<Record<ParamName, ParamValue>>>;

export type SearchSpace = {
  /** In PARAM_NAMES order (so `family`, when searched, comes first). */
  readonly dimensions: readonly Dimension[];
  /** Defaults, then the spec's fixed `model` values: what every unsampled hyperparameter is. */
  readonly base: Params;
};

/** The space of a (validated) random or tpe spec. */
export function searchSpaceOf(spec: Pick<ExperimentSpec, 'space' | 'model'>): SearchSpace {
  const dimensions: Dimension[] = [];
  for (const name of PARAM_NAMES) {
    const raw = spec.space?.[name];
    if (raw === undefined) continue;
    const { entry, issues } = parseSpaceEntry(raw, PARAM_CHECKS[name]);
    if (entry === null) throw new Error(`space.${name} was not validated: ${issues[0]?.message}`);
    dimensions.push({ ...entry, name } as Dimension);
  }
  return { dimensions, base: { ...DEFAULT_PARAMS, ...spec.model } as Params };
}

/** The families a trial of this space may train: the choices of a searched `family`, else the fixed one. */
export function familiesOfSpace(space: SearchSpace): Family[] {
  const family = space.dimensions.find((d) => d.name === 'family');
  return family?.kind === 'categorical' ? (family.choices as Family[]) : [space.base.family];
}

/** The dimensions a trial of `family` samples: those it reads. */
export function activeDimensions(space: SearchSpace, family: Family): Dimension[] {
  const read = new Set<ParamName>(PARAMS_OF_FAMILY[family]);
  return space.dimensions.filter((d) => read.has(d.name));
}

/** The family a trial trains: its sampled `family`, else the fixed one. */
export function familyOf(space: SearchSpace, sampled: SampledParams): Family {
  return (sampled.family as Family | undefined) ?? space.base.family;
}

/** A trial's full hyperparameters: the base, then its sampled values. */
export function paramsOf(space: SearchSpace, sampled: SampledParams): Params {
  return { ...space.base, ...sampled } as Params;
}

/** The sampled part of a trial's full hyperparameters: the values of the dimensions its family reads. */
export function sampledOf(space: SearchSpace, params: Params): SampledParams {
  return Object.fromEntries(activeDimensions(space, params.family).map((d) => [d.name, params[d.name]]));
}

/** Whether a value lies in a dimension: a choice, or a number within the bounds and on a stepped range's grid. */
export function contains(dimension: Dimension, value: ParamValue | undefined): boolean {
  if (value === undefined) return false;
  if (dimension.kind === 'categorical') return dimension.choices.includes(value);
  if (typeof value !== 'number' || value < dimension.low || value > dimension.high) return false;
  return dimension.step === null || Math.abs(snap(dimension, value) - value) <= 1e-9 * Math.max(1, Math.abs(value));
}

/** Whether a trial (its full hyperparameters) could have been sampled from the space: each dimension its family reads holds it. */
export function inSpace(space: SearchSpace, params: Params): boolean {
  // `family` is read by every family: a searched one is checked too.
  return activeDimensions(space, params.family).every((d) => contains(d, params[d.name]));
}

/** Significant digits a sampled float keeps: enough for any search, short enough to read in a table. */
const FLOAT_DIGITS = 4;

/**
 * A value snapped onto a numeric dimension's grid (step) and bounds; a float without a step is
 * rounded to FLOAT_DIGITS significant digits (0.0276970039… → 0.0277).
 */
export function snap(dimension: NumericDimension, value: number): number {
  const clip = (v: number) => Math.min(dimension.high, Math.max(dimension.low, v));
  const clipped = clip(value);
  if (dimension.step === null) return clipped === 0 ? 0 : clip(Number(clipped.toPrecision(FLOAT_DIGITS)));
  const steps = Math.round((clipped - dimension.low) / dimension.step);
  // toPrecision drops the float noise of low + k·step (0.1 + 2·0.1 = 0.30000000000000004).
  const snapped = Math.min(dimension.high, dimension.low + steps * dimension.step);
  return dimension.kind === 'int' ? Math.round(snapped) : Number(snapped.toPrecision(12));
}
