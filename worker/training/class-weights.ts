/**
 * Class weights (the `classWeight` hyperparameter): how much each class's rows count in the
 * training loss, for classes that are rare or costly to miss. Both trainers multiply each row's
 * loss by its class's weight and average over the batch (Keras's class_weight); the reported
 * training loss and every validation and test metric stay unweighted.
 */
import type { Params } from '../contract/spec.js';
import { quote, summariseValues } from '../data/cells.js';
import { labelIndex } from '../data/positive-class.js';
import { DataError } from '../data/table.js';

/**
 * The weight of each class, by the model's class index, or null when every row weighs 1 (`none`).
 * `balanced`: n / (classes · n_class) over `trainY`, as scikit-learn's `compute_class_weight`
 * (a class without training rows keeps 1); a map: the listed labels' weights, 1 for the others.
 * @param classes the model's class labels by index (binary: negative, positive).
 * @param trainY the training rows' class indices.
 * @throws {DataError} naming classWeight when the map names a label the data does not have.
 */
export function classWeightsOf(classWeight: Params['classWeight'], classes: readonly string[], trainY: Float32Array): Float32Array | null {
  if (classWeight === 'none') return null;
  const weights = new Float32Array(classes.length).fill(1);
  if (classWeight === 'balanced') {
    const counts = new Float64Array(classes.length);
    for (const label of trainY) counts[label]!++;
    counts.forEach((count, k) => {
      if (count > 0) weights[k] = trainY.length / (classes.length * count);
    });
    return weights;
  }
  for (const [label, weight] of Object.entries(classWeight)) {
    const k = labelIndex(classes, label);
    if (k < 0)
      throw new DataError(`classWeight: ${quote(label)} is not a class label of the data (its labels: ${summariseValues(classes)})`);
    weights[k] = weight;
  }
  return weights;
}

/** Each row's weight from its class index, or null without class weights. */
export function rowWeights(classWeights: Float32Array | null, y: Float32Array): Float32Array | null {
  return classWeights === null ? null : y.map((label) => classWeights[label]!);
}
