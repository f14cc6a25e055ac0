/**
 * Synthetic ratings with a known ground truth: the default recommendation experiment and the
 * tests run on it, because MovieLens data may not be shipped.
 *
 * Users have an age, a gender and an occupation; items have genres (1–3 of 8) and a year.
 * A rating is
 *
 *   r(u, i) = μ + f(x_u, x_i) + b_u + b_i + p_uᵀq_i + ε,   rounded to half stars in [0.5, 5],
 *
 * where f is a feature effect (taste of each gender and occupation for each genre, older users
 * preferring older films, main effects of age, genre and year; sd ≈ FEATURE_SD), b_u and b_i
 * are per-user and per-item effects, p_uᵀq_i a rank-LATENT_RANK interaction that no feature
 * explains, and ε ~ N(0, noise²). So side information matters (f), personalisation still
 * matters among users with equal features (b_u, p_u), and the two interact.
 *
 * How many items each user rates is skewed (log-normal, and a share of newcomers with 1–2
 * ratings) and which items they rate follows a long-tailed popularity, so every split has
 * users and items absent from its training part (cold-start rows). Everything is a function of
 * (spec, seed).
 */
import type { DatasetSpec } from '../contract/spec.js';
import type { SideTable, Table } from '../data/table.js';
import { createRng, deriveSeed, shuffleInPlace, type Rng } from '../rng.js';
import { ratingsTable } from './ratings-table.js';

type RatingsSpec = Extract<DatasetSpec, { kind: 'ratings' }>;

/** The truth behind a generated table, for tests and for reading results. */
export type RatingsTruth = {
  /** E[r | u, i] before noise and rounding, per row. */
  readonly expected: Float32Array;
  /** The feature effect f(x_u, x_i) per row. */
  readonly featureEffect: Float32Array;
  /** Standard deviation of ε. */
  readonly noise: number;
};

export const GLOBAL_MEAN = 3.5;
/** Standard deviations of the terms of a rating. */
export const FEATURE_SD = 0.7;
export const USER_EFFECT_SD = 0.3;
export const ITEM_EFFECT_SD = 0.3;
export const LATENT_SD = 0.4;
export const LATENT_RANK = 4;

export const GENRES = ['Action', 'Comedy', 'Drama', 'Romance', 'Thriller', 'SciFi', 'Animation', 'Documentary'] as const;
export const OCCUPATIONS = ['student', 'engineer', 'artist', 'educator', 'healthcare', 'retired', 'writer', 'other'] as const;
const OCCUPATION_SHARES = [0.22, 0.16, 0.1, 0.12, 0.1, 0.08, 0.07, 0.15];
/** Share of users who rate only 1 or 2 items. */
const NEWCOMER_SHARE = 0.1;

/** The `ratings` dataset. */
export function generateRatings(spec: RatingsSpec, seed: number): Table {
  return generateRatingsWithTruth(spec, seed).table;
}

export function generateRatingsWithTruth(spec: RatingsSpec, seed: number): { readonly table: Table; readonly truth: RatingsTruth } {
  const rng = createRng(deriveSeed(seed, 'ratings'));
  const nUsers = spec.users;
  const nItems = spec.items;
  const nGenres = GENRES.length;

  // Users: age 18–70, gender, occupation.
  const age = Float64Array.from({ length: nUsers }, () => 18 + rng.int(53));
  const gender = Array.from({ length: nUsers }, () => (rng.next() < 0.5 ? 'F' : 'M'));
  const occupation = Array.from({ length: nUsers }, () => pick(OCCUPATION_SHARES, rng));
  // Items: 1–3 genres, year 1960–2020.
  const genres = Array.from({ length: nItems }, () => {
    const count = 1 + rng.int(3);
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(rng.int(nGenres));
    return [...chosen].sort((a, b) => a - b);
  });
  const year = Float64Array.from({ length: nItems }, () => 1960 + rng.int(61));

  // Feature effect parameters.
  const genreMain = Array.from({ length: nGenres }, () => 0.3 * rng.normal());
  const genderTaste = [0, 1].map(() => Array.from({ length: nGenres }, () => 0.5 * rng.normal()));
  const occupationTaste = OCCUPATIONS.map(() => Array.from({ length: nGenres }, () => 0.6 * rng.normal()));
  const rawFeatureEffect = (u: number, i: number): number => {
    const az = (age[u]! - 44) / 15;
    const yz = (year[i]! - 1990) / 17.5;
    let taste = 0;
    for (const g of genres[i]!) taste += genreMain[g]! + genderTaste[gender[u] === 'F' ? 0 : 1]![g]! + occupationTaste[occupation[u]!]![g]!;
    taste /= Math.sqrt(genres[i]!.length);
    return taste - 0.45 * az * yz + 0.1 * az + 0.15 * yz;
  };

  // Personal effects: biases and a latent interaction, independent of the features.
  const userEffect = Float64Array.from({ length: nUsers }, () => USER_EFFECT_SD * rng.normal());
  const itemEffect = Float64Array.from({ length: nItems }, () => ITEM_EFFECT_SD * rng.normal());
  // sd(pᵀq) = s²·√rank for p, q ~ N(0, s²I).
  const s = Math.sqrt(LATENT_SD / Math.sqrt(LATENT_RANK));
  const p = Float64Array.from({ length: nUsers * LATENT_RANK }, () => s * rng.normal());
  const q = Float64Array.from({ length: nItems * LATENT_RANK }, () => s * rng.normal());

  // Who rates what: skewed counts, long-tailed item popularity.
  const popularity = Int32Array.from({ length: nItems }, (_, i) => i);
  shuffleInPlace(popularity, rng);
  const weight = new Float64Array(nItems);
  popularity.forEach((item, rank) => {
    weight[item] = 1 / (rank + 5) ** 1.05;
  });
  const cumulative = new Float64Array(nItems);
  weight.reduce((sum, w, i) => (cumulative[i] = sum + w), 0);
  const sigma = 0.8;
  const maxPerUser = Math.max(1, Math.floor(nItems / 2));
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    const newcomer = rng.next() < NEWCOMER_SHARE;
    const count = newcomer
      ? 1 + rng.int(2)
      : Math.min(maxPerUser, Math.max(1, Math.round(spec.ratingsPerUser * Math.exp(sigma * rng.normal() - (sigma * sigma) / 2))));
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(sampleCumulative(cumulative, rng));
    for (const i of chosen) {
      users.push(u);
      items.push(i);
    }
  }

  const n = users.length;
  const rawEffects = Float64Array.from({ length: n }, (_, r) => rawFeatureEffect(users[r]!, items[r]!));
  const mean = rawEffects.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(rawEffects.reduce((a, b) => a + (b - mean) ** 2, 0) / n) || 1;
  const featureEffect = Float32Array.from(rawEffects, (value) => (FEATURE_SD * (value - mean)) / sd);
  const expected = new Float32Array(n);
  const y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const u = users[r]!;
    const i = items[r]!;
    let dot = 0;
    for (let k = 0; k < LATENT_RANK; k++) dot += p[u * LATENT_RANK + k]! * q[i * LATENT_RANK + k]!;
    expected[r] = GLOBAL_MEAN + featureEffect[r]! + userEffect[u]! + itemEffect[i]! + dot;
    y[r] = Math.min(5, Math.max(0.5, Math.round(2 * (expected[r]! + spec.noise * rng.normal())) / 2));
  }

  const userTable: SideTable = {
    ids: Array.from({ length: nUsers }, (_, u) => String(u + 1)),
    columns: [
      { name: 'age', kind: 'numeric', values: age },
      { name: 'gender', kind: 'categorical', values: gender },
      { name: 'occupation', kind: 'categorical', values: occupation.map((o) => OCCUPATIONS[o]!) },
    ],
  };
  const itemTable: SideTable = {
    ids: Array.from({ length: nItems }, (_, i) => String(i + 1)),
    columns: [
      { name: 'genres', kind: 'multi', values: genres.map((list) => list.map((g) => GENRES[g]!)) },
      { name: 'year', kind: 'numeric', values: year },
    ],
  };
  const table = ratingsTable(
    y,
    {
      userIndex: Int32Array.from(users),
      itemIndex: Int32Array.from(items),
      users: userTable,
      items: itemTable,
      userColumn: 'user',
      itemColumn: 'item',
    },
    'the ratings dataset',
  );
  return { table, truth: { expected, featureEffect, noise: spec.noise } };
}

function pick(shares: readonly number[], rng: Rng): number {
  let u = rng.next() * shares.reduce((a, b) => a + b, 0);
  for (let k = 0; k < shares.length; k++) {
    u -= shares[k]!;
    if (u < 0) return k;
  }
  return shares.length - 1;
}

function sampleCumulative(cumulative: Float64Array, rng: Rng): number {
  const target = rng.next() * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
