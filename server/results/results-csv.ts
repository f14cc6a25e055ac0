/**
 * The results table as CSV, one row per search run, for a notebook or a spreadsheet: run (its
 * number in the experiment), rank, status, one column per hyperparameter, each fold's score, mean,
 * std, the p-value against the best and the tied and selected marks, each fold's best epoch,
 * refit epochs, parameter count, training time and error. Folds and epochs count from 1.
 */
import { stringify } from 'csv-stringify/sync';
import type { ResultRow, ResultsTable } from './results-table.js';

/** The header row: the score columns are named by the recorded metric, e.g. `fold_1_val_auc`, `val_auc_mean`. */
export function resultsCsvHeader(table: ResultsTable): string[] {
  const folds = Array.from({ length: table.nFolds }, (_, index) => index + 1);
  return [
    'run',
    'rank',
    'status',
    ...table.paramNames,
    ...folds.map((fold) => `fold_${fold}_${table.scoreKey}`),
    `${table.scoreKey}_mean`,
    `${table.scoreKey}_std`,
    'p_value_vs_best',
    'p_holm_vs_best',
    'tied_with_best',
    'selected',
    ...folds.map((fold) => `fold_${fold}_best_epoch`),
    'refit_epochs',
    'parameters',
    'train_ms',
    'error',
  ];
}

function csvRow(table: ResultsTable, row: ResultRow): unknown[] {
  const folds = Array.from({ length: table.nFolds }, (_, index) => row.folds[index]);
  return [
    row.number,
    row.rank,
    row.status,
    ...table.paramNames.map((name) => cellOf(row.params[name])),
    ...folds.map((fold) => fold?.score ?? null),
    row.mean,
    row.std,
    row.pValue,
    row.pAdjusted,
    row.tied,
    row.selected,
    ...folds.map((fold) => fold?.bestEpoch ?? null),
    row.refitEpochs,
    row.paramCount,
    row.trainMs,
    row.error,
  ];
}

/** A hyperparameter as a cell: scalars as they are, anything structured as JSON; empty when the run's family ignores it. */
function cellOf(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
}

/** The table as CSV text (RFC 4180 quoting; empty cells for missing values; numbers at full precision). */
export function resultsCsv(table: ResultsTable): string {
  return stringify([resultsCsvHeader(table), ...table.runs.map((row) => csvRow(table, row))], {
    cast: { boolean: (value) => String(value) },
  });
}
