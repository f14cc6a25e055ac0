/**
 * Multivariate TPE, following Optuna's TPESampler(multivariate=True, group=True, constant_liar=True)
 * and Watanabe 2023: random configurations for the first `startupTrials` finished trials; then the
 * trials are split into a good group (the best γ(n) = min(⌈0.1·n⌉, 25), complete trials first,
 * then pruned ones that went furthest) and the rest; a Parzen estimator l(x) is fitted to the good
 * and g(x) to the rest, 24 candidates are drawn from l, and the one maximising l(x)/g(x) wins.
 * Trials still running join the rest with no score ("constant liar"), so parallel trials are not
 * drawn to the same spot. A conditional space is sampled in groups: the hyperparameters every
 * family reads (with `family` itself) first, then the ones the chosen family alone reads, each
 * group fitted to the trials that sampled all of it.
 */
import { betterBy } from '../../../worker/contract/vocabulary.js';
import { activeDimensions, familiesOfSpace, familyOf, type Dimension, type SampledParams, type SearchSpace } from '../space.js';
import { sampleAtRandom } from '../random-sampler.js';
import type { FrozenTrial, SampleRequest, Sampler, Uniform } from '../sampler.js';
import { ParzenEstimator } from './parzen.js';

export type TpeOptions = {
  /** Finished trials sampled at random before the model takes over. @default 10 (Optuna's n_startup_trials) */
  readonly startupTrials?: number;
  /** Candidates drawn from l(x) per group. @default 24 (Optuna's n_ei_candidates) */
  readonly candidates?: number;
  /** Count running trials in the bad group (constant liar). @default true */
  readonly constantLiar?: boolean;
};

export const DEFAULT_STARTUP_TRIALS = 10;
const DEFAULT_CANDIDATES = 24;

/** Optuna's default γ: the size of the good group for n finished trials. */
export function goodGroupSize(n: number): number {
  return Math.min(Math.ceil(0.1 * n), 25);
}

/**
 * Splits trials into the good group and the rest, as Optuna's `_split_trials`: the best complete
 * trials, topped up with the pruned ones that got furthest (then scored best); running trials are
 * always in the rest. Both groups in trial order.
 */
export function splitTrials(trials: readonly FrozenTrial[], nGood: number, direction: SampleRequest['direction']) {
  const byScore = (a: FrozenTrial, b: FrozenTrial) => betterBy(direction, b.score!, a.score!) || a.number - b.number;
  const complete = trials.filter((t) => t.state === 'complete').sort(byScore);
  const pruned = trials.filter((t) => t.state === 'pruned').sort((a, b) => b.progress - a.progress || byScore(a, b));
  const good = [...complete, ...pruned].slice(0, nGood);
  const goodNumbers = new Set(good.map((t) => t.number));
  const byNumber = (a: FrozenTrial, b: FrozenTrial) => a.number - b.number;
  return { good: good.sort(byNumber), rest: trials.filter((t) => !goodNumbers.has(t.number)).sort(byNumber) };
}

/** The TPE strategy over `space`. */
export function tpeSampler(space: SearchSpace, options: TpeOptions = {}): Sampler {
  const startupTrials = options.startupTrials ?? DEFAULT_STARTUP_TRIALS;
  const candidates = options.candidates ?? DEFAULT_CANDIDATES;
  const constantLiar = options.constantLiar ?? true;
  const families = familiesOfSpace(space);
  // The dimensions every family reads (with `family` itself) are sampled first, as one group.
  const common = space.dimensions.filter((d) => families.every((family) => activeDimensions(space, family).includes(d)));

  return {
    space,
    sample(request) {
      const finished = request.trials.filter((t) => t.state !== 'running' && t.score !== null && Number.isFinite(t.score));
      if (finished.length < startupTrials) return sampleAtRandom(space, request.random);
      const considered = constantLiar ? [...finished, ...request.trials.filter((t) => t.state === 'running')] : finished;
      const { good, rest } = splitTrials(considered, goodGroupSize(finished.length), request.direction);
      const sampled: SampledParams = sampleGroup(common, good, rest, candidates, request.random);
      const conditional = activeDimensions(space, familyOf(space, sampled)).filter((d) => !common.includes(d));
      return conditional.length === 0 ? sampled : { ...sampled, ...sampleGroup(conditional, good, rest, candidates, request.random) };
    },
  };
}

/** The candidate drawn from l(x) with the largest log l(x) − log g(x), over one group of dimensions. */
function sampleGroup(
  dimensions: readonly Dimension[],
  good: readonly FrozenTrial[],
  rest: readonly FrozenTrial[],
  candidates: number,
  random: Uniform,
): SampledParams {
  if (dimensions.length === 0) return {};
  const observed = (trials: readonly FrozenTrial[]) =>
    trials.filter((t) => dimensions.every((d) => t.params[d.name] !== undefined)).map((t) => t.params);
  const l = new ParzenEstimator(dimensions, observed(good));
  const g = new ParzenEstimator(dimensions, observed(rest));
  let best: SampledParams = {};
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const candidate of l.sample(candidates, random)) {
    const score = l.logPdf(candidate) - g.logPdf(candidate);
    if (score > bestScore || bestScore === Number.NEGATIVE_INFINITY) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
