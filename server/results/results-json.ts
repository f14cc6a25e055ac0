/**
 * The results as JSON with a documented, versioned shape (README, "Results out"): what
 * `foldwise show NAME --format json` prints and `GET /api/experiments/:id/runs.json` serves.
 * Fields are only ever added; a change of meaning bumps `version`.
 */
import type { Direction, TaskKind } from '../../worker/contract/vocabulary.js';
import type { ExperimentStatus, ExperimentSummary } from '../storage/experiment-store.js';
import type { SelectionSummary } from '../selection/selection.js';
import type { NestedEstimate } from '../selection/nested-estimate.js';
import type { RefitResult, ResultRow, ResultsTable } from './results-table.js';

export const RESULTS_FORMAT = 'foldwise-results';
export const RESULTS_VERSION = 1;

export type ResultsJson = {
  readonly format: typeof RESULTS_FORMAT;
  readonly version: typeof RESULTS_VERSION;
  readonly experiment: {
    readonly experimentId: number;
    readonly name: string;
    readonly task: TaskKind;
    readonly status: ExperimentStatus;
    readonly datasetKind: string;
    readonly validation: 'kfold' | 'holdout';
    /** Folds of each run: k·repeats for k-fold. */
    readonly folds: number;
    /** Times k-fold was repeated with another shuffle (1: plain k-fold, or a holdout). */
    readonly repeats: number;
  };
  /** The metric and, from the selection (SelectionSummary), the rule, the run it chose and what plain best would choose. */
  readonly selection: {
    readonly metric: string;
    readonly direction: Direction;
    /** The recorded name of the fold scores, e.g. `val_auc`. */
    readonly scoreKey: string;
    /** The rank-1 run, or null while no run has finished. */
    readonly bestRunId: number | null;
  } & Omit<SelectionSummary, 'bestRunId'>;
  /** Ranked runs best first, then the unfinished ones; folds and epochs count from 1. */
  readonly runs: readonly ResultRow[];
  /** Refit models, newest first, each test metric beside its cross-validation estimate. */
  readonly refits: readonly RefitResult[];
  /**
   * Nested CV (`validation.outer`): the outer estimate of the procedure (outerMean ± outerStd), the inner CV score of
   * what it chose (innerMean ± innerStd), their gap (optimism) and each outer fold's; null without nested CV.
   */
  readonly nested: NestedEstimate | null;
};

export function resultsJson(table: ResultsTable): ResultsJson {
  return {
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    experiment: {
      experimentId: table.experimentId,
      name: table.name,
      task: table.task,
      status: table.status,
      datasetKind: table.datasetKind,
      validation: table.validation,
      folds: table.nFolds,
      repeats: table.repeats,
    },
    selection: {
      metric: table.selectionMetric,
      direction: table.selectionDirection,
      scoreKey: table.scoreKey,
      ...table.selection,
    },
    runs: table.runs,
    refits: table.refits,
    nested: table.nested,
  };
}

/** One experiment as `foldwise list --json` prints it. */
export type ExperimentListEntry = Pick<
  ExperimentSummary,
  | 'experimentId'
  | 'name'
  | 'datasetKind'
  | 'task'
  | 'status'
  | 'selectionMetric'
  | 'selectionDirection'
  | 'runsTotal'
  | 'runsFinished'
  | 'runsFailed'
  | 'bestScore'
  | 'createdAt'
  | 'startedAt'
  | 'finishedAt'
>;

/** `foldwise list --json`: the experiments, newest first, without their specs. */
export function experimentListJson(summaries: readonly ExperimentSummary[]): { readonly experiments: ExperimentListEntry[] } {
  return {
    experiments: summaries.map((e) => ({
      experimentId: e.experimentId,
      name: e.name,
      datasetKind: e.datasetKind,
      task: e.task,
      status: e.status,
      selectionMetric: e.selectionMetric,
      selectionDirection: e.selectionDirection,
      runsTotal: e.runsTotal,
      runsFinished: e.runsFinished,
      runsFailed: e.runsFailed,
      bestScore: e.bestScore,
      createdAt: e.createdAt,
      startedAt: e.startedAt,
      finishedAt: e.finishedAt,
    })),
  };
}
