/**
 * The Parzen estimator of multivariate TPE (Optuna's `_ParzenEstimator` with `multivariate=True`,
 * after Watanabe 2023, "Tree-structured Parzen Estimator: Understanding Its Algorithm
 * Components"): a mixture with one product kernel per observation plus a prior kernel. Numeric
 * dimensions get truncated Gaussians (in log space for a log range; over each value's bin for an
 * int or stepped range) with Scott's-rule bandwidth shrinking as n^(−1/(d+4)); categorical
 * dimensions get a kernel that puts extra mass on the observed choice. Older observations weigh
 * less once there are more than 25.
 */
import type { ParamValue } from '../../../worker/contract/spec.js';
import type { CategoricalDimension, Dimension, NumericDimension, SampledParams } from '../space.js';
import { snap } from '../space.js';
import type { Uniform } from '../sampler.js';
import { logNormalDensity, normalMass, sampleTruncatedNormal } from './normal.js';

const SIGMA0_MAGNITUDE = 0.2;
const PRIOR_WEIGHT = 1;
/** log of the smallest mass a kernel gives a value: keeps a far-away bin from being −Infinity. */
const LOG_FLOOR = Math.log(Number.MIN_VALUE);

/** Optuna's default_weights: flat below 25 observations, then a ramp from 1/n for the oldest to 1 for the 25 newest. */
export function observationWeights(n: number): number[] {
  if (n < 25) return Array.from({ length: n }, () => 1);
  const ramp = n - 25;
  return [...Array.from({ length: ramp }, (_, i) => (ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1))), ...Array(25).fill(1)];
}

/** A numeric dimension's transform: log for a log range. */
const toInternal = (dimension: NumericDimension, value: number) => (dimension.log ? Math.log(value) : value);

/** The internal interval a numeric dimension's values may take: its bounds widened by half a step when it has one. */
function internalBounds(dimension: NumericDimension): [number, number] {
  const half = dimension.step === null ? 0 : dimension.step / 2;
  return [toInternal(dimension, dimension.low - half), toInternal(dimension, dimension.high + half)];
}

type NumericKernels = {
  readonly kind: 'numeric';
  readonly dimension: NumericDimension;
  readonly mus: readonly number[];
  readonly sigmas: readonly number[];
  /** log of each kernel's mass inside the bounds (its truncation's normaliser). */
  readonly logMasses: readonly number[];
  readonly low: number;
  readonly high: number;
};
type CategoricalKernels = {
  readonly kind: 'categorical';
  readonly dimension: CategoricalDimension;
  readonly probabilities: readonly (readonly number[])[];
};
type Kernels = NumericKernels | CategoricalKernels;

function numericKernels(dimension: NumericDimension, observed: readonly number[], nDimensions: number): NumericKernels {
  const [low, high] = internalBounds(dimension);
  const range = high - low;
  const n = observed.length;
  // Scott's rule for the multivariate kernel, clipped by Optuna's "magic clip" so no kernel collapses.
  const sigma = SIGMA0_MAGNITUDE * Math.max(n, 1) ** (-1 / (nDimensions + 4)) * range;
  const minSigma = range / Math.min(100, 1 + (n + 1));
  const clipped = Math.min(range, Math.max(minSigma, sigma));
  const mus = [...observed.map((value) => toInternal(dimension, value)), low + range / 2];
  const sigmas = [...observed.map(() => clipped), range];
  const logMasses = mus.map((mu, k) => Math.log(normalMass((low - mu) / sigmas[k]!, (high - mu) / sigmas[k]!)));
  return { kind: 'numeric', dimension, mus, sigmas, logMasses, low, high };
}

function categoricalKernels(dimension: CategoricalDimension, observed: readonly ParamValue[]): CategoricalKernels {
  const nChoices = dimension.choices.length;
  const nKernels = observed.length + 1;
  const rows = [...observed.map((value) => dimension.choices.indexOf(value)), -1].map((index) => {
    const row = Array<number>(nChoices).fill(PRIOR_WEIGHT / nKernels);
    if (index >= 0) row[index]! += 1;
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((w) => w / total);
  });
  return { kind: 'categorical', dimension, probabilities: rows };
}

/** log Σ exp(values), stable. */
function logSumExp(values: readonly number[]): number {
  const max = Math.max(...values);
  if (!Number.isFinite(max)) return max;
  return max + Math.log(values.reduce((sum, v) => sum + Math.exp(v - max), 0));
}

/** A mixture of product kernels over some dimensions, fitted to observations (each a trial's sampled values). */
export class ParzenEstimator {
  readonly #kernels: readonly Kernels[];
  readonly #logWeights: readonly number[];
  readonly #weights: readonly number[];

  /** `observations` in trial order (the weights favour the newest); each must hold a value for every dimension. */
  constructor(dimensions: readonly Dimension[], observations: readonly SampledParams[]) {
    this.#kernels = dimensions.map((dimension) => {
      const observed = observations.map((trial) => trial[dimension.name]!);
      return dimension.kind === 'categorical'
        ? categoricalKernels(dimension, observed)
        : numericKernels(dimension, observed as number[], dimensions.length);
    });
    const raw = observations.length === 0 ? [1] : [...observationWeights(observations.length), PRIOR_WEIGHT];
    const total = raw.reduce((a, b) => a + b, 0);
    this.#weights = raw.map((w) => w / total);
    this.#logWeights = this.#weights.map(Math.log);
  }

  /** `count` draws: a kernel by weight, then each dimension from that kernel. */
  sample(count: number, random: Uniform): SampledParams[] {
    return Array.from({ length: count }, () => {
      const k = this.#pickKernel(random());
      return Object.fromEntries(this.#kernels.map((kernels) => [kernels.dimension.name, drawFrom(kernels, k, random)]));
    });
  }

  /** log density (mass, for a discrete dimension) of a configuration under the mixture. */
  logPdf(values: SampledParams): number {
    const perKernel = this.#logWeights.map((logWeight, k) =>
      this.#kernels.reduce((sum, kernels) => sum + logDensity(kernels, k, values[kernels.dimension.name]!), logWeight),
    );
    return logSumExp(perKernel);
  }

  #pickKernel(u: number): number {
    let cumulative = 0;
    for (let k = 0; k < this.#weights.length; k++) {
      cumulative += this.#weights[k]!;
      if (u < cumulative) return k;
    }
    return this.#weights.length - 1;
  }
}

function drawFrom(kernels: Kernels, k: number, random: Uniform): ParamValue {
  if (kernels.kind === 'categorical') {
    const row = kernels.probabilities[k]!;
    const u = random();
    let cumulative = 0;
    for (let i = 0; i < row.length; i++) {
      cumulative += row[i]!;
      if (u < cumulative) return kernels.dimension.choices[i]!;
    }
    return kernels.dimension.choices.at(-1)!;
  }
  const mu = kernels.mus[k]!;
  const sigma = kernels.sigmas[k]!;
  const z = sampleTruncatedNormal((kernels.low - mu) / sigma, (kernels.high - mu) / sigma, random);
  const internal = mu + z * sigma;
  return snap(kernels.dimension, kernels.dimension.log ? Math.exp(internal) : internal);
}

function logDensity(kernels: Kernels, k: number, value: ParamValue): number {
  if (kernels.kind === 'categorical') return Math.log(kernels.probabilities[k]![kernels.dimension.choices.indexOf(value)]!);
  const { dimension } = kernels;
  const mu = kernels.mus[k]!;
  const sigma = kernels.sigmas[k]!;
  const x = value as number;
  if (dimension.step === null) {
    return logNormalDensity((toInternal(dimension, x) - mu) / sigma) - Math.log(sigma) - kernels.logMasses[k]!;
  }
  // A discrete value owns the bin of half a step on each side.
  const lower = Math.max(kernels.low, toInternal(dimension, x - dimension.step / 2));
  const upper = Math.min(kernels.high, toInternal(dimension, x + dimension.step / 2));
  const mass = normalMass((lower - mu) / sigma, (upper - mu) / sigma);
  return Math.max(LOG_FLOOR, Math.log(mass)) - kernels.logMasses[k]!;
}
