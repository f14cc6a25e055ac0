/**
 * The paired comparison of two configurations over the same folds, and the adjustment for
 * comparing many configurations with one. Only the correction of Nadeau & Bengio (2003) and
 * Holm's step-down are written here; the t distribution comes from jstat.
 */
import jStat from 'jstat';

export type PairedTest = {
  /** Folds whose differences the test used. */
  readonly folds: number;
  /** Mean of the per-fold differences. */
  readonly meanDifference: number;
  readonly t: number;
  /** Degrees of freedom: folds − 1. */
  readonly df: number;
  /** Two-sided p-value. */
  readonly pValue: number;
};

/**
 * The corrected resampled t-test (Nadeau & Bengio, 2003, "Inference for the generalization
 * error"). The folds of k-fold cross-validation share most of their training rows, so their
 * differences are not independent and the plain paired t-test, with variance σ²/n, finds
 * differences that are not there. The correction inflates the variance to (1/n + n_test/n_train)·σ²,
 * where n_test/n_train is the ratio of one split's validation rows to its training rows
 * (1/(k−1) for k-fold). t = mean / √((1/n + ratio)·σ²) with n − 1 degrees of freedom, σ² the
 * sample variance of the differences.
 *
 * Returns null with fewer than two differences: one split (a holdout) admits no test. Differences
 * that are all equal have no variance: p is 1 when they are zero and 0 otherwise.
 */
export function correctedResampledTTest(differences: readonly number[], testTrainRatio: number): PairedTest | null {
  const n = differences.length;
  if (n < 2) return null;
  const mean = differences.reduce((sum, d) => sum + d, 0) / n;
  const variance = differences.reduce((sum, d) => sum + (d - mean) ** 2, 0) / (n - 1);
  const standardError = Math.sqrt((1 / n + testTrainRatio) * variance);
  const df = n - 1;
  if (standardError === 0) {
    return { folds: n, meanDifference: mean, t: mean === 0 ? 0 : Math.sign(mean) * Infinity, df, pValue: mean === 0 ? 1 : 0 };
  }
  const t = mean / standardError;
  // 2·F(−|t|) rather than 2·(1 − F(|t|)): no cancellation for small p.
  return { folds: n, meanDifference: mean, t, df, pValue: Math.min(1, 2 * jStat.studentt.cdf(-Math.abs(t), df)) };
}

/**
 * Holm's step-down adjustment (Holm, 1979): the i-th smallest of m p-values is multiplied by
 * m − i + 1, and each adjusted value is at least the one before it (capped at 1). Rejecting where
 * the adjusted p ≤ α controls the chance of any false rejection at α, without assuming the tests
 * independent (they are not: each compares with the same best). Returned in the input's order.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, index) => ({ p, index })).sort((a, b) => a.p - b.p || a.index - b.index);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, index }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[index] = running;
  });
  return adjusted;
}
