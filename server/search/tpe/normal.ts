/**
 * The standard normal distribution as TPE's truncated Gaussian kernels need it: the CDF (accurate
 * in both tails, so the mass of a narrow bin far from a kernel's centre stays above zero), its
 * inverse, and sampling from a truncation.
 */
import type { Uniform } from '../sampler.js';

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** erfc(x) for x ≥ 0: a power series of erf below 2, a continued fraction (modified Lentz) above; ~1e-14 relative. */
function erfcPositive(x: number): number {
  if (x < 2) {
    // erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / SQRT_PI) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/** Φ(z), the standard normal CDF. */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z === Number.POSITIVE_INFINITY) return 1;
  if (z === Number.NEGATIVE_INFINITY) return 0;
  return z < 0 ? 0.5 * erfcPositive(-z / SQRT2) : 1 - 0.5 * erfcPositive(z / SQRT2);
}

/** Φ(u) − Φ(l) for l ≤ u, computed in whichever tail keeps its digits. */
export function normalMass(l: number, u: number): number {
  if (l >= 0) return normalCdf(-l) - normalCdf(-u);
  if (u <= 0) return normalCdf(u) - normalCdf(l);
  return 1 - normalCdf(l) - normalCdf(-u);
}

/** log φ(z), the standard normal log density. */
export function logNormalDensity(z: number): number {
  return -0.5 * z * z - LOG_SQRT_2PI;
}

// Acklam's rational approximation of Φ⁻¹, refined by one Halley step.
const A = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

function polynomial(coefficients: readonly number[], x: number): number {
  return coefficients.reduce((sum, c) => sum * x + c, 0);
}

/** Φ⁻¹(p) for p in (0, 1); ±Infinity at 0 and 1. */
export function normalQuantile(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  let x: number;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = polynomial(C, q) / (polynomial(D, q) * q + 1);
  } else if (p <= 1 - P_LOW) {
    const q = p - 0.5;
    const r = q * q;
    x = (polynomial(A, r) * q) / (polynomial(B, r) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -polynomial(C, q) / (polynomial(D, q) * q + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** A draw of N(0, 1) truncated to [a, b] (a < b), by inverting the CDF. */
export function sampleTruncatedNormal(a: number, b: number, random: Uniform): number {
  // In the upper tail the CDF's values crowd near 1; mirror to the lower tail where they keep their digits.
  if (a > 0) return -sampleTruncatedNormal(-b, -a, random);
  const low = normalCdf(a);
  const high = normalCdf(b);
  const z = normalQuantile(low + random() * (high - low));
  return Math.min(b, Math.max(a, z));
}
