/**
 * Hyperparameter importance by PED-ANOVA (Watanabe et al. 2023, "PED-ANOVA: Efficiently
 * Quantifying Hyperparameter Importance in Arbitrary Subspaces"), as Optuna's
 * PedAnovaImportanceEvaluator computes it with its defaults (baseline quantile 0.1, evaluated on
 * the trials' own distribution, 50 grid steps, a prior of weight 1). For each hyperparameter, a
 * 1-D Parzen estimator of its values among the top trials and one among all trials; the importance
 * is the Pearson divergence between the two, ∑ p_all·(p_top/p_all − 1)², normalised to sum to 1:
 * a hyperparameter whose good values are spread like all its values does not matter.
 *
 * Why PED-ANOVA and not fANOVA over a random forest: it is closed-form arithmetic on 1-D
 * histograms (O(trials × hyperparameters × 50), no model to fit, nothing random, so the same
 * trials always give the same bars), it needs no dependency, it is meaningful from a dozen trials
 * where a forest of a dozen points is not, and it is what Optuna Dashboard shows. It does not
 * measure interactions (neither do fANOVA's main effects, which is what people read).
 */
import type { ParamValue } from '../../worker/contract/spec.js';
import type { Direction } from '../../worker/contract/vocabulary.js';
import type { Dimension } from './space.js';
import { normalMass } from './tpe/normal.js';

/** What PED-ANOVA reads of a dimension: a numeric range, or a list of choices. */
export type ImportanceDimension = Pick<Dimension, 'name'> &
  (
    | { readonly kind: 'float' | 'int'; readonly low: number; readonly high: number; readonly log: boolean; readonly step: number | null }
    | { readonly kind: 'categorical'; readonly choices: readonly ParamValue[] }
  );

/** A finished trial's values (a hyperparameter its family does not read is absent) and score. */
export type ScoredTrial = { readonly values: Readonly<Record<string, unknown>>; readonly score: number };

export type Importance = {
  /** Each dimension's share, summing to 1, largest first. */
  readonly values: readonly { readonly name: string; readonly importance: number }[];
  /** Trials read, and how many of them are "top" (the best baseline quantile, at least MIN_TOP). */
  readonly trials: number;
  readonly top: number;
};

const N_STEPS = 50;
export const BASELINE_QUANTILE = 0.1;
const MIN_TOP = 2;
const PRIOR_WEIGHT = 1;
const EPS = 1e-12;

/**
 * Importance of each dimension for reaching the top BASELINE_QUANTILE of `trials` (scores better
 * by `direction`); null with fewer than MIN_TOP + 1 trials. Each dimension is judged on the
 * trials that have a value for it (conditional spaces). Dimensions with one value get 0.
 */
export function pedAnova(
  dimensions: readonly ImportanceDimension[],
  trials: readonly ScoredTrial[],
  direction: Direction,
): Importance | null {
  const scored = trials.filter((trial) => Number.isFinite(trial.score));
  if (scored.length < MIN_TOP + 1 || dimensions.length === 0) return null;
  const top = topTrials(scored, direction);
  const raw = dimensions.map((dimension) => ({ name: dimension.name, divergence: divergenceOf(dimension, top, scored) }));
  const sum = raw.reduce((total, entry) => total + (entry.divergence ?? 0), 0);
  const varying = raw.filter((entry) => entry.divergence !== null).length;
  const values = raw
    .map(({ name, divergence }) => ({
      name,
      importance: divergence === null ? 0 : sum > 0 ? divergence / sum : 1 / varying,
    }))
    .sort((a, b) => b.importance - a.importance || a.name.localeCompare(b.name));
  return { values, trials: scored.length, top: top.length };
}

/**
 * The trials at or better than the baseline: losses (scores turned so lower is better) up to the
 * larger of the MIN_TOP-th smallest and the BASELINE_QUANTILE quantile (numpy's "higher" method).
 */
function topTrials(trials: readonly ScoredTrial[], direction: Direction): ScoredTrial[] {
  const loss = (trial: ScoredTrial) => (direction === 'maximize' ? -trial.score : trial.score);
  const sorted = trials.map(loss).sort((a, b) => a - b);
  const cutoff = Math.max(sorted[MIN_TOP - 1]!, sorted[Math.ceil(BASELINE_QUANTILE * (sorted.length - 1))]!);
  return trials.filter((trial) => loss(trial) <= cutoff);
}

/** The Pearson divergence of a dimension's top-trial density from its all-trial density; null for a single-valued dimension. */
function divergenceOf(dimension: ImportanceDimension, top: readonly ScoredTrial[], all: readonly ScoredTrial[]): number | null {
  const binOf = binning(dimension);
  if (binOf === null) return null;
  const counts = (trials: readonly ScoredTrial[]) => {
    const histogram = new Array<number>(binOf.bins).fill(0);
    for (const trial of trials) {
      const bin = binOf.index(trial.values[dimension.name]);
      if (bin !== null) histogram[bin]!++;
    }
    return histogram;
  };
  const density = dimension.kind === 'categorical' ? categoricalDensity : scottDensity;
  const pTop = density(counts(top));
  const pAll = density(counts(all));
  let divergence = 0;
  for (let k = 0; k < binOf.bins; k++) {
    const ratio = (pTop[k]! + EPS) / (pAll[k]! + EPS);
    divergence += (pAll[k]! + EPS) * (ratio - 1) ** 2;
  }
  return divergence;
}

type Binning = { readonly bins: number; readonly index: (value: unknown) => number | null };

/** Evenly spaced points, both ends included. */
const linspace = (low: number, high: number, n: number) => Array.from({ length: n }, (_, i) => low + ((high - low) * i) / (n - 1));

/**
 * How values fall into bins: a choice's index, or a range's nearest point on a grid of at most
 * N_STEPS points (in log space for log ranges; an int range's own values when there are few;
 * ⌈log₂(high − low + 1)⌉ points for a log int range), as Optuna discretises them.
 */
function binning(dimension: ImportanceDimension): Binning | null {
  if (dimension.kind === 'categorical') {
    const keys = dimension.choices.map((choice) => JSON.stringify(choice));
    if (keys.length < 2) return null;
    return { bins: keys.length, index: (value) => (value === undefined ? null : indexOrNull(keys.indexOf(JSON.stringify(value)))) };
  }
  const { low, high, log } = dimension;
  if (!(high > low)) return null;
  const transform = log ? Math.log : (v: number) => v;
  let points: number[];
  if (dimension.kind === 'int' && log)
    points = linspace(Math.log(low), Math.log(high), Math.max(2, Math.min(N_STEPS, Math.ceil(Math.log2(high - low + 1)))));
  else if (log) points = linspace(Math.log(low), Math.log(high), N_STEPS);
  else if (dimension.kind === 'int') {
    const step = dimension.step ?? 1;
    const count = Math.floor((high - low) / step) + 1;
    points = count <= N_STEPS ? Array.from({ length: count }, (_, i) => low + i * step) : linspace(low, high, N_STEPS);
  } else points = linspace(low, high, N_STEPS);
  if (points.length < 2) return null;
  const half = (points[1]! - points[0]!) / 2;
  return {
    bins: points.length,
    index: (value) => {
      if (typeof value !== 'number' || !Number.isFinite(value) || (log && value <= 0)) return null;
      const x = transform(value) - half;
      const found = points.findIndex((point) => point >= x);
      return found === -1 ? points.length - 1 : found;
    },
  };
}

const indexOrNull = (index: number) => (index === -1 ? null : index);

/**
 * The density over bins 0…n−1 of a mixture of discretised truncated Gaussians, one per occupied
 * bin (weighted by its count) with Scott's-rule bandwidth, plus a wide prior kernel (Optuna's
 * _ScottParzenEstimator).
 */
function scottDensity(counts: readonly number[]): number[] {
  const n = counts.length;
  const mus: number[] = [];
  const weights: number[] = [];
  counts.forEach((count, bin) => {
    if (count > 0) {
      mus.push(bin);
      weights.push(count);
    }
  });
  const total = weights.reduce((sum, w) => sum + w, 0);
  const sigmas: number[] = [];
  if (total > 0) {
    const mean = mus.reduce((sum, mu, i) => sum + mu * weights[i]!, 0) / total;
    const sd = Math.sqrt(mus.reduce((sum, mu, i) => sum + (mu - mean) ** 2 * weights[i]!, 0) / Math.max(1, total - 1));
    const cumulative: number[] = [];
    weights.reduce((sum, w) => (cumulative.push(sum + w), sum + w), 0);
    const q25 = cumulative.findIndex((c) => c >= Math.floor(total / 4));
    const q75 = cumulative.findIndex((c) => c > Math.floor((total * 3) / 4));
    const iqr = mus[q75 === -1 ? mus.length - 1 : q75]! - mus[q25]!;
    // 0.5 / 1.64: at least 90% of a kernel's mass falls in its own bin.
    const sigma = Math.max(1.059 * Math.min(iqr / 1.34, sd) * total ** -0.2, 0.5 / 1.64);
    for (let i = 0; i < mus.length; i++) sigmas.push(sigma);
  }
  mus.push((n - 1) / 2);
  sigmas.push(n);
  weights.push(PRIOR_WEIGHT);
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  const density = new Array<number>(n).fill(0);
  mus.forEach((mu, j) => {
    const sigma = sigmas[j]!;
    const z = (x: number) => (x - mu) / sigma;
    const normaliser = normalMass(z(-0.5), z(n - 0.5));
    for (let k = 0; k < n; k++) density[k]! += ((weights[j]! / weightSum) * normalMass(z(k - 0.5), z(k + 0.5))) / normaliser;
  });
  return density;
}

/**
 * The density over choices of a mixture of categorical kernels, one per observed choice (weighted
 * by its count, mass 1 on it plus the prior's share spread over all), plus a uniform prior kernel
 * (Optuna's Parzen estimator for a categorical distribution).
 */
function categoricalDensity(counts: readonly number[]): number[] {
  const m = counts.length;
  const observed = counts.map((count, choice) => ({ count, choice })).filter((entry) => entry.count > 0);
  const kernels = observed.length + 1;
  const spread = PRIOR_WEIGHT / kernels;
  const weightSum = observed.reduce((sum, entry) => sum + entry.count, 0) + PRIOR_WEIGHT;
  const density = new Array<number>(m).fill(PRIOR_WEIGHT / weightSum / m);
  for (const { count, choice } of observed) {
    const rowSum = spread * m + 1;
    for (let c = 0; c < m; c++) density[c]! += ((count / weightSum) * (spread + (c === choice ? 1 : 0))) / rowSum;
  }
  return density;
}
