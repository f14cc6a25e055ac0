/**
 * The trials of a random or tpe search, sampled as the search goes: trial n is sampled — and
 * recorded as a run, before any of it is dispatched — once trials 1…n − L have finished, from
 * their results and the configurations of trials n − L + 1…n − 1 (still running, as far as the
 * sampler knows), where L is the experiment's concurrentTrials. So the sequence of trials depends
 * on the spec, the seed and L alone, never on which task finishes first, and a search stopped
 * (even by kill -9) and run again continues the same sequence: recorded trials are trained, none
 * is sampled twice. A warm-started search (`--from`) also shows every trial the source trials
 * recorded with it, from trial 1 on, and samples none of their configurations again. It is also
 * the search's pruning (FoldPruning), comparing trial n only with
 * trials 1…n − L (server/search/trial-pruning.ts).
 */
import { canonicalParamsJson } from '../search/grid.js';
import { parseDuration } from '../../worker/contract/search-spec.js';
import { foldCountOf } from '../../worker/contract/spec.js';
import { isBetter, metricKey } from '../../worker/contract/vocabulary.js';
import type { Storage } from '../storage/storage.js';
import type { Experiment } from '../storage/experiment-store.js';
import type { PendingFold, Run } from '../storage/run-store.js';
import { AshaPruner } from '../search/asha.js';
import { ashaReason, foldCutReason, type FoldCut, type FoldPruning, type PruningRules } from '../search/pruning.js';
import { sampleAtRandom } from '../search/random-sampler.js';
import { trialRandom, type FrozenTrial, type Sampler } from '../search/sampler.js';
import { paramsOf, sampledOf, searchSpaceOf, type SearchSpace } from '../search/space.js';
import { samplerFor } from '../search/strategies.js';
import { trialFoldCut, trialRungVerdict } from '../search/trial-pruning.js';
import { finishedTrial, trialStateOf, trialsSeenBy, warmStartTrials, type FinishedTrial, type TrialRules } from '../search/trials.js';

/** Draws by the strategy, then at random, before a trial's space counts as exhausted (every draw repeated a configuration). */
const STRATEGY_DRAWS = 10;
const RANDOM_DRAWS = 100;

export class TrialScheduler implements FoldPruning {
  readonly stopEndsRun = false;
  /** Trials to sample in all (the spec's `search.trials`). */
  readonly trials: number;
  /** Trials in flight: L. */
  readonly lag: number;
  readonly #storage: Storage;
  readonly #experiment: Experiment;
  readonly #space: SearchSpace;
  readonly #sampler: Sampler;
  readonly #rules: TrialRules;
  readonly #pruningRules: PruningRules;
  readonly #deadline: number | null;
  readonly #now: () => number;
  readonly #byNumber = new Map<number, Run & { trialNumber: number }>();
  readonly #numberOfRun = new Map<number, number>();
  readonly #finished = new Map<number, FinishedTrial>();
  /** A warm start's trials from its source experiment, seen by every trial (none without --from). */
  readonly #prior: readonly FrozenTrial[];
  /** Their configurations, as this experiment would record them: not sampled again. */
  readonly #priorConfigurations: ReadonlySet<string>;
  #note: string | null = null;

  /**
   * `workers`: the runner's concurrency, L when neither the spec nor an earlier search of the
   * experiment fixed it (then it is recorded). The time budget counts from `startedAt`.
   */
  constructor(storage: Storage, experiment: Experiment, workers: number, startedAt: number, now: () => number = Date.now) {
    const { spec } = experiment;
    const search = spec.search!;
    this.#storage = storage;
    this.#experiment =
      experiment.concurrentTrials === null
        ? storage.experiments.setConcurrentTrials(experiment.experimentId, search.concurrentTrials ?? workers)
        : experiment;
    this.lag = search.concurrentTrials ?? this.#experiment.concurrentTrials!;
    this.trials = search.trials!;
    this.#space = searchSpaceOf(spec);
    this.#sampler = samplerFor(spec, this.#space);
    const warmStart = experiment.warmStart?.trials ?? [];
    this.#prior = warmStartTrials(warmStart, this.#space);
    this.#priorConfigurations = new Set(warmStart.map((trial) => canonicalParamsJson(trial.params)));
    const { asha, foldCut } = spec.pruning ?? {};
    const rungs = asha ? new AshaPruner({ ...asha, direction: experiment.selectionDirection }) : null;
    this.#rules = {
      nFolds: foldCountOf(spec.validation),
      foldCutMinFolds: foldCut?.minFolds ?? null,
      isRung: rungs ? (epochs) => rungs.isRung(epochs) : null,
    };
    this.#pruningRules = {
      pruning: spec.pruning,
      direction: experiment.selectionDirection,
      selectionKey: metricKey('val', experiment.selectionMetric),
    };
    const budget = search.timeBudget === undefined ? null : parseDuration(search.timeBudget);
    this.#deadline = budget === null ? null : startedAt + budget;
    this.#now = now;
    this.#refresh();
  }

  /** Why sampling stopped before `trials` (time budget, exhausted space), or null. */
  get note(): string | null {
    return this.#note;
  }

  /** Where a fold stands in the trial sequence: older trials first, so the trials others wait for finish first. */
  order(fold: Pick<PendingFold, 'runId' | 'foldIndex'>): number {
    return (this.#numberOfRun.get(fold.runId) ?? 0) * this.#rules.nFolds + fold.foldIndex;
  }

  /** Samples and records every trial that may be sampled now, and returns their folds to dispatch (none while it must wait). */
  sampleReady(): PendingFold[] {
    const folds: PendingFold[] = [];
    if (this.#note !== null) return folds;
    this.#refresh();
    for (;;) {
      const number = Math.max(0, ...this.#byNumber.keys()) + 1;
      if (number > this.trials) return folds;
      if (this.#deadline !== null && this.#now() >= this.#deadline) {
        this.#note = `time budget (${this.#experiment.spec.search!.timeBudget}) reached after ${number - 1} trials`;
        return folds;
      }
      const seen = trialsSeenBy(
        number,
        this.lag,
        (n) => this.#finished.get(n),
        (n) => sampledOf(this.#space, this.#byNumber.get(n)!.params),
      );
      if (seen === undefined) return folds;
      const run = this.#sampleTrial(number, [...this.#prior, ...seen]);
      if (run === null) {
        this.#note = `no configuration left to try after ${number - 1} trials (every draw repeated one)`;
        return folds;
      }
      this.#remember(run);
      for (let foldIndex = 0; foldIndex < this.#rules.nFolds; foldIndex++) {
        folds.push({ runId: run.runId, foldIndex, attempt: 0, params: run.params, kind: 'search' });
      }
    }
  }

  atEpoch(runId: number, foldIndex: number, epoch: number, bestSoFar: number): string | null {
    const asha = this.#experiment.spec.pruning?.asha;
    const number = this.#numberOfRun.get(runId);
    if (!asha || number === undefined) return null;
    const rule = { isRung: this.#rules.isRung!, reductionFactor: asha.reductionFactor, direction: this.#experiment.selectionDirection };
    const verdict = trialRungVerdict(number, this.lag, foldIndex, epoch, bestSoFar, (n) => this.#finished.get(n), rule);
    return verdict === 'stop' ? ashaReason(this.#pruningRules, foldIndex, epoch, bestSoFar) : null;
  }

  afterFold(runId: number): FoldCut | null {
    const foldCut = this.#experiment.spec.pruning?.foldCut;
    const number = this.#numberOfRun.get(runId);
    if (!foldCut || number === undefined) return null;
    const done = new Map(this.#storage.runs.folds(runId).flatMap((fold) => (fold.status === 'done' ? [[fold.foldIndex, fold.score]] : [])));
    const rule = { ...foldCut, direction: this.#experiment.selectionDirection };
    if (!trialFoldCut(number, this.lag, done, (n) => this.#finished.get(n), rule)) return null;
    const judged = Array.from({ length: foldCut.minFolds }, (_, i) => i);
    return { reason: foldCutReason(this.#pruningRules, judged), foldsCounted: foldCut.minFolds };
  }

  /** Trial `number`'s configuration: the strategy's draw, drawn again (then at random) while it repeats a recorded one. */
  #sampleTrial(number: number, seen: FrozenTrial[]): Run | null {
    const taken = new Set([...this.#priorConfigurations, ...[...this.#byNumber.values()].map((run) => run.paramsJson)]);
    const { experimentId, spec, selectionDirection: direction } = this.#experiment;
    for (let attempt = 0; attempt < STRATEGY_DRAWS + RANDOM_DRAWS; attempt++) {
      const random = trialRandom(spec.seed, number, attempt);
      const sampled =
        attempt < STRATEGY_DRAWS ? this.#sampler.sample({ number, trials: seen, direction, random }) : sampleAtRandom(this.#space, random);
      const paramsJson = canonicalParamsJson(paramsOf(this.#space, sampled));
      if (taken.has(paramsJson)) continue;
      const run = this.#storage.runs.createTrial(experimentId, number, paramsJson, this.#rules.nFolds);
      if (run !== null) return run;
    }
    return null;
  }

  #remember(run: Run): void {
    if (run.trialNumber === null) return;
    this.#byNumber.set(run.trialNumber, run as Run & { trialNumber: number });
    this.#numberOfRun.set(run.runId, run.trialNumber);
  }

  /**
   * Reads what changed: every trial the first time, then only those not yet finished (at most
   * about L). A trial seen finished for the first time has its facts read once; they no longer change.
   */
  #refresh(): void {
    const runs = this.#byNumber.size === 0 ? this.#storage.runs.list(this.#experiment.experimentId) : this.#unfinished();
    for (const run of runs) {
      this.#remember(run);
      if (run.trialNumber === null || trialStateOf(run.status) === 'running') continue;
      const folds = this.#storage.runs.folds(run.runId);
      const curve = this.#rules.isRung ? this.#storage.metrics.ofRuns([run.runId], { names: [this.#pruningRules.selectionKey] }) : [];
      const better = (a: number, b: number) => isBetter(this.#experiment.selectionDirection, a, b);
      this.#finished.set(
        run.trialNumber,
        finishedTrial(run as Run & { trialNumber: number }, folds, curve, this.#space, this.#rules, better),
      );
    }
  }

  #unfinished(): Run[] {
    return [...this.#byNumber.values()]
      .filter((run) => !this.#finished.has(run.trialNumber))
      .map((run) => this.#storage.runs.get(run.runId));
  }
}
