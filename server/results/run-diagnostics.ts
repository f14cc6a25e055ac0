/**
 * The numbers behind the run page's charts of a run's predictions: ROC and precision–recall curves
 * of each fold's out-of-fold predictions on a common grid with the folds' band, a reliability
 * diagram, the counts a threshold slider moves over, a multiclass confusion matrix and a sample of
 * regression points. Pure: stored predictions in, JSON-ready numbers out.
 *
 * Every cut of the scores and every confusion matrix comes from the worker's own definitions
 * (worker/training/threshold.ts `thresholdCandidates`, metrics.ts `confusionAt`, `decisionMetrics`):
 * a row is positive when p > threshold, exactly as the frozen threshold and `predict` decide.
 */
import type { Confusion } from '../../worker/contract/protocol.js';
import type { ThresholdSpec } from '../../worker/contract/spec.js';
import { averagePrecision, confusionAt, decisionMetrics, rocAuc } from '../../worker/training/metrics.js';
import { chooseThreshold, thresholdCandidates } from '../../worker/training/threshold.js';

/** Held-out rows: binary targets 0/1 with probabilities of the positive class, class indices, or actual values. */
export type Labelled = { readonly targets: ArrayLike<number>; readonly predictions: ArrayLike<number> };

/** The common x grids: FPR (ROC) and recall (PR) 0, 0.01, …, 1. */
export const CURVE_GRID: readonly number[] = Array.from({ length: 101 }, (_, i) => i / 100);
/** Equal-width bins of the predicted probability in the reliability diagram. */
export const CALIBRATION_BINS = 10;
/** Thresholds the slider moves over: at most this many cuts of the pooled scores (their quantiles), and the operating one. */
export const SLIDER_THRESHOLDS = 300;
/** Points of a predicted-vs-actual scatter, at most. */
export const SCATTER_POINTS = 2000;

type Cut = ReturnType<typeof thresholdCandidates>[number];

/** y on the grid, one value per grid point; null where no fold has a curve. */
export type GridCurve = readonly (number | null)[];

/** One kind of curve (ROC or PR) of every fold on the same grid, their band, and the test split's. */
export type CurveSet = {
  readonly grid: readonly number[];
  /** Each fold's curve, in fold order; null for a fold with one class only (no curve exists). */
  readonly folds: readonly (readonly number[] | null)[];
  /** Each fold's area, exact from its own rows: ROC AUC, or average precision for PR. */
  readonly areas: readonly (number | null)[];
  /** Over the folds that have a curve, at each grid point. */
  readonly mean: GridCurve;
  readonly min: GridCurve;
  readonly max: GridCurve;
  readonly test: readonly number[] | null;
  readonly testArea: number | null;
};

/** Where a threshold puts some rows: its confusion matrix and the curves' coordinates. */
export type OperatingPoint = {
  readonly confusion: Confusion;
  readonly fpr: number;
  readonly tpr: number;
  readonly precision: number;
  readonly recall: number;
};

export type CalibrationBin = {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean predicted probability of the bin's rows, and the share of them that are positive; null when it is empty. */
  readonly meanPredicted: number | null;
  readonly observedRate: number | null;
};

/** A slider stop: a threshold, its counts, and its precision, recall and F1 (decisionMetrics). */
export type ThresholdRow = Confusion & {
  readonly threshold: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
};

/** The cuts of rows that have both classes and finite scores, none-positive first; null otherwise (no curve exists). */
function cutsOf(rows: Labelled): Cut[] | null {
  let positives = 0;
  for (let i = 0; i < rows.targets.length; i++) {
    if (!Number.isFinite(rows.predictions[i])) return null;
    if (rows.targets[i] === 1) positives++;
  }
  if (positives === 0 || positives === rows.targets.length) return null;
  return thresholdCandidates(rows.targets, rows.predictions);
}

/**
 * y at each grid x of a piecewise-linear curve through points with non-decreasing x and y: between
 * two points linearly; where the curve rises vertically at a grid x, the highest y reached there.
 */
function onGrid(xs: readonly number[], ys: readonly number[], grid: readonly number[]): number[] {
  let i = 0;
  return grid.map((x) => {
    while (i + 1 < xs.length && xs[i + 1]! <= x) i++;
    if (xs[i] === x || i + 1 === xs.length) return ys[i]!;
    return ys[i]! + ((ys[i + 1]! - ys[i]!) * (x - xs[i]!)) / (xs[i + 1]! - xs[i]!);
  });
}

/** TPR at each FPR of the grid (the ROC curve joins the cuts' points, tied scores by a diagonal). */
export function rocOnGrid(rows: Labelled, grid: readonly number[] = CURVE_GRID): number[] | null {
  const cuts = cutsOf(rows);
  if (cuts === null) return null;
  const { tp: positives, fp: negatives } = cuts.at(-1)!.confusion;
  return onGrid(
    cuts.map((cut) => cut.confusion.fp / negatives),
    cuts.map((cut) => cut.confusion.tp / positives),
    grid,
  );
}

/**
 * Precision at each recall of the grid, as a step: that of the first cut (from the highest
 * threshold down) whose recall reaches it. Its area is the average precision (metrics.ts), not the
 * optimistic trapezoid.
 */
export function precisionOnGrid(rows: Labelled, grid: readonly number[] = CURVE_GRID): number[] | null {
  const cuts = cutsOf(rows)?.filter((cut) => cut.confusion.tp + cut.confusion.fp > 0);
  if (!cuts) return null;
  const metrics = cuts.map((cut) => decisionMetrics(cut.confusion));
  let k = 0;
  return grid.map((recall) => {
    while (k + 1 < cuts.length && metrics[k]!.recall < recall) k++;
    return metrics[k]!.precision;
  });
}

/** Mean, min and max at each grid point over the curves that exist. */
function band(curves: readonly (readonly number[] | null)[], length: number): Pick<CurveSet, 'mean' | 'min' | 'max'> {
  const present = curves.filter((curve): curve is readonly number[] => curve !== null);
  const at = (reduce: (values: number[]) => number) =>
    Array.from({ length }, (_, i) => (present.length === 0 ? null : reduce(present.map((curve) => curve[i]!))));
  return {
    mean: at((values) => values.reduce((sum, v) => sum + v, 0) / values.length),
    min: at((values) => Math.min(...values)),
    max: at((values) => Math.max(...values)),
  };
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function curveSet(
  folds: readonly Labelled[],
  test: Labelled | null,
  curve: (rows: Labelled, grid: readonly number[]) => number[] | null,
  area: (rows: Labelled) => number,
  grid: readonly number[],
): CurveSet {
  const foldCurves = folds.map((fold) => curve(fold, grid));
  const areaOf = (rows: Labelled, drawn: unknown) => (drawn === null ? null : finiteOrNull(area(rows)));
  const testCurve = test === null ? null : curve(test, grid);
  return {
    grid,
    folds: foldCurves,
    areas: folds.map((fold, i) => areaOf(fold, foldCurves[i])),
    ...band(foldCurves, grid.length),
    test: testCurve,
    testArea: test === null ? null : areaOf(test, testCurve),
  };
}

/** The ROC curves of the folds (TPR over a common FPR grid) with their band, and the test split's. */
export function rocCurves(folds: readonly Labelled[], test: Labelled | null, grid = CURVE_GRID): CurveSet {
  return curveSet(folds, test, rocOnGrid, (rows) => rocAuc(rows.targets, rows.predictions), grid);
}

/** The precision–recall curves of the folds (precision over a common recall grid) with their band, and the test split's. */
export function prCurves(folds: readonly Labelled[], test: Labelled | null, grid = CURVE_GRID): CurveSet {
  return curveSet(folds, test, precisionOnGrid, (rows) => averagePrecision(rows.targets, rows.predictions), grid);
}

/** Where `threshold` puts the rows (p > threshold is positive). */
export function operatingPoint(rows: Labelled, threshold: number): OperatingPoint {
  const confusion = confusionAt(rows.targets, rows.predictions, threshold);
  const { precision, recall } = decisionMetrics(confusion);
  const negatives = confusion.fp + confusion.tn;
  return { confusion, fpr: negatives === 0 ? 0 : confusion.fp / negatives, tpr: recall, precision, recall };
}

/**
 * The reliability diagram's bins: `bins` equal widths of [0, 1] (a probability of 1 in the last),
 * with each bin's count, mean predicted probability and observed positive rate. Non-finite
 * probabilities are left out.
 */
export function calibrationBins(rows: Labelled, bins = CALIBRATION_BINS): CalibrationBin[] {
  const count = new Array<number>(bins).fill(0);
  const sum = new Array<number>(bins).fill(0);
  const positives = new Array<number>(bins).fill(0);
  for (let i = 0; i < rows.targets.length; i++) {
    const p = rows.predictions[i]!;
    if (!Number.isFinite(p)) continue;
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[bin]!++;
    sum[bin]! += p;
    if (rows.targets[i] === 1) positives[bin]!++;
  }
  return count.map((n, bin) => ({
    lower: bin / bins,
    upper: (bin + 1) / bins,
    count: n,
    meanPredicted: n === 0 ? null : sum[bin]! / n,
    observedRate: n === 0 ? null : positives[bin]! / n,
  }));
}

function thresholdRow(threshold: number, confusion: Confusion): ThresholdRow {
  const { precision, recall, f1 } = decisionMetrics(confusion);
  return { threshold, ...confusion, precision, recall, f1 };
}

/**
 * The slider's stops over the pooled out-of-fold predictions, lowest threshold first: at most
 * `limit` of the distinct cuts of the scores, evenly spaced in rank (from every row positive to
 * none), plus `operating` itself; `start` is the operating threshold's stop. Null when the rows
 * lack a class or a finite score (no cut exists).
 */
export function thresholdStops(
  pooled: Labelled,
  operating: number,
  limit = SLIDER_THRESHOLDS,
): { readonly rows: readonly ThresholdRow[]; readonly start: number } | null {
  const cuts = cutsOf(pooled);
  if (cuts === null) return null;
  const picked =
    cuts.length <= limit ? cuts : Array.from({ length: limit }, (_, i) => cuts[Math.round((i * (cuts.length - 1)) / (limit - 1))]!);
  const rows = picked.map((cut) => thresholdRow(cut.threshold, cut.confusion));
  if (!rows.some((row) => row.threshold === operating))
    rows.push(thresholdRow(operating, confusionAt(pooled.targets, pooled.predictions, operating)));
  rows.sort((a, b) => a.threshold - b.threshold);
  return { rows, start: rows.findIndex((row) => row.threshold === operating) };
}

/**
 * The threshold `objective` chooses on the pooled out-of-fold predictions, as a refit would
 * (threshold.ts), for a run not refitted yet; null when the rows lack a class or a finite score.
 */
export function thresholdFor(pooled: Labelled, objective: ThresholdSpec): number | null {
  return cutsOf(pooled) === null ? null : chooseThreshold(pooled.targets, pooled.predictions, objective).threshold;
}

/**
 * The confusion matrix of a multiclass model's most probable class (ties: the first, as
 * metrics.ts `multiclassAccuracy`): counts[actual][predicted].
 * @param rows targets are class indices; predictions n × nClasses, row-major.
 */
export function multiclassConfusion(rows: Labelled, nClasses: number): number[][] {
  const counts = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < rows.targets.length; i++) {
    let best = 0;
    for (let k = 1; k < nClasses; k++) if (rows.predictions[i * nClasses + k]! > rows.predictions[i * nClasses + best]!) best = k;
    const actual = rows.targets[i]!;
    if (Number.isInteger(actual) && actual >= 0 && actual < nClasses) counts[actual]![best]!++;
  }
  return counts;
}

/** Predicted against actual values for a scatter: every row, or `limit` of them evenly spaced in row order; `total` rows in all. */
export function scatterSample(
  rows: Labelled,
  limit = SCATTER_POINTS,
): { readonly actual: number[]; readonly predicted: number[]; readonly total: number } {
  const n = rows.targets.length;
  const take = Math.min(n, limit);
  const indices = Array.from({ length: take }, (_, i) => Math.floor((i * n) / take));
  return { actual: indices.map((i) => rows.targets[i]!), predicted: indices.map((i) => rows.predictions[i]!), total: n };
}

/** Rows of several folds as one set, in fold order (the pooled out-of-fold predictions). */
export function pooled(folds: readonly Labelled[]): { readonly targets: Float32Array; readonly predictions: Float32Array } {
  const join = (key: keyof Labelled) => Float32Array.from(folds.flatMap((fold) => Array.from(fold[key])));
  return { targets: join('targets'), predictions: join('predictions') };
}
