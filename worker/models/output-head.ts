/**
 * The output layer and the loss of each task kind, written once: the layers model (layers.ts),
 * the layers trainer's loss, the fast engine's architecture and its epoch loss all read it.
 */
import type { TaskKind } from '../contract/vocabulary.js';

/** The output layer's activation; each goes with one loss (see `OutputHead`). */
export type OutputActivation = 'sigmoid' | 'softmax' | 'linear';

/** The training loss: the mean over rows of the per-row cross-entropy or squared error. */
export type LossKind = 'binary_crossentropy' | 'categorical_crossentropy' | 'mean_squared_error';

export type OutputHead = {
  /** Output units: 1, or the number of classes for a softmax. */
  readonly units: number;
  readonly activation: OutputActivation;
  readonly loss: LossKind;
};

const HEADS: Readonly<Record<TaskKind, Omit<OutputHead, 'units'>>> = {
  binary: { activation: 'sigmoid', loss: 'binary_crossentropy' },
  multiclass: { activation: 'softmax', loss: 'categorical_crossentropy' },
  regression: { activation: 'linear', loss: 'mean_squared_error' },
};

/**
 * A task's output layer and loss: 1 sigmoid unit with binary cross-entropy (binary), `nClasses`
 * softmax units with categorical cross-entropy (multiclass), 1 linear unit with squared error
 * (regression).
 */
export function outputHead(task: TaskKind, nClasses: number): OutputHead {
  return { units: task === 'multiclass' ? nClasses : 1, ...HEADS[task] };
}
