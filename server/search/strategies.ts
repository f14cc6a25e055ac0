/** The sampler a spec's `search.strategy` names (random or tpe; a grid is expanded, not sampled). */
import type { ExperimentSpec } from '../../worker/contract/spec.js';
import type { Sampler } from './sampler.js';
import type { SearchSpace } from './space.js';
import { randomSampler } from './random-sampler.js';
import { tpeSampler } from './tpe/tpe-sampler.js';

export function samplerFor(spec: Pick<ExperimentSpec, 'search'>, space: SearchSpace): Sampler {
  const strategy = spec.search?.strategy ?? 'grid';
  if (strategy === 'random') return randomSampler(space);
  if (strategy === 'tpe') return tpeSampler(space, { startupTrials: spec.search?.startupTrials });
  throw new Error(`strategy ${strategy} is not sampled`);
}
