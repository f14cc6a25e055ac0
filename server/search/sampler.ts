/**
 * The seam between a search and the strategy that proposes its configurations, after Optuna's
 * BaseSampler: a sampler sees frozen snapshots of the trials it may know about (finished ones
 * with their scores, and the ones still running, without) and returns the next configuration.
 * It keeps no state between calls and draws only from the random source it is given, so a
 * trial's configuration is a function of its inputs alone — what makes a search reproducible in
 * parallel and after a restart (server/search/trial-schedule.ts decides the inputs).
 */
import seedrandom from 'seedrandom';
import type { Direction } from '../../worker/contract/vocabulary.js';
import type { SampledParams, SearchSpace } from './space.js';

/** Uniform in [0, 1). */
export type Uniform = () => number;

/** A trial as a sampler sees it. `complete` and `pruned` trials have a score; `running` ones do not. */
export type FrozenTrial = {
  /** 1…N, the order trials were sampled in; a warm start's trials from another experiment come first, numbered up to 0. */
  readonly number: number;
  readonly state: 'complete' | 'pruned' | 'running';
  /** The values the trial sampled: only the hyperparameters its family reads. */
  readonly params: SampledParams;
  /**
   * The selection metric's mean over the trial's folds: all of them when complete, those it
   * trained (with the partial score of a fold stopped early) when pruned; null when running.
   */
  readonly score: number | null;
  /** How far a pruned trial got (epochs trained over the folds its score counts): pruned trials that went further rank first. */
  readonly progress: number;
};

export type SampleRequest = {
  /** The number of the trial being sampled. */
  readonly number: number;
  /** The trials it may know about, by number. */
  readonly trials: readonly FrozenTrial[];
  /** Which way the score is better. */
  readonly direction: Direction;
  /** The trial's own random source. */
  readonly random: Uniform;
};

export type Sampler = {
  readonly space: SearchSpace;
  /** The next configuration. Pure: the same request (and random source state) gives the same configuration. */
  sample(request: SampleRequest): SampledParams;
};

/**
 * The random source of trial `number`'s `attempt`-th draw (a draw is repeated when it repeats a
 * configuration already tried): derived from the experiment's seed alone, never from how many
 * numbers earlier trials drew.
 */
export function trialRandom(seed: number, number: number, attempt = 0): Uniform {
  return seedrandom.alea(`foldwise-trial/${seed}/${number}/${attempt}`);
}
