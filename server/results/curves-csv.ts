/**
 * Every learning-curve point of an experiment's search runs in long format (run, fold, epoch,
 * metric, value), the shape pandas, R and spreadsheets pivot from; `run` is the run's number in
 * its experiment, as in the results CSV. Streamed run by run, so a 500-run experiment never sits
 * in memory as one string. Folds and epochs count from 1, as in the results CSV; a value that was
 * not finite is an empty cell.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { MetricStore } from '../storage/metric-store.js';
import type { RunStore } from '../storage/run-store.js';

export const CURVES_HEADER = ['run', 'fold', 'epoch', 'metric', 'value'] as const;

type CurveRow = readonly [run: number, fold: number, epoch: number, metric: string, value: number | null];

/** The points of every search run of the experiment, run by run, each ordered by fold, metric and epoch. */
export function* curveRows(
  stores: { readonly runs: Pick<RunStore, 'list'>; readonly metrics: Pick<MetricStore, 'ofRun'> },
  experimentId: number,
): Generator<CurveRow> {
  for (const run of stores.runs.list(experimentId)) {
    for (const point of stores.metrics.ofRun(run.runId)) yield [run.number, point.foldIndex + 1, point.epoch + 1, point.name, point.value];
  }
}

/** Writes the header and `rows` as CSV to `out` (ended when done); resolves when everything is flushed. */
export async function writeCurvesCsv(rows: Iterable<CurveRow>, out: Writable): Promise<void> {
  await pipeline(Readable.from(rows), stringify({ header: true, columns: [...CURVES_HEADER] }), out);
}
