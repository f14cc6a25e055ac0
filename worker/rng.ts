/**
 * Seeded randomness for data generation and splits. Everything random in the data layer goes
 * through here so that the same seed gives the same data and splits in every worker process.
 */
import seedrandom from 'seedrandom';

/** A deterministic random source. */
export type Rng = {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal, N(0, 1). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
};

/**
 * A random source fully determined by `seed`. Uses seedrandom's Alea generator: fast (the fraud
 * generator draws ~10⁶ numbers) and statistically sound for this purpose.
 */
export function createRng(seed: number): Rng {
  const uniform = seedrandom.alea(String(seed));
  // Box–Muller yields normals in pairs; keep the second for the next call.
  let spareNormal: number | null = null;
  return {
    next: () => uniform(),
    normal() {
      if (spareNormal !== null) {
        const value = spareNormal;
        spareNormal = null;
        return value;
      }
      const u = 1 - uniform(); // (0, 1]: keeps log() finite
      const radius = Math.sqrt(-2 * Math.log(u));
      const angle = 2 * Math.PI * uniform();
      spareNormal = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
    int: (n: number) => Math.floor(uniform() * n),
  };
}

/**
 * A seed for one purpose (test split, folds, a generator…) derived from the experiment seed, so
 * that those streams are independent of each other and of how many numbers each one draws.
 */
export function deriveSeed(seed: number, purpose: string): number {
  // FNV-1a over "seed/purpose": tiny, stable across platforms and Node versions.
  let hash = 0x811c9dc5;
  for (const char of `${seed}/${purpose}`) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The row indices 0 … n − 1 in a Fisher–Yates order (an epoch's order). Filled by a loop:
 * `Int32Array.from` with a mapping function is many times slower, and trainers call this every epoch.
 */
export function shuffledRows(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  shuffleInPlace(order, rng);
  return order;
}

/** Fisher–Yates shuffle, in place. */
export function shuffleInPlace(array: Int32Array | number[], rng: Rng): void {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const held = array[i]!;
    array[i] = array[j]!;
    array[j] = held;
  }
}
