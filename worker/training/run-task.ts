/**
 * One task, from its description to its result: a (run, fold) of the search, or the refit of
 * the chosen setting on all non-test rows followed by the one score on the test split.
 *
 * task → data (task-data.ts) → trainer (a fast engine wherever one supports the run, the layers
 * trainer otherwise) → the one training loop (loop.ts) → the saved model of a refit.
 * This module does no IPC, so the same `runTask` can be driven by a queue consumer.
 */
import type { Task, TaskResult } from '../contract/protocol.js';
import { createEngineTrainer, usesFastEngine } from '../engine/engine-trainer.js';
import { createRatingsTrainer, usesRecsysEngine } from '../engine/ratings-trainer.js';
import { describePreprocessing, saveModel } from '../models/model-files.js';
import { heldOutPredictions, refitDecision, withOutOfFold } from './decision.js';
import { createLayersTrainer } from './layers-trainer.js';
import { refitLoop, refitSettings, searchLoop } from './loop.js';
import { Pacer } from './pacing.js';
import { loadTable, prepareData, taskSeeds, type TrainerSetup } from './task-data.js';
import type { EpochListener, HorizonListener, Trainer, TrainingContext } from './types.js';

/**
 * Trains one task.
 * - search: train on the fold's training rows, score `val_…` metrics every epoch, early-stop on
 *   `spec.validation.earlyStopping` (restoring the best weights when asked);
 *   folds return their out-of-fold predictions (binary: and their precision, recall, … at 0.5;
 *   decision.ts).
 * - refit: train on all non-test rows for `refit.epochs` epochs, score `test_…` metrics once,
 *   and save the model and its preprocessing to `refit.modelDir`, returning the test predictions
 *   (drawn on the run page, never used to choose anything); a binary refit also freezes
 *   its operating threshold (chosen on the out-of-fold predictions the task carries) and scores
 *   the test split at it.
 * `trainMs` in the result is the time of the epochs (training and validation), without loading
 * the data or saving the model. Leaves no tensors behind, whether it returns or throws.
 * @param onEpoch called after every epoch with `loss` (and `accuracy` for classification) on the
 *   training rows, plus `val_…` metrics for search tasks; non-finite values are `null`.
 * @param signal aborting it stops training at the next batch.
 * @param onHorizon receives the results of the shorter runs a search task answers too (`task.horizons`,
 *   loop.ts), each with its out-of-fold predictions; without it they are not answered.
 * @throws {DivergedError} when the training loss is not finite.
 * @throws {DOMException} named `AbortError` when `signal` is aborted.
 * @throws {DataError} when the dataset cannot be loaded or split.
 */
export async function runTask(
  task: Task,
  ctx: TrainingContext,
  onEpoch: EpochListener,
  signal?: AbortSignal,
  onHorizon?: HorizonListener,
): Promise<TaskResult> {
  const pacer = new Pacer(task, signal);
  pacer.throwIfAborted();
  const table = await loadTable(task);
  pacer.throwIfAborted();
  const data = prepareData(table, task);
  pacer.throwIfAborted();
  const { tf } = ctx;
  const trainer = createTrainer({ tf, task, data, seeds: taskSeeds(task), pacer });
  try {
    if (task.kind === 'search') {
      const complete = (result: TaskResult) => withOutOfFold(result, trainer, data, task);
      return await searchLoop(trainer, task, onEpoch, pacer, { complete, ...(onHorizon ? { onHorizon } : {}) });
    }

    const trained = await refitLoop(trainer, task, onEpoch, pacer);
    const testPredictions = await trainer.heldPredictions();
    const result = { ...trained, testPredictions: heldOutPredictions(task, data, testPredictions) };
    const decided = data.positive ? refitDecision(task, data.positive, data.held.y, testPredictions) : null;
    const preprocessing = describePreprocessing({
      task: task.taskKind,
      encoding: data.encoding,
      standardizer: data.standardizer,
      classes: data.classes,
      params: task.params,
      backend: ctx.backend,
      seed: task.spec.seed,
      ...(decided
        ? {
            threshold: {
              value: decided.decision.threshold,
              objective: decided.decision.objective,
              positiveClass: decided.decision.positiveClass,
            },
          }
        : {}),
      ...(data.ratings ? { ratings: data.ratings.saved() } : {}),
    });
    await saveModel(tf, await trainer.savedModel(), refitSettings(task).modelDir, preprocessing);
    if (decided === null) return result;
    return { ...result, testMetrics: { ...result.testMetrics, ...decided.testMetrics }, decision: decided.decision };
  } finally {
    trainer.dispose();
  }
}

/**
 * The fast engines (worker/engine/) train every run they support: `mlp` on tabular data, and on
 * a ratings table `mf` and `ncf` (the ratings engine) and `mlp` on the side features.
 */
function createTrainer(setup: TrainerSetup): Trainer {
  const { task, tf } = setup;
  if (setup.data.ratings !== undefined) {
    if (!usesRecsysEngine(task, tf)) return createLayersTrainer(setup);
    return task.params.family === 'mlp' ? createEngineTrainer(setup) : createRatingsTrainer(setup);
  }
  return usesFastEngine(task, tf) ? createEngineTrainer(setup) : createLayersTrainer(setup);
}
