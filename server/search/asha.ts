/**
 * Asynchronous successive halving (ASHA, Li et al. 2018) over per-epoch validation curves.
 * Rungs sit at epochs minEpochs·η^k (counted from 1). When a fold reaches a rung, its best score
 * so far is recorded there; it continues only if it ranks in the top 1/η of all scores recorded
 * at that rung for the same fold index. The first arrivals at a rung always continue (there is
 * nothing to compare with yet), which is ASHA's asynchronous trade-off.
 */
import { betterBy, type Direction } from '../../worker/contract/vocabulary.js';

export type AshaRule = { readonly minEpochs: number; readonly reductionFactor: number; readonly direction: Direction };

export class AshaPruner {
  readonly #rule: AshaRule;
  /** `${foldIndex}:${rungEpochs}` → scores recorded there. */
  readonly #rungs = new Map<string, number[]>();

  constructor(rule: AshaRule) {
    this.#rule = rule;
  }

  /** True when `epochCount` (1-based) is a rung. */
  isRung(epochCount: number): boolean {
    let rung = this.#rule.minEpochs;
    while (rung < epochCount) rung *= this.#rule.reductionFactor;
    return rung === epochCount;
  }

  /**
   * Records a fold's best score so far at the end of epoch `epoch` (0-based) and says whether it
   * should stop. Non-rung epochs and non-finite scores never stop a fold here.
   */
  report(foldIndex: number, epoch: number, bestSoFar: number | null): 'continue' | 'stop' {
    const epochCount = epoch + 1;
    if (!this.isRung(epochCount) || bestSoFar === null || !Number.isFinite(bestSoFar)) return 'continue';
    const key = `${foldIndex}:${epochCount}`;
    const scores = this.#rungs.get(key) ?? [];
    const verdict = rungVerdict(bestSoFar, scores, this.#rule);
    scores.push(bestSoFar);
    this.#rungs.set(key, scores);
    return verdict;
  }
}

/**
 * ASHA's rule at one rung: a score continues if it is in the top 1/η of itself and the scores
 * recorded there before it (ties with the threshold stay); with fewer than η scores, it continues.
 */
export function rungVerdict(score: number, earlier: readonly number[], rule: Omit<AshaRule, 'minEpochs'>): 'continue' | 'stop' {
  const scores = [...earlier, score];
  const keep = Math.floor(scores.length / rule.reductionFactor);
  if (keep === 0) return 'continue';
  // Best first.
  const threshold = scores.sort((a, b) => betterBy(rule.direction, b, a))[keep - 1]!;
  return betterBy(rule.direction, score, threshold) >= 0 ? 'continue' : 'stop';
}
