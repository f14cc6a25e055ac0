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
    scores.push(bestSoFar);
    this.#rungs.set(key, scores);
    const keep = Math.floor(scores.length / this.#rule.reductionFactor);
    if (keep === 0) return 'continue';
    // Best first; a score ties with the threshold stays in the top.
    const sorted = [...scores].sort((a, b) => betterBy(this.#rule.direction, b, a));
    const threshold = sorted[keep - 1]!;
    const inTop = betterBy(this.#rule.direction, bestSoFar, threshold) >= 0;
    return inTop ? 'continue' : 'stop';
  }
}
