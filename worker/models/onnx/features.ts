/**
 * The raw-column inputs and their encoding as ONNX nodes: one input per CSV feature column
 * ([N, 1], float32 numeric or string categorical, the sklearn-onnx convention), categorical
 * columns one-hot encoded (ai.onnx.ml OneHotEncoder, unknown categories all zero as in
 * `encodeRows`), concatenated in the encoding's order and standardised as `predict` does.
 */
import type { Column } from '../../data/table.js';
import type { Standardizer } from '../../data/preprocess.js';
import type { GraphBuilder } from './graph.js';

/** Declares the inputs and returns the standardised feature matrix [N, features]. */
export function addEncodedFeatures(graph: GraphBuilder, columns: readonly Column[], standardizer: Standardizer): string {
  const blocks = columns.map((column) => {
    if (column.kind === 'numeric') return graph.input(column.name, 'float', [null, 1]);
    const input = graph.input(column.name, 'string', [null, 1]);
    // [N, 1] → [N, 1, K]; zeros=1: a category not seen in training gives a zero block.
    const oneHot = graph.node('OneHotEncoder', [input], { cats_strings: column.categories, zeros: 1 }, { domain: 'ai.onnx.ml' });
    return graph.node('Reshape', [oneHot, graph.int64s('one_hot_shape', [-1, column.categories.length])]);
  });
  const features = blocks.length === 1 ? blocks[0]! : graph.node('Concat', blocks, { axis: 1 });
  const nFeatures = standardizer.mean.length;
  const centred = graph.node('Sub', [features, graph.floats('standardizer_mean', standardizer.mean, [nFeatures])]);
  return graph.node('Div', [centred, graph.floats('standardizer_std', standardizer.std, [nFeatures])]);
}
