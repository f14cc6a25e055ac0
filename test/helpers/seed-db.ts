/**
 * Fills a database through the stores with a synthetic experiment: runs over a small grid,
 * per-fold learning curves that look like training (falling train loss, a U-shaped
 * validation loss, an AUC that rises then sags), fold results, and optionally a refit model
 * with files on disk. Everything is written in one transaction, so 500 runs × 5 folds × 50
 * epochs takes a few seconds. Deterministic for a given seed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateSpec, type ExperimentSpec, type Params } from '../../worker/contract/spec.js';
import { directionOf, isBetter, metricKey, scopedMetrics, TASK_METRICS, type Direction } from '../../worker/contract/vocabulary.js';
import { canonicalParamsJson, expandGrid } from '../../server/search/grid.js';
import { sampleAtRandom } from '../../server/search/random-sampler.js';
import { paramsOf, searchSpaceOf } from '../../server/search/space.js';
import type { Storage } from '../../server/storage/storage.js';
import type { ExperimentStatus } from '../../server/storage/experiment-store.js';
import { LEASE_HEARTBEAT_MS } from '../../server/storage/lease-store.js';

/**
 * Makes a seeded `running` experiment owned by this test process, as a real search's would be (an
 * unowned one reads as interrupted): its lease is renewed until the process exits.
 */
function holdLease(storage: Storage, experimentId: number): void {
  const taken = storage.leases.acquire(experimentId, 'search');
  if (!('lease' in taken)) throw new Error(`seed: experiment ${experimentId} is leased by pid ${taken.heldBy.pid}`);
  setInterval(() => {
    try {
      storage.leases.heartbeat(taken.lease);
    } catch {
      // The test closed its database: nothing left to own.
    }
  }, LEASE_HEARTBEAT_MS).unref();
}

export type SeedOptions = {
  /** Spec name (must satisfy the spec's name rule). @default 'seeded' */
  readonly name?: string;
  /** Name stored on the experiment row, bypassing the spec's rule (to test escaping). @default name */
  readonly rowName?: string;
  readonly description?: string;
  /** Search runs. @default 12 */
  readonly runs?: number;
  /** Folds per run (1 = holdout). @default 3 */
  readonly folds?: number;
  /** Epochs per fold. @default 10 */
  readonly epochs?: number;
  /** Stop folds early (patience 3 on val_auc) instead of training every epoch. @default false */
  readonly earlyStop?: boolean;
  /**
   * A random search over a `space` (learning rate and dropout as floats, width and depth as log and
   * plain ints) instead of a grid: `runs` distinct sampled trials, so the search views have ranges. @default false
   */
  readonly sampled?: boolean;
  /** Runs at the end of the grid left queued (not trained). @default 0 */
  readonly queued?: number;
  /** Runs (before the queued ones) that fail with an error text. @default 0 */
  readonly failed?: number;
  /** Experiment status written at the end. @default 'done', or 'running' when runs are queued */
  readonly status?: ExperimentStatus;
  /**
   * A `running` experiment is owned by this process (a live lease, as a search in progress has);
   * without it, it reads as `interrupted` (its owner is gone). @default false
   */
  readonly owned?: boolean;
  /** A CSV dataset with this target column (to test escaping); otherwise a fraud dataset. */
  readonly csvTarget?: string;
  /** When set, the best run is refitted and its model files written under `dataDir/models`. */
  readonly modelDataDir?: string;
  readonly seed?: number;
  readonly now?: number;
};

export type SeededExperiment = {
  readonly experimentId: number;
  /** Search run ids in grid order. */
  readonly runIds: readonly number[];
  readonly bestRunId: number | null;
  readonly refitRunId: number | null;
  readonly modelId: number | null;
};

/**
 * Metric keys the synthetic binary task records each epoch (as the real worker does): training
 * loss and accuracy, then the validation metrics.
 */
export const SEEDED_METRICS: readonly string[] = ['loss', 'accuracy', ...TASK_METRICS.binary.map((name) => metricKey('val', name))];

/** The metric that ranks the seeded runs and stops their folds early, and its direction. */
const SELECTION_METRIC = 'auc';
const SELECTION_DIRECTION = directionOf(SELECTION_METRIC);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FEATURES = 30;

/** Trainable parameters of an MLP with a constant width on FEATURES inputs and one output. */
export function mlpParamCount(params: Pick<Params, 'depth' | 'width'>): number {
  let count = 0;
  let inputs = FEATURES;
  for (let layer = 0; layer < params.depth; layer++) {
    count += inputs * params.width + params.width;
    inputs = params.width;
  }
  return count + inputs + 1;
}

const AXES = {
  depth: [1, 2, 3, 4, 5],
  width: [8, 16, 32, 64, 128],
  learningRate: [0.001, 0.003, 0.01, 0.03],
  dropout: [0, 0.1, 0.2, 0.3, 0.5],
} as const;

/** The sampled shape's space: the grid's axes as ranges. */
const SPACE = {
  depth: { int: [1, 5] },
  width: { int: [8, 128], log: true },
  learningRate: { float: [0.001, 0.03], log: true },
  dropout: { float: [0, 0.5] },
} as const;

/** `runs` distinct configurations drawn at random from the spec's space, in trial order. */
function sampledSettings(spec: ExperimentSpec, runs: number, random: () => number): Params[] {
  const space = searchSpaceOf(spec);
  const settings = new Map<string, Params>();
  while (settings.size < runs) {
    const params = paramsOf(space, sampleAtRandom(space, random));
    settings.set(canonicalParamsJson(params), params);
  }
  return [...settings.values()];
}

/** The smallest prefix of the axes (in this order) whose grid has at least `runs` settings. */
function gridFor(runs: number): Record<string, number[]> {
  const grid: Record<string, number[]> = {};
  let size = 1;
  for (const [name, values] of Object.entries(AXES)) {
    if (size >= runs) break;
    grid[name] = [...values];
    size *= values.length;
  }
  return grid;
}

/** Per-epoch values of the training metrics and of the validation metrics (bare names: `auc`, not `val_auc`). */
type Curves = {
  readonly train: { readonly loss: number[]; readonly accuracy: number[] };
  readonly val: { readonly loss: number[]; readonly accuracy: number[]; readonly auc: number[]; readonly pr_auc: number[] };
};

/** The validation metrics at one epoch, keyed as recorded (`val_auc`). */
function validationAt(curves: Curves, epoch: number): Record<string, number | null> {
  return scopedMetrics('val', Object.fromEntries(Object.entries(curves.val).map(([name, values]) => [name, values[epoch]!])));
}

function syntheticCurves(params: Params, paramCount: number, epochs: number, random: () => number): Curves {
  const capacity = Math.log10(paramCount); // ~1.5 … 5
  const speed = params.learningRate * 12 + 0.04;
  const floor = Math.max(0.02, 0.16 - capacity * 0.025);
  const overfit = Math.max(0, capacity - 2.6) * 0.0009 * (1 - params.dropout);
  const ceiling = 0.86 + 0.03 * Math.min(capacity, 3.4) - 0.04 * Math.abs(params.dropout - 0.2) - 6 * Math.abs(params.learningRate - 0.01);
  const curves: Curves = { train: { loss: [], accuracy: [] }, val: { loss: [], accuracy: [], auc: [], pr_auc: [] } };
  for (let epoch = 0; epoch < epochs; epoch++) {
    const noise = () => (random() - 0.5) * 0.01;
    const progress = 1 - Math.exp(-speed * (epoch + 1));
    const loss = floor + 0.55 * (1 - progress) + noise();
    const gap = overfit * epoch ** 1.4;
    const valLoss = loss + 0.02 + gap + noise();
    const auc = Math.min(0.999, 0.5 + (ceiling - 0.5) * progress - gap * 0.6 + noise());
    curves.train.loss.push(loss);
    curves.train.accuracy.push(Math.min(0.999, 0.97 - loss * 0.05 + noise() * 0.1));
    curves.val.loss.push(valLoss);
    curves.val.accuracy.push(Math.min(0.999, 0.965 - valLoss * 0.05 + noise() * 0.1));
    curves.val.auc.push(auc);
    curves.val.pr_auc.push(Math.max(0.01, auc - 0.45 + noise()));
  }
  return curves;
}

/** The epoch of the best value in `direction` (the first, on ties). */
function bestEpochOf(values: readonly number[], direction: Direction): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (isBetter(direction, values[i]!, values[best]!)) best = i;
  return best;
}

/** Seeds one experiment; see the module comment. */
export function seedExperiment(storage: Storage, options: SeedOptions = {}): SeededExperiment {
  const name = options.name ?? 'seeded';
  const runCount = options.runs ?? 12;
  const folds = options.folds ?? 3;
  const epochs = options.epochs ?? 10;
  const queued = options.queued ?? 0;
  const failed = options.failed ?? 0;
  const random = mulberry32(options.seed ?? 1);
  const now = options.now ?? Date.now();

  const spec = validateSpec({
    name,
    description: options.description,
    dataset:
      options.csvTarget === undefined
        ? { kind: 'fraud', rows: 5000, features: FEATURES }
        : { kind: 'csv', path: 'data.csv', target: options.csvTarget },
    task: 'binary',
    model: { epochs, batchSize: 128 },
    ...(options.sampled ? { search: { strategy: 'random', trials: runCount }, space: SPACE } : { grid: gridFor(runCount) }),
    validation:
      folds > 1
        ? { kind: 'kfold', k: folds, earlyStopping: { monitor: metricKey('val', SELECTION_METRIC), patience: 3 } }
        : { kind: 'holdout', earlyStopping: { monitor: metricKey('val', SELECTION_METRIC), patience: 3 } },
    selection: { metric: SELECTION_METRIC, direction: SELECTION_DIRECTION },
    seed: options.seed ?? 1,
    maxRuns: 100_000,
  });
  const settings = options.sampled ? sampledSettings(spec, runCount, random) : expandGrid(spec).slice(0, runCount);
  const specText = `# seeded by test/helpers/seed-db.ts\n${JSON.stringify(spec, null, 2)}\n`;

  return storage.batch((): SeededExperiment => {
    const { experiments, runs, metrics, models } = storage;
    const experiment = experiments.create(
      {
        name: options.rowName ?? name,
        specText,
        spec,
        specHash: createHash('sha256').update(specText).digest('hex'),
        datasetKind: spec.dataset.kind,
        task: 'binary',
        selectionMetric: SELECTION_METRIC,
        selectionDirection: SELECTION_DIRECTION,
      },
      now - 60_000,
    );
    const experimentId = experiment.experimentId;
    experiments.setStatus(experimentId, 'running', now - 55_000);
    runs.createSearchRuns(experimentId, settings.map(canonicalParamsJson), folds, now - 55_000);
    const runIds = runs.list(experimentId).map((run) => run.runId);

    const trained = runCount - queued;
    let bestRunId: number | null = null;
    let bestScore: number | null = null;
    settings.forEach((params, index) => {
      const runId = runIds[index]!;
      if (index >= trained) return;
      const paramCount = mlpParamCount(params);
      for (let foldIndex = 0; foldIndex < folds; foldIndex++) {
        runs.startFold(runId, foldIndex, 1, now - 50_000 + index * 10);
        const curves = syntheticCurves(params, paramCount, epochs, random);
        let stoppedEpoch = epochs - 1;
        const selected = curves.val[SELECTION_METRIC];
        let bestEpoch = bestEpochOf(selected, SELECTION_DIRECTION);
        if (options.earlyStop) {
          let best = 0;
          for (let epoch = 1; epoch < epochs; epoch++) {
            if (isBetter(SELECTION_DIRECTION, selected[epoch]!, selected[best]!)) best = epoch;
            if (epoch - best >= 3) {
              stoppedEpoch = epoch;
              break;
            }
          }
          bestEpoch = best;
        }
        const failing = index >= trained - failed;
        const lastEpoch = failing ? Math.min(stoppedEpoch, 2) : stoppedEpoch;
        for (let epoch = 0; epoch <= lastEpoch; epoch++) {
          metrics.recordEpoch(runId, foldIndex, 1, epoch, {
            loss: curves.train.loss[epoch]!,
            accuracy: curves.train.accuracy[epoch]!,
            ...validationAt(curves, epoch),
          });
        }
        if (failing) {
          runs.failFold(
            runId,
            foldIndex,
            1,
            `diverged: loss became NaN at epoch ${lastEpoch} (learning rate ${params.learningRate} too high?)`,
            true,
            'worker-1',
          );
          break;
        }
        const bestMetrics = validationAt(curves, bestEpoch);
        runs.finishFold(
          runId,
          foldIndex,
          1,
          {
            bestEpoch,
            stoppedEpoch,
            score: selected[bestEpoch]!,
            bestMetrics,
            paramCount,
            trainMs: 200 + paramCount / 50 + random() * 100,
            backend: 'tensorflow',
            workerName: `worker-${1 + (foldIndex % 2)}`,
          },
          now - 40_000 + index * 10,
        );
      }
      const run = runs.get(runId);
      if (
        run.status === 'done' &&
        run.scoreMean !== null &&
        (bestScore === null || isBetter(SELECTION_DIRECTION, run.scoreMean, bestScore))
      ) {
        bestScore = run.scoreMean;
        bestRunId = runId;
      }
    });

    let refitRunId: number | null = null;
    let modelId: number | null = null;
    if (options.modelDataDir !== undefined && bestRunId !== null && bestScore !== null) {
      const source = runs.get(bestRunId);
      const refit = runs.createRefitRun(experimentId, source.paramsJson, source.runId, now - 10_000);
      refitRunId = refit.runId;
      runs.startFold(refit.runId, 0, 1, now - 9_000);
      const refitEpochs = source.refitEpochs ?? epochs;
      for (let epoch = 0; epoch < refitEpochs; epoch++) {
        metrics.recordEpoch(refit.runId, 0, 1, epoch, { loss: 0.6 * Math.exp(-0.2 * epoch) + 0.1, accuracy: 0.9 + epoch * 0.001 });
      }
      runs.finishFold(
        refit.runId,
        0,
        1,
        {
          bestEpoch: refitEpochs - 1,
          stoppedEpoch: refitEpochs - 1,
          score: bestScore - 0.01,
          bestMetrics: {},
          paramCount: source.paramCount ?? 0,
          trainMs: 800,
          backend: 'tensorflow',
          workerName: 'worker-1',
        },
        now - 8_000,
      );
      const path = join(options.modelDataDir, 'models', name, `run-${refit.runId}`);
      mkdirSync(path, { recursive: true });
      writeFileSync(
        join(path, 'model.json'),
        JSON.stringify({ format: 'layers-model', weightsManifest: [{ paths: ['weights.bin'], weights: [] }] }),
      );
      writeFileSync(join(path, 'weights.bin'), Buffer.alloc(64, 7));
      writeFileSync(join(path, 'preprocessing.json'), JSON.stringify({ format: 'foldwise-preprocessing', version: 1 }));
      models.save(
        {
          runId: refit.runId,
          experimentId,
          sourceRunId: source.runId,
          format: 'tfjs-layers',
          path,
          testMetrics: scopedMetrics('test', { loss: 0.21, accuracy: 0.963, auc: bestScore - 0.01, pr_auc: 0.61 }),
        },
        now - 8_000,
      );
      modelId = models.ofExperiment(experimentId)[0]!.modelId;
    }

    const status = options.status ?? (queued > 0 ? 'running' : 'done');
    experiments.setStatus(experimentId, status, now - 5_000);
    if (status === 'running' && options.owned) holdLease(storage, experimentId);
    return { experimentId, runIds, bestRunId, refitRunId, modelId };
  });
}
