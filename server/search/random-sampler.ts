/**
 * Random search (Bergstra & Bengio 2012; scikit-learn's RandomizedSearchCV): every hyperparameter
 * drawn independently — uniform, log-uniform for a log range, uniform over the grid of a stepped
 * one — and conditionally: `family` first, then only what that family reads.
 */
import { activeDimensions, familyOf, snap, type Dimension, type SampledParams, type SearchSpace } from './space.js';
import type { ParamValue } from '../../worker/contract/spec.js';
import type { Sampler, Uniform } from './sampler.js';

/** One value of a dimension, drawn as Optuna's RandomSampler draws it. */
export function sampleDimension(dimension: Dimension, random: Uniform): ParamValue {
  if (dimension.kind === 'categorical') return dimension.choices[Math.floor(random() * dimension.choices.length)]!;
  const { low, high, log, step } = dimension;
  if (log) {
    // An int log range covers each integer's half-unit neighbourhood, so the end values get their share.
    const half = dimension.kind === 'int' ? 0.5 : 0;
    const [a, b] = [Math.log(low - half), Math.log(high + half)];
    return snap(dimension, Math.exp(a + random() * (b - a)));
  }
  if (step === null) return snap(dimension, low + random() * (high - low));
  const points = Math.round((high - low) / step) + 1;
  return snap(dimension, low + Math.floor(random() * points) * step);
}

/** Samples the dimensions of `space` a trial uses: `family` (when searched) first, then those its family reads. */
export function sampleAtRandom(space: SearchSpace, random: Uniform, fixed: SampledParams = {}): SampledParams {
  const sampled: Record<string, ParamValue> = { ...fixed };
  const family = space.dimensions.find((d) => d.name === 'family');
  if (family && sampled.family === undefined) sampled.family = sampleDimension(family, random);
  for (const dimension of activeDimensions(space, familyOf(space, sampled))) {
    if (sampled[dimension.name] === undefined) sampled[dimension.name] = sampleDimension(dimension, random);
  }
  return sampled;
}

/** The random strategy: ignores the trials, draws from the trial's own random source. */
export function randomSampler(space: SearchSpace): Sampler {
  return { space, sample: (request) => sampleAtRandom(space, request.random) };
}
