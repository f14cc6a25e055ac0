/**
 * Fitted preprocessing. The standardiser is fitted on the training rows of a split ONLY and
 * then applied to its validation (or test) rows, so no statistic of held-out data leaks into
 * training (DESIGN.md, training rules).
 */

/** Per-feature mean and standard deviation (population, as scikit-learn's StandardScaler). */
export type Standardizer = { readonly mean: readonly number[]; readonly std: readonly number[] };

/**
 * Fits a standardiser on the given rows only. A constant feature gets std 1, so it becomes 0
 * rather than NaN.
 * @param x row-major, nFeatures per row.
 * @throws {RangeError} when `rows` is empty.
 */
export function fitStandardizer(x: Float32Array, nFeatures: number, rows: Int32Array): Standardizer {
  if (rows.length === 0) throw new RangeError('cannot fit a standardizer on zero rows');
  // Accumulate in float64: float32 sums of 10⁴ rows lose digits.
  const sum = new Float64Array(nFeatures);
  for (const row of rows) {
    for (let f = 0; f < nFeatures; f++) sum[f]! += x[row * nFeatures + f]!;
  }
  const mean = Array.from(sum, (total) => total / rows.length);
  // Two passes (mean, then squared deviations) avoid the cancellation of E[x²] − E[x]².
  const squares = new Float64Array(nFeatures);
  for (const row of rows) {
    for (let f = 0; f < nFeatures; f++) squares[f]! += (x[row * nFeatures + f]! - mean[f]!) ** 2;
  }
  const std = Array.from(squares, (total) => {
    const sd = Math.sqrt(total / rows.length);
    return sd > 0 ? sd : 1;
  });
  return { mean, std };
}

/** The given rows, standardised, as a new contiguous rows.length × nFeatures array. */
export function gatherStandardized(x: Float32Array, nFeatures: number, rows: Int32Array, s: Standardizer): Float32Array {
  if (s.mean.length !== nFeatures || s.std.length !== nFeatures) {
    throw new RangeError(`standardizer has ${s.mean.length} features, data has ${nFeatures}`);
  }
  const out = new Float32Array(rows.length * nFeatures);
  rows.forEach((row, i) => {
    for (let f = 0; f < nFeatures; f++) out[i * nFeatures + f] = (x[row * nFeatures + f]! - s.mean[f]!) / s.std[f]!;
  });
  return out;
}

/** Standardises a contiguous row-major matrix (nFeatures per row) in place; returns it. */
export function standardizeInPlace(x: Float32Array, nFeatures: number, s: Standardizer): Float32Array {
  if (s.mean.length !== nFeatures || s.std.length !== nFeatures) {
    throw new RangeError(`standardizer has ${s.mean.length} features, data has ${nFeatures}`);
  }
  for (let i = 0; i < x.length; i++) {
    const f = i % nFeatures;
    x[i] = (x[i]! - s.mean[f]!) / s.std[f]!;
  }
  return x;
}

/** The given rows' values (e.g. targets), as a new array. */
export function gather(y: Float32Array, rows: Int32Array): Float32Array {
  // A loop, not Float32Array.from with a mapping function (far slower): trainers gather every epoch's labels.
  const out = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = y[rows[i]!]!;
  return out;
}
