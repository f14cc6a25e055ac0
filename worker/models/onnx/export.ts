/**
 * `model.onnx` from a refit model folder: the whole predictor of `foldwise predict` (encoding,
 * standardisation, the MLP and the output labels) as one ONNX graph that any runtime can call
 * with the raw CSV columns.
 */
import type { TensorFlow } from '../../backend.js';
import { decisionThresholdOf, loadSavedModel, ModelFileError, type SavedModel } from '../model-files.js';
import { addEncodedFeatures } from './features.js';
import { GraphBuilder } from './graph.js';
import { addDenseLayers, type DenseLayer, denseLayerOf } from './mlp.js';
import { addOutputs } from './output-head.js';
import { buildRatingsOnnx } from './ratings.js';

/**
 * Reads the model folder `modelDir` and returns the bytes of its ONNX model.
 * @throws {ModelFileError} when the folder holds no (valid) refit model, or a model this
 *   exporter cannot express.
 */
export async function exportOnnx(tf: TensorFlow, modelDir: string): Promise<Uint8Array> {
  const saved = await loadSavedModel(tf, modelDir);
  try {
    return buildOnnx(saved, modelDir);
  } finally {
    saved.model.dispose();
  }
}

function buildOnnx(saved: SavedModel, modelDir: string): Uint8Array {
  const { preprocessing } = saved;
  if (preprocessing.ratings !== undefined) return buildRatingsOnnx(saved, preprocessing.ratings, modelDir);
  const graph = new GraphBuilder();
  const features = addEncodedFeatures(graph, preprocessing.encoding.columns, preprocessing.standardizer);
  const network = addDenseLayers(graph, features, denseLayers(saved, modelDir));
  const classes = preprocessing.classes ?? [];
  const threshold = decisionThresholdOf(preprocessing);
  addOutputs(graph, network, preprocessing.task, classes, threshold);
  return graph.encode('foldwise', {
    task: preprocessing.task,
    classes: JSON.stringify(classes),
    // Binary: `prediction` is classes[1] (the positive class) where probabilities[:, 1] > threshold.
    ...(preprocessing.task === 'binary' ? { threshold: String(threshold), positive_class: classes[1] ?? '' } : {}),
    inputs: JSON.stringify(preprocessing.encoding.columns.map((column) => column.name)),
    target: preprocessing.encoding.target,
  });
}

/** The network's Dense layers with their weights; Dropout is skipped (identity at inference). */
function denseLayers(saved: SavedModel, modelDir: string): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (const layer of saved.model.layers) {
    const kind = layer.getClassName();
    if (kind === 'Dropout' || kind === 'InputLayer') continue;
    if (kind !== 'Dense') throw new ModelFileError(`${modelDir}: layer ${layer.name} (${kind}) has no ONNX export`);
    layers.push(denseLayerOf(layer, modelDir));
  }
  return layers;
}
