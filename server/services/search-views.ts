/**
 * What the experiment page's search views plot: the trials in order (optimisation history), each
 * searched hyperparameter's range (slice plots, log axes where the range is log) and the
 * hyperparameters' importance (PED-ANOVA, server/search/importance.ts). A grid gets its axes as
 * choices: the history and the importance read the same, the slices are left to the parallel
 * coordinates.
 */
import type { ParamValue } from '../../worker/contract/spec.js';
import type { SearchStrategy } from '../../worker/contract/search-spec.js';
import type { Direction, ParamName } from '../../worker/contract/vocabulary.js';
import { gridAxes } from '../search/grid.js';
import { BASELINE_QUANTILE, pedAnova, type Importance, type ImportanceDimension } from '../search/importance.js';
import { searchSpaceOf } from '../search/space.js';
import { trialRecords, type TrialState } from '../search/trials.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { Run } from '../storage/run-store.js';
import type { Storage } from '../storage/storage.js';
import type { RunSnapshots } from './run-snapshots.js';

export type SearchViewDimension = ImportanceDimension & { readonly name: ParamName };

export type SearchViewTrial = {
  readonly number: number;
  readonly runId: number;
  /** The run's #N on the pages. */
  readonly runNumber: number;
  readonly state: TrialState;
  /** The selection metric's mean over its folds (a pruned trial's: over those it trained); null while it runs or when it failed. */
  readonly score: number | null;
  /** The searched hyperparameters it has (a sampled trial: those its family reads). */
  readonly values: Readonly<Partial<Record<ParamName, ParamValue>>>;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
};

export type SearchViews = {
  readonly experimentId: number;
  readonly strategy: SearchStrategy;
  readonly metric: string;
  readonly direction: Direction;
  readonly dimensions: readonly SearchViewDimension[];
  readonly trials: readonly SearchViewTrial[];
  /** Over complete trials only (as Optuna's evaluators); null with fewer than three. */
  readonly importance: (Importance & { readonly method: 'ped-anova'; readonly baselineQuantile: number }) | null;
};

export class SearchViewService {
  readonly #storage: Pick<Storage, 'experiments'>;
  readonly #snapshots: RunSnapshots;

  constructor(storage: Pick<Storage, 'experiments'>, snapshots: RunSnapshots) {
    this.#storage = storage;
    this.#snapshots = snapshots;
  }

  /** How the experiment searches: what the page decides its views by. @throws {NotFoundError} */
  strategyOf(experimentId: number): SearchStrategy {
    return this.#storage.experiments.get(experimentId).spec.search?.strategy ?? 'grid';
  }

  /** Computed once per state of the experiment's runs (importance over 10,000 trials is not free). @throws {NotFoundError} */
  of(experimentId: number): SearchViews {
    const experiment = this.#storage.experiments.get(experimentId);
    const snapshot = this.#snapshots.of(experiment);
    return snapshot.derive('search-views', () => viewsOf(experiment, snapshot.runs));
  }
}

function viewsOf(experiment: Experiment, runs: readonly Run[]): SearchViews {
  const { experimentId, spec } = experiment;
  const strategy = spec.search?.strategy ?? 'grid';
  const numberOf = new Map(runs.map((run) => [run.runId, run.number]));
  let dimensions: SearchViewDimension[];
  let records: ReturnType<typeof trialRecords>;
  if (strategy === 'grid') {
    const axes = gridAxes(spec).filter(([, values]) => values.length > 1);
    dimensions = axes.map(([name, choices]) => ({ name, kind: 'categorical', choices }));
    records = trialRecords(
      runs,
      axes.map(([name]) => name),
    );
  } else {
    const space = searchSpaceOf(spec);
    dimensions = space.dimensions.map((d) =>
      d.kind === 'categorical'
        ? { name: d.name, kind: 'categorical', choices: d.choices }
        : { name: d.name, kind: d.kind, low: d.low, high: d.high, log: d.log, step: d.step },
    );
    records = trialRecords(runs, space);
  }
  const trials = records.map((record) => ({
    number: record.number,
    runId: record.runId,
    runNumber: numberOf.get(record.runId) ?? record.number,
    state: record.state,
    score: record.score !== null && Number.isFinite(record.score) ? record.score : null,
    values: record.sampled,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
  }));
  const complete = trials
    .filter((trial) => trial.state === 'complete' && trial.score !== null)
    .map((trial) => ({ values: trial.values, score: trial.score! }));
  const importance = pedAnova(dimensions, complete, experiment.selectionDirection);
  return {
    experimentId,
    strategy,
    metric: experiment.selectionMetric,
    direction: experiment.selectionDirection,
    dimensions,
    trials,
    importance: importance && { ...importance, method: 'ped-anova', baselineQuantile: BASELINE_QUANTILE },
  };
}
