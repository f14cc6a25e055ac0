/**
 * The results of an experiment as one table: a row per search run with its hyperparameters, the
 * score and chosen epoch of every fold, mean, std, size and status, plus the refit models. The
 * one source of the CSV and JSON downloads (`foldwise show --format`, the `runs.csv`/`runs.json`
 * routes), so that both always say the same thing. Order, rank, the tied-with-best marks and the
 * chosen run come from the selection (server/selection/), which `foldwise show`, the leaderboard and
 * the refit use too.
 */
import { familiesOf, foldCountOf, repeatsOf, type ParamValue } from '../../worker/contract/spec.js';
import { metricKey, paramsReadBy, type Direction, type ParamName, type TaskKind } from '../../worker/contract/vocabulary.js';
import { searchedParamNames } from '../search/grid.js';
import { selectionOf, selectionSummary, type SelectionSummary } from '../selection/selection.js';
import { nestedEstimate, type NestedEstimate } from '../selection/nested-estimate.js';
import { cvVersusTest, type MetricComparison } from '../services/cv-versus-test.js';
import { type OperatingPoint, operatingPointOf } from './operating-point.js';
import type { Experiment, ExperimentStatus } from '../storage/experiment-store.js';
import type { Fold, Run, RunStatus } from '../storage/run-store.js';
import type { Storage } from '../storage/storage.js';

/** One fold of a run. Folds and epochs count from 1, as the pages show them. */
export type FoldResultRow = {
  readonly fold: number;
  readonly status: RunStatus;
  /** The selection metric on the fold's validation part at its chosen epoch. */
  readonly score: number | null;
  /** The epoch whose weights the fold kept (early stopping restores the best epoch; without it, the best-scoring one). */
  readonly bestEpoch: number | null;
  /** The last epoch the fold trained. */
  readonly stoppedEpoch: number | null;
};

export type ResultRow = {
  readonly runId: number;
  /** The run's number within the experiment (#N): what `--run` takes. */
  readonly number: number;
  /** 1 = best; null for runs that have not finished. */
  readonly rank: number | null;
  readonly status: RunStatus;
  /** The hyperparameters the run's model family reads (the others do not change its model). */
  readonly params: Readonly<Partial<Record<ParamName, ParamValue>>>;
  /** One entry per fold, in fold order, also for folds that have not finished. */
  readonly folds: readonly FoldResultRow[];
  readonly mean: number | null;
  /** Population std over folds (as scikit-learn's `std_test_score`); null for a holdout run, which has one split. */
  readonly std: number | null;
  /** Epochs a refit of this configuration trains: the median of the folds' best epochs. */
  readonly refitEpochs: number | null;
  /** Trainable parameters of the model. */
  readonly paramCount: number | null;
  /** Training time summed over folds. */
  readonly trainMs: number | null;
  readonly error: string | null;
  /** Two-sided p-value of the corrected resampled t-test against the best; null for the best and where no test is possible. */
  readonly pValue: number | null;
  /** pValue after Holm's adjustment across the configurations compared with the best: what `tied` is decided on. */
  readonly pAdjusted: number | null;
  /** Not significantly different from the best at selection.alpha (the best: true); null where no test is possible. */
  readonly tied: boolean | null;
  /** The run the selection rule chose. */
  readonly selected: boolean;
};

export type RefitResult = {
  /** The refit run that trained the model. */
  readonly refitRunId: number;
  readonly refitRunNumber: number;
  /** The search run whose configuration was refitted. */
  readonly sourceRunId: number | null;
  readonly sourceRunNumber: number | null;
  /** A refit of the configuration the selection rule chose: the model `predict` and `export` use by default. */
  readonly selected: boolean;
  readonly createdAt: number;
  /** Each test metric beside the cross-validation estimate of its source run. */
  readonly metrics: readonly MetricComparison[];
  /** Binary models: the frozen threshold, how it was chosen, its CV estimate, the test confusion matrix; null otherwise. */
  readonly operatingPoint: OperatingPoint | null;
};

export type ResultsTable = {
  readonly experimentId: number;
  readonly name: string;
  readonly task: TaskKind;
  readonly status: ExperimentStatus;
  readonly datasetKind: string;
  readonly validation: 'kfold' | 'holdout';
  /** Folds of each run: k·repeats for k-fold (fold r·k + f is fold f of repeat r), 1 for a holdout. */
  readonly nFolds: number;
  /** Times k-fold was repeated (1 for a holdout). */
  readonly repeats: number;
  readonly selectionMetric: string;
  readonly selectionDirection: Direction;
  /** The recorded name of the fold scores, e.g. `val_auc`. */
  readonly scoreKey: string;
  /** Hyperparameter columns: the searched ones first, then the others the experiment's families read. */
  readonly paramNames: readonly ParamName[];
  /** The rule, what it chose and what plain best would have chosen. */
  readonly selection: SelectionSummary;
  /** Finished runs best first (ranked), then the others in run order. */
  readonly runs: readonly ResultRow[];
  /** Refit models, newest first. */
  readonly refits: readonly RefitResult[];
  /** Nested CV (`validation.outer`): the outer estimate of the procedure and each outer fold's; null without it. */
  readonly nested: NestedEstimate | null;
};

/** Makes the results table of an experiment from its stored runs, folds and models. */
export function resultsTable(experiment: Experiment, stores: Pick<Storage, 'experiments' | 'runs' | 'models'>): ResultsTable {
  const { spec } = experiment;
  const runs = stores.runs.list(experiment.experimentId);
  const selection = selectionOf(experiment, stores.runs);
  const { ranked } = selection;
  const rankOf = new Map(ranked.map((run, index) => [run.runId, index + 1]));
  const ordered = [...ranked, ...runs.filter((run) => !rankOf.has(run.runId))];
  const searched = searchedParamNames(spec);
  const nFolds = foldCountOf(spec.validation);
  return {
    experimentId: experiment.experimentId,
    name: experiment.name,
    task: experiment.task,
    status: experiment.status,
    datasetKind: experiment.datasetKind,
    validation: spec.validation.kind,
    nFolds,
    repeats: repeatsOf(spec.validation),
    selectionMetric: experiment.selectionMetric,
    selectionDirection: experiment.selectionDirection,
    scoreKey: metricKey('val', experiment.selectionMetric),
    paramNames: [...searched, ...paramsReadBy(familiesOf(spec)).filter((name) => !searched.includes(name))],
    selection: selectionSummary(selection),
    runs: ordered.map((run) => {
      const comparison = selection.comparisons.get(run.runId);
      return {
        ...resultRow(run, rankOf.get(run.runId) ?? null, stores.runs.folds(run.runId)),
        pValue: comparison?.pValue ?? null,
        pAdjusted: comparison?.adjustedP ?? null,
        tied: comparison?.tied ?? null,
        selected: run.runId === selection.selected?.runId,
      };
    }),
    refits: stores.models.ofExperiment(experiment.experimentId).map((model) => ({
      refitRunId: model.runId,
      refitRunNumber: stores.runs.get(model.runId).number,
      sourceRunId: model.sourceRunId,
      sourceRunNumber: model.sourceRunId === null ? null : stores.runs.get(model.sourceRunId).number,
      selected: model.sourceRunId !== null && model.sourceRunId === selection.selected?.runId,
      createdAt: model.createdAt,
      metrics: cvVersusTest(stores.runs, model),
      operatingPoint: model.decision ? operatingPointOf(model.decision) : null,
    })),
    nested: nestedEstimate(stores, experiment),
  };
}

/** Stored 0-based epoch → the 1-based number people read. */
const epochNumber = (epoch: number | null) => (epoch === null ? null : epoch + 1);

function resultRow(run: Run, rank: number | null, folds: readonly Fold[]): Omit<ResultRow, 'pValue' | 'pAdjusted' | 'tied' | 'selected'> {
  const byIndex = new Map(folds.map((fold) => [fold.foldIndex, fold]));
  return {
    runId: run.runId,
    number: run.number,
    rank,
    status: run.status,
    params: Object.fromEntries(paramsReadBy([run.params.family]).map((name) => [name, run.params[name]])),
    folds: Array.from({ length: run.nFolds }, (_, index) => {
      const fold = byIndex.get(index);
      return {
        fold: index + 1,
        status: fold?.status ?? 'queued',
        score: fold?.score ?? null,
        bestEpoch: epochNumber(fold?.bestEpoch ?? null),
        stoppedEpoch: epochNumber(fold?.stoppedEpoch ?? null),
      };
    }),
    mean: run.scoreMean,
    std: run.nFolds > 1 ? run.scoreStd : null,
    refitEpochs: run.refitEpochs,
    paramCount: run.paramCount,
    trainMs: run.trainMs,
    error: run.error,
  };
}
