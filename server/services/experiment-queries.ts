import { familiesOf, foldsLabel, type ExperimentSpec, type Params } from '../../worker/contract/spec.js';
import { metricKey, paramsReadBy, type Direction, type ParamName } from '../../worker/contract/vocabulary.js';
import { rankProvisional } from '../selection/provisional.js';
import {
  pairedComparison,
  selectConfiguration,
  selectionSummary,
  type RunComparison,
  type Selection,
  type SelectionSummary,
} from '../selection/selection.js';
import { leaderboardColumns, searchedParamNames } from '../search/grid.js';
import { NotFoundError } from '../errors.js';
import type { Experiment, ExperimentStatus, ExperimentSummary } from '../storage/experiment-store.js';
import type { Fold, Run, RunKind, RunStatus } from '../storage/run-store.js';
import type { DashboardDeps } from './deps.js';
import type { BackgroundWork } from './background-work.js';
import type { BackgroundRefit, BackgroundSearch } from './background-work-types.js';
import type { ModelFiles, ModelInfo } from './model-files.js';
import { neverLearnedFolds, type NeverLearned } from './fold-learning.js';
import {
  chartSample,
  leaderboardPage,
  STATUS_ORDER,
  WHOLE_LEADERBOARD,
  type LeaderboardQuery,
  type PageInfo,
  type SampleInfo,
} from './leaderboard-page.js';
import type { RunSnapshot, RunSnapshots } from './run-snapshots.js';
import { predictionViews, type PredictionViews } from './prediction-views.js';
import { experimentGlance, type ExperimentGlance } from './experiment-glance.js';
import { nestedEstimate } from '../selection/nested-estimate.js';

/** An experiment as the list and the page headers show it. */
export type ExperimentItem = {
  readonly experimentId: number;
  readonly name: string;
  readonly description: string | null;
  readonly datasetKind: string;
  /** e.g. "fraud · 20000 rows · 30 features" or "csv data.csv → target y". */
  readonly datasetLabel: string;
  readonly task: string;
  /** Binary tasks: the positive class the probabilities, precision and recall are about; null otherwise. */
  readonly positiveClass: string | null;
  readonly status: ExperimentStatus;
  readonly selectionMetric: string;
  readonly selectionDirection: Direction;
  readonly runsTotal: number;
  readonly runsFinished: number;
  readonly runsFailed: number;
  readonly bestScore: number | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** Search wall time so far (to now while it runs). */
  readonly durationMs: number | null;
  /** A search of it runs in this process now. */
  readonly searching: boolean;
  /** A TPE search warm-started from another experiment (`run --from`): its name, id (null once deleted), trials taken and left out. */
  readonly warmStart: {
    readonly from: string;
    readonly fromExperimentId: number | null;
    readonly trials: number;
    readonly outOfSpace: number;
  } | null;
};

/** One run in a leaderboard. Metrics "at the chosen epoch" are means over finished folds at each fold's best epoch. */
export type RunRow = {
  readonly runId: number;
  /** Its number within the experiment (#N): what the pages and the CLI show. */
  readonly number: number;
  readonly kind: RunKind;
  /** 1 = best; null for runs that have not finished. */
  readonly rank: number | null;
  readonly isBest: boolean;
  /** The configuration the selection rule chose (what a refit of "the best" trains). */
  readonly selected: boolean;
  /** Not significantly different from the best (see server/selection/); null where no test is possible. */
  readonly tied: boolean | null;
  /** The corrected resampled t-test against the best: raw and Holm-adjusted two-sided p-values. */
  readonly pValue: number | null;
  readonly pAdjusted: number | null;
  readonly params: Params;
  readonly status: RunStatus;
  readonly scoreMean: number | null;
  readonly scoreStd: number | null;
  /** Epochs a refit trains (median best epoch over folds, counted from 1). */
  readonly refitEpochs: number | null;
  readonly paramCount: number | null;
  /** Training time summed over folds. */
  readonly trainMs: number | null;
  readonly wallMs: number | null;
  readonly foldsDone: number;
  readonly nFolds: number;
  readonly backend: string | null;
  readonly error: string | null;
  readonly sourceRunId: number | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly trainLoss: number | null;
  readonly valLoss: number | null;
  readonly valScore: number | null;
  /**
   * An unfinished run with finished folds: its place among the unfinished runs by the mean over
   * those folds (selection/provisional.ts), shown apart from the finished runs' ranks; else null.
   */
  readonly provisional: {
    readonly rank: number;
    readonly scoreMean: number;
    readonly scoreStd: number | null;
    readonly foldsDone: number;
  } | null;
};

/** The metrics a leaderboard row reads from the curves (at each fold's chosen epoch): read for the rows a page shows only. */
type CurveMetrics = 'trainLoss' | 'valLoss' | 'valScore';

/** A leaderboard row without the metrics read from the curves: what the charts' sample sends. */
export type RankedRun = Omit<RunRow, CurveMetrics>;

export type Leaderboard = {
  readonly experimentId: number;
  /** The searched hyperparameters: one column each. */
  readonly columns: readonly ParamName[];
  readonly metric: string;
  readonly direction: Direction;
  /** Finished runs best first, then running, queued and the rest. */
  readonly runs: readonly RunRow[];
};

/** Some rows of a leaderboard (sorted, filtered, one page of them: leaderboard-page.ts), and where they sit. */
export type LeaderboardPage = Leaderboard & PageInfo;

/** The rows the experiment page's charts draw (leaderboard-page.ts chartSample), in the leaderboard's order. */
export type ChartSample = Omit<Leaderboard, 'runs'> & { readonly runs: readonly RankedRun[]; readonly sample: SampleInfo };

export type ExperimentDetail = ExperimentItem & {
  readonly specText: string;
  readonly validationLabel: string;
  readonly testFraction: number | null;
  readonly seed: number | null;
  /** Hyperparameters that are the same for every run and that its families read, with their values. */
  readonly fixedParams: readonly { readonly name: ParamName; readonly value: string }[];
  readonly columns: readonly ParamName[];
  readonly tasksDone: number;
  readonly tasksTotal: number;
  readonly best: RunRow | null;
  /** While no run has finished or beside the best: the leading unfinished run (provisional rank 1). */
  readonly leading: RunRow | null;
  /** The run the selection rule chose: rank 1 under `best`, maybe a simpler one under `one-standard-error`. */
  readonly selected: RunRow | null;
  readonly selection: SelectionSummary;
  /** How far to trust the result, at a glance: the tied group, the estimate against the test score, nested CV (experiment-glance.ts). */
  readonly glance: ExperimentGlance;
  readonly searchJob: BackgroundSearch | null;
  readonly refitJob: BackgroundRefit | null;
  readonly refitting: boolean;
  readonly models: readonly ModelInfo[];
  /** A search or refit of it started from this dashboard runs: Stop stops it. */
  readonly canStop: boolean;
  /** Interrupted, failed or never searched, and nobody searches it now: Resume searches again. */
  readonly canResume: boolean;
  /** Another process searches or refits it now (its lease): stop it there. */
  readonly owner: { readonly pid: number; readonly host: string; readonly purpose: string; readonly since: number } | null;
};

/** A fold as the run page shows it; `neverLearned` when its model stayed at chance while the others learned (fold-learning.ts). */
export type FoldDetail = Omit<Fold, 'runId'> & { readonly neverLearned: NeverLearned | null };

export type RunDetail = {
  readonly experiment: ExperimentItem;
  readonly columns: readonly ParamName[];
  readonly run: RunRow;
  /** The hyperparameters the run's family reads, in the spec's order; `searched` marks the grid's axes. */
  readonly paramList: readonly { readonly name: ParamName; readonly value: string; readonly searched: boolean }[];
  readonly folds: readonly FoldDetail[];
  readonly metricNames: readonly string[];
  /** The model a refit run saved. */
  readonly model: ModelInfo | null;
  /** Models refitted from this (search) run. */
  readonly refits: readonly ModelInfo[];
  /** A refit run's source: its number in the experiment. */
  readonly sourceRunNumber: number | null;
  readonly refitting: boolean;
};

/** The compared runs fold by fold against the best-ranked of them (the reference). */
export type FoldComparison = {
  readonly referenceRunId: number;
  /** One row per fold, one cell per run (in the compared order): its score, and its difference from the reference's (run − reference). */
  readonly folds: readonly {
    readonly fold: number;
    readonly cells: readonly { readonly value: number | null; readonly difference: number | null; readonly reference: boolean }[];
  }[];
  /** Per run: the two-sided p-value of the corrected resampled t-test of its differences (null for the reference, or with < 2 folds). */
  readonly tests: readonly { readonly reference: boolean; readonly pValue: number | null; readonly t: number | null }[];
  /** Why there is no test (a holdout), or null. */
  readonly testNote: string | null;
};

export type Comparison = {
  readonly experiment: ExperimentItem;
  readonly runs: readonly RunRow[];
  readonly foldComparison: FoldComparison | null;
  /** The hyperparameters the runs' families read, with one value per run; `differs` marks the rows worth looking at. */
  readonly params: readonly {
    readonly name: ParamName;
    readonly values: readonly string[];
    readonly differs: boolean;
    readonly searched: boolean;
  }[];
};

/** A metric's curve for one run: per fold by epoch, and the mean, min and max over folds at each epoch. */
export type MetricCurve = {
  readonly folds: readonly (readonly (number | null)[])[];
  readonly mean: readonly (number | null)[];
  readonly min: readonly (number | null)[];
  readonly max: readonly (number | null)[];
};

export type RunCurves = {
  readonly runId: number;
  readonly number: number;
  readonly nFolds: number;
  readonly metrics: Readonly<Record<string, MetricCurve>>;
};

function datasetLabel(spec: ExperimentSpec): string {
  const d = spec.dataset;
  switch (d.kind) {
    case 'fraud':
      return `fraud · ${d.rows} rows · ${d.features} features · ${Math.round(d.positiveRate * 1000) / 10}% positive`;
    case 'sine':
      return `sine · ${d.rows} rows · noise ${d.noise}`;
    case 'iris':
      return 'iris · 150 rows · 4 features';
    case 'csv':
      return `csv ${d.path.split('/').pop()} → target ${d.target}`;
    default: {
      // Datasets added later: their kind and their scalar settings, never a full path.
      const fields = Object.entries(d as Record<string, unknown>)
        .filter(([key, value]) => key !== 'kind' && (typeof value === 'number' || (typeof value === 'string' && key !== 'path')))
        .map(([key, value]) => `${key} ${String(value)}`);
      const path = (d as { path?: unknown }).path;
      return [(d as { kind: string }).kind, ...(typeof path === 'string' ? [path.split('/').pop()!] : []), ...fields].join(' · ');
    }
  }
}

function validationLabel(spec: ExperimentSpec): string {
  const v = spec.validation;
  const scheme =
    v.kind === 'kfold' ? `${v.stratified ? 'stratified ' : ''}CV, ${foldsLabel(v)}` : `holdout ${Math.round(v.fraction * 100)}%`;
  const es = v.earlyStopping;
  if (!es) return scheme;
  return `${scheme}, early stopping on ${es.monitor} (patience ${es.patience}${es.minDelta ? `, min Δ ${es.minDelta}` : ''})`;
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Read-side of the dashboard: experiments, leaderboards, runs and curves, shaped for pages and
 * the JSON API alike. Every `experimentId`/`runId` is checked; unknown ones throw NotFoundError.
 */
export class ExperimentQueries {
  readonly #deps: DashboardDeps;
  readonly #background: BackgroundWork;
  readonly #models: ModelFiles;
  readonly #snapshots: RunSnapshots;

  constructor(deps: DashboardDeps, background: BackgroundWork, models: ModelFiles, snapshots: RunSnapshots) {
    this.#deps = deps;
    this.#background = background;
    this.#models = models;
    this.#snapshots = snapshots;
  }

  #item(summary: ExperimentSummary, now = Date.now()): ExperimentItem {
    const durationMs =
      summary.startedAt === null ? null : (summary.status === 'running' ? now : (summary.finishedAt ?? now)) - summary.startedAt;
    return {
      experimentId: summary.experimentId,
      name: summary.name,
      description: summary.spec.description ?? null,
      datasetKind: summary.datasetKind,
      datasetLabel: datasetLabel(summary.spec),
      task: summary.task,
      positiveClass: summary.positiveClass,
      status: summary.status,
      selectionMetric: summary.selectionMetric,
      selectionDirection: summary.selectionDirection,
      runsTotal: summary.runsTotal,
      runsFinished: summary.runsFinished,
      runsFailed: summary.runsFailed,
      bestScore: summary.bestScore,
      createdAt: summary.createdAt,
      startedAt: summary.startedAt,
      finishedAt: summary.finishedAt,
      durationMs,
      searching: this.#background.isSearching(summary.experimentId),
      warmStart: this.#warmStartOf(summary),
    };
  }

  #warmStartOf({ warmStart }: Experiment): ExperimentItem['warmStart'] {
    if (warmStart === null) return null;
    const source = this.#deps.storage.experiments.findByName(warmStart.from);
    const fromExperimentId = source?.experimentId === warmStart.fromExperimentId ? source.experimentId : null;
    return { from: warmStart.from, fromExperimentId, trials: warmStart.trials.length, outOfSpace: warmStart.outOfSpace };
  }

  /** Every experiment, newest first. */
  list(): ExperimentItem[] {
    return this.#deps.storage.experiments.list().map((summary) => this.#item(summary));
  }

  /** @throws {NotFoundError} */
  #experiment(experimentId: number): { experiment: Experiment; spec: ExperimentSpec } {
    const experiment = this.#deps.storage.experiments.get(experimentId);
    return { experiment, spec: experiment.spec };
  }

  /** The list entry of one experiment. @throws {NotFoundError} */
  item(experimentId: number): ExperimentItem {
    const { experiment } = this.#experiment(experimentId);
    return this.#item(this.#summarise(experiment, this.#snapshots.of(experiment)));
  }

  #summarise(experiment: Experiment, snapshot: RunSnapshot): ExperimentSummary {
    const { runs } = snapshot;
    return {
      ...experiment,
      runsTotal: runs.length,
      runsFinished: runs.filter((run) => run.status === 'done' || run.status === 'failed' || run.status === 'pruned').length,
      runsFailed: runs.filter((run) => run.status === 'failed').length,
      bestScore: this.#selection(experiment, snapshot).ranked[0]?.scoreMean ?? null,
    };
  }

  /** The selection (ranking, chosen configuration, tests against the best), once per snapshot. */
  #selection(experiment: Experiment, snapshot: RunSnapshot): Selection {
    return snapshot.derive('selection', () => selectConfiguration(experiment, snapshot.runs, snapshot.foldScores));
  }

  /** Every search run as a leaderboard row, in the leaderboard's order, once per snapshot. */
  #ranked(experiment: Experiment, snapshot: RunSnapshot): readonly RankedRun[] {
    return snapshot.derive('rows', () => this.#rankedRows(experiment, snapshot));
  }

  #rankedRows(experiment: Experiment, snapshot: RunSnapshot): RankedRun[] {
    const { runs } = snapshot;
    const selection = this.#selection(experiment, snapshot);
    const { ranked } = selection;
    const rankOf = new Map(ranked.map((run, index) => [run.runId, index + 1]));
    // Unfinished runs with finished folds next, in their own (provisional) order.
    const unfinished = runs.some((run) => run.status === 'running' || run.status === 'queued' || run.status === 'interrupted');
    const provisional = unfinished ? rankProvisional(experiment, runs, snapshot.foldScores) : [];
    const provisionalOf = new Map(provisional.map((entry) => [entry.run.runId, entry]));
    const ordered = [
      ...ranked,
      ...provisional.map((entry) => entry.run),
      ...runs
        .filter((run) => !rankOf.has(run.runId) && !provisionalOf.has(run.runId))
        .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.runId - b.runId),
    ];
    return ordered.map((run) => {
      const row = rankedRow(run, rankOf.get(run.runId) ?? null, {
        selected: run.runId === selection.selected?.runId,
        comparison: selection.comparisons.get(run.runId),
      });
      const entry = provisionalOf.get(run.runId);
      return entry
        ? { ...row, provisional: { rank: entry.rank, scoreMean: entry.scoreMean, scoreStd: entry.scoreStd, foldsDone: entry.foldsDone } }
        : row;
    });
  }

  /** Rows with their metrics at the chosen epoch (means over finished folds), read for these rows only. */
  #withCurveMetrics(experiment: Experiment, rows: readonly RankedRun[]): RunRow[] {
    const valScoreName = metricKey('val', experiment.selectionMetric);
    const names = [...new Set(['loss', metricKey('val', 'loss'), valScoreName])];
    const atBest = new Map<number, Record<string, number | null>>();
    const runIds = rows.map((row) => row.runId);
    for (const point of this.#deps.storage.metrics.atBestEpoch(runIds, names)) {
      const entry = atBest.get(point.runId) ?? {};
      entry[point.name] = point.mean;
      atBest.set(point.runId, entry);
    }
    return rows.map((row) => withCurveMetrics(row, atBest.get(row.runId), valScoreName));
  }

  #board(experiment: Experiment, rows: readonly RunRow[]): Leaderboard {
    return {
      experimentId: experiment.experimentId,
      columns: leaderboardColumns(experiment.spec),
      metric: experiment.selectionMetric,
      direction: experiment.selectionDirection,
      runs: rows,
    };
  }

  /** What a leaderboard's rows are sorted by: its searched columns, and which way its score is better. @throws {NotFoundError} */
  shape(experimentId: number): Pick<Leaderboard, 'columns' | 'direction'> {
    const { experiment, spec } = this.#experiment(experimentId);
    return { columns: leaderboardColumns(spec), direction: experiment.selectionDirection };
  }

  /** The leaderboard of an experiment's search runs, every row (see page for some). @throws {NotFoundError} */
  leaderboard(experimentId: number): Leaderboard {
    return this.page(experimentId, WHOLE_LEADERBOARD, null);
  }

  /**
   * Some rows of the leaderboard: sorted, filtered by status and by tag (`tagged`: the runs with
   * `query.tag`), one page of them. @throws {NotFoundError}
   */
  page(experimentId: number, query: LeaderboardQuery, tagged: ReadonlySet<number> | null): LeaderboardPage {
    const { experiment } = this.#experiment(experimentId);
    const { rows, info } = leaderboardPage(this.#ranked(experiment, this.#snapshots.of(experiment)), query, tagged);
    return { ...this.#board(experiment, this.#withCurveMetrics(experiment, rows)), ...info };
  }

  /** The rows the experiment page's charts draw: at most `size` finished runs (chartSample). @throws {NotFoundError} */
  chartSample(experimentId: number, size: number): ChartSample {
    const { experiment } = this.#experiment(experimentId);
    const { rows, info } = chartSample(this.#ranked(experiment, this.#snapshots.of(experiment)), size);
    return { ...this.#board(experiment, []), runs: rows, sample: info };
  }

  /** A search run's number (#N) in its experiment, or null when it is not one of its search runs. @throws {NotFoundError} */
  runNumber(experimentId: number, runId: number): number | null {
    const { experiment } = this.#experiment(experimentId);
    return this.#snapshots.of(experiment).runs.find((run) => run.runId === runId)?.number ?? null;
  }

  /** Everything the experiment page shows above and beside its leaderboard. @throws {NotFoundError} */
  detail(experimentId: number): ExperimentDetail {
    const { experiment, spec } = this.#experiment(experimentId);
    const snapshot = this.#snapshots.of(experiment);
    const { runs } = snapshot;
    const ranked = this.#ranked(experiment, snapshot);
    const item = this.#item(this.#summarise(experiment, snapshot));
    const finalStatuses: RunStatus[] = ['failed', 'pruned'];
    const tasksTotal = runs.reduce((sum, run) => sum + run.nFolds, 0);
    const tasksDone = runs.reduce((sum, run) => sum + (finalStatuses.includes(run.status) ? run.nFolds : run.foldsDone), 0);
    const searched = new Set(leaderboardColumns(spec));
    const fixed = ranked[0]?.params ?? null;
    // The rows the page shows apart, with their metrics at the chosen epoch.
    const shown = [
      ranked[0]?.rank === 1 ? ranked[0] : undefined,
      ranked.find((run) => run.provisional?.rank === 1),
      ranked.find((run) => run.selected),
    ];
    const filled = new Map(
      this.#withCurveMetrics(
        experiment,
        shown.filter((row): row is RankedRun => row !== undefined),
      ).map((row) => [row.runId, row]),
    );
    const [best, leading, selected] = shown.map((row) => (row === undefined ? null : filled.get(row.runId)!));
    return {
      ...item,
      specText: experiment.specText,
      validationLabel: validationLabel(spec),
      testFraction: spec.testSplit.fraction,
      seed: spec.seed,
      fixedParams: fixed
        ? paramsReadBy(familiesOf(spec))
            .filter((name) => !searched.has(name))
            .map((name) => ({ name, value: formatValue(fixed[name]) }))
        : [],
      columns: leaderboardColumns(spec),
      tasksDone,
      tasksTotal,
      best: best ?? null,
      leading: leading ?? null,
      selected: selected ?? null,
      selection: selectionSummary(this.#selection(experiment, snapshot)),
      glance: this.#glance(experiment, this.#selection(experiment, snapshot)),
      searchJob: this.#background.latestSearch(experimentId),
      refitJob: this.#background.latestRefit(experimentId),
      refitting: this.#background.isRefitting(experimentId),
      models: this.#models.ofExperiment(experimentId),
      ...this.#control(experiment, item.searching),
    };
  }

  #glance(experiment: Experiment, selection: Selection): ExperimentGlance {
    const { storage } = this.#deps;
    const models = storage.models.ofExperiment(experiment.experimentId);
    const nested = nestedEstimate(storage, experiment);
    return experimentGlance(experiment.selectionMetric, experiment.selectionDirection, selection, models, nested);
  }

  /** What Stop and Resume may do, and who else owns the experiment. */
  #control(experiment: Experiment, searching: boolean): Pick<ExperimentDetail, 'canStop' | 'canResume' | 'owner'> {
    const id = experiment.experimentId;
    const canStop = this.#background.canStop(id);
    const lease = this.#deps.storage.leases.holder(id);
    const owner =
      lease && !canStop && !searching ? { pid: lease.pid, host: lease.host, purpose: lease.purpose, since: lease.acquiredAt } : null;
    const stopped = experiment.status === 'interrupted' || experiment.status === 'failed' || experiment.status === 'queued';
    return { canStop, canResume: stopped && lease === null && !searching, owner };
  }

  /** A run with its folds. @throws {NotFoundError} also when the run is not in this experiment. */
  run(experimentId: number, runId: number): RunDetail {
    const { experiment, spec } = this.#experiment(experimentId);
    const run = this.#runOf(experimentId, runId);
    const snapshot = this.#snapshots.of(experiment);
    const ranked = run.kind === 'search' ? this.#ranked(experiment, snapshot).find((r) => r.runId === runId) : undefined;
    const [row] = this.#withCurveMetrics(experiment, [ranked ?? rankedRow(run, null)]) as [RunRow];
    const models = this.#models.ofExperiment(experimentId);
    const searched = new Set(searchedParamNames(spec));
    return {
      experiment: this.#item(this.#summarise(experiment, snapshot)),
      columns: leaderboardColumns(spec),
      run: row,
      paramList: paramsReadBy([row.params.family]).map((name) => ({
        name,
        value: formatValue(row.params[name]),
        searched: searched.has(name),
      })),
      folds: this.#folds(experiment, runId),
      metricNames: this.#deps.storage.metrics.namesOfRun(runId),
      model: models.find((model) => model.runId === runId) ?? null,
      refits: models.filter((model) => model.sourceRunId === runId),
      sourceRunNumber: run.sourceRunId === null ? null : this.#deps.storage.runs.get(run.sourceRunId).number,
      refitting: this.#background.isRefitting(experimentId),
    };
  }

  /** The run page's charts of the run's stored predictions (prediction-views.ts). @throws {NotFoundError} */
  predictions(experimentId: number, runId: number): PredictionViews {
    const { experiment } = this.#experiment(experimentId);
    return predictionViews(this.#deps.storage, experiment, this.#runOf(experimentId, runId));
  }

  #folds(experiment: Experiment, runId: number): FoldDetail[] {
    const folds = this.#deps.storage.runs.folds(runId);
    const flagged = neverLearnedFolds(experiment.task, folds);
    return folds.map(({ runId: _runId, ...fold }) => ({ ...fold, neverLearned: flagged.get(fold.foldIndex) ?? null }));
  }

  #runOf(experimentId: number, runId: number): Run {
    const run = this.#deps.storage.runs.get(runId);
    if (run.experimentId !== experimentId) throw new NotFoundError(`no run ${runId} in experiment ${experimentId}`);
    return run;
  }

  /** Runs side by side, in the order asked. @throws {NotFoundError} */
  compare(experimentId: number, runIds: readonly number[]): Comparison {
    const { experiment, spec } = this.#experiment(experimentId);
    const snapshot = this.#snapshots.of(experiment);
    for (const runId of runIds) this.#runOf(experimentId, runId);
    const byId = new Map(this.#ranked(experiment, snapshot).map((row) => [row.runId, row]));
    const found = runIds.map((runId) => byId.get(runId)).filter((row): row is RankedRun => row !== undefined);
    if (found.length !== runIds.length)
      throw new NotFoundError(`runs ${runIds.join(', ')} are not all search runs of experiment ${experimentId}`);
    const chosen = this.#withCurveMetrics(experiment, found);
    const searched = new Set(leaderboardColumns(spec));
    const foldComparison = this.#foldComparison(experiment, snapshot, chosen);
    const params = paramsReadBy(chosen.map((row) => row.params.family))
      .map((name) => {
        const values = chosen.map((row) => formatValue(row.params[name]));
        return { name, values, differs: new Set(values).size > 1, searched: searched.has(name) };
      })
      .sort((a, b) => Number(b.differs) - Number(a.differs) || Number(b.searched) - Number(a.searched));
    return { experiment: this.#item(this.#summarise(experiment, snapshot)), runs: chosen, params, foldComparison };
  }

  /** The chosen runs' fold scores side by side, against the best-ranked of them; null when none has finished. */
  #foldComparison(experiment: Experiment, snapshot: RunSnapshot, chosen: readonly RunRow[]): FoldComparison | null {
    const ranked = chosen.filter((row) => row.rank !== null).sort((a, b) => a.rank! - b.rank!);
    const reference = ranked[0];
    if (!reference) return null;
    const scores = snapshot.foldScores;
    const pairs = chosen.map((row) => pairedComparison(experiment.spec, scores.get(reference.runId), scores.get(row.runId)));
    const nFolds = Math.max(...chosen.map((row) => row.nFolds));
    return {
      referenceRunId: reference.runId,
      folds: Array.from({ length: nFolds }, (_, foldIndex) => ({
        fold: foldIndex + 1,
        cells: chosen.map((row, i) => ({
          value: scores.get(row.runId)?.get(foldIndex) ?? null,
          difference: pairs[i]!.folds.find((f) => f.foldIndex === foldIndex)?.difference ?? null,
          reference: row.runId === reference.runId,
        })),
      })),
      tests: chosen.map((row, i) => {
        const test = row.runId === reference.runId ? null : pairs[i]!.test;
        return { reference: row.runId === reference.runId, pValue: test?.pValue ?? null, t: test?.t ?? null };
      }),
      testNote: experiment.spec.validation.kind === 'holdout' ? 'a holdout has one split: no paired test is possible' : null,
    };
  }

  /**
   * Curves of some runs of an experiment: only these runs, only these metrics (all when
   * `names` is empty). @throws {NotFoundError} when a run is not in the experiment.
   */
  curves(experimentId: number, runIds: readonly number[], names: readonly string[] = []): RunCurves[] {
    this.#experiment(experimentId);
    const runs = [...new Set(runIds)].map((runId) => this.#runOf(experimentId, runId));
    const runById = new Map(runs.map((run) => [run.runId, run]));
    const points = this.#deps.storage.metrics.ofRuns([...runById.keys()], { names });
    const perRun = new Map<number, Map<string, (number | null)[][]>>();
    for (const run of runs) perRun.set(run.runId, new Map());
    for (const point of points) {
      const run = runById.get(point.runId)!;
      const byName = perRun.get(point.runId)!;
      let folds = byName.get(point.name);
      if (!folds) {
        folds = Array.from({ length: run.nFolds }, () => []);
        byName.set(point.name, folds);
      }
      const fold = folds[point.foldIndex] ?? (folds[point.foldIndex] = []);
      fold[point.epoch] = point.value;
    }
    return runs.map((run) => {
      const metrics: Record<string, MetricCurve> = {};
      for (const [name, folds] of perRun.get(run.runId)!) metrics[name] = aggregate(folds);
      return { runId: run.runId, number: run.number, nFolds: run.nFolds, metrics };
    });
  }
}

function rankedRow(
  run: Run,
  rank: number | null,
  selection: { readonly selected: boolean; readonly comparison: RunComparison | undefined } = { selected: false, comparison: undefined },
): RankedRun {
  return {
    runId: run.runId,
    number: run.number,
    kind: run.kind,
    rank,
    isBest: rank === 1,
    selected: selection.selected,
    tied: selection.comparison?.tied ?? null,
    pValue: selection.comparison?.pValue ?? null,
    pAdjusted: selection.comparison?.adjustedP ?? null,
    params: run.params,
    status: run.status,
    scoreMean: run.scoreMean,
    scoreStd: run.scoreStd,
    refitEpochs: run.refitEpochs,
    paramCount: run.paramCount,
    trainMs: run.trainMs,
    wallMs: run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null,
    foldsDone: run.foldsDone,
    nFolds: run.nFolds,
    backend: run.backend,
    error: run.error,
    sourceRunId: run.sourceRunId,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    provisional: null,
  };
}

function withCurveMetrics(row: RankedRun, atBest: Record<string, number | null> | undefined, valScoreName: string): RunRow {
  return {
    ...row,
    trainLoss: atBest?.loss ?? null,
    valLoss: atBest?.[metricKey('val', 'loss')] ?? null,
    valScore: atBest?.[valScoreName] ?? null,
  };
}

/** Mean, min and max over folds at each epoch, ignoring folds that have no finite value there. */
function aggregate(folds: (number | null)[][]): MetricCurve {
  const length = Math.max(0, ...folds.map((fold) => fold.length));
  const dense = folds.map((fold) => Array.from({ length: fold.length }, (_, epoch) => fold[epoch] ?? null));
  const mean: (number | null)[] = [];
  const min: (number | null)[] = [];
  const max: (number | null)[] = [];
  for (let epoch = 0; epoch < length; epoch++) {
    let sum = 0;
    let count = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const fold of dense) {
      const value = fold[epoch];
      if (value === null || value === undefined) continue;
      sum += value;
      count++;
      if (value < lo) lo = value;
      if (value > hi) hi = value;
    }
    mean.push(count > 0 ? sum / count : null);
    min.push(count > 0 ? lo : null);
    max.push(count > 0 ? hi : null);
  }
  return { folds: dense, mean, min, max };
}
