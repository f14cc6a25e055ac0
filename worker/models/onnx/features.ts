/**
 * The raw-column inputs and their encoding as ONNX nodes, the same pipeline as `predict`
 * (data/pipeline.ts `writeCell`): one input per CSV feature column ([N, 1], float32 numeric or
 * string categorical, the sklearn-onnx convention; the id column is not an input), then per column
 * - numeric: a missing value (NaN) takes the imputed value (IsNaN + Where);
 * - categorical: the category's level index by ai.onnx.ml LabelEncoder (a missing '' maps to the
 *   imputed category's level; any other unknown category to "other" when the column has it, else
 *   to no level: an all-zero block, as `predict` scores it), then one-hot (OneHotEncoder);
 * - the missing indicator (0/1) when the column has one;
 * concatenated in the encoding's order and standardised.
 * Cells are taken as given: `predict` trims them first, so pass trimmed strings.
 */
import type { Column } from '../../data/table.js';
import type { Standardizer } from '../../data/preprocess.js';
import type { GraphBuilder } from './graph.js';

/** ONNX TensorProto element type FLOAT, for Cast. */
const FLOAT = 1;
/** The level index of a category that has none: OneHotEncoder (zeros=1) encodes it as all zero. */
const NO_LEVEL = -1;

/** Declares the inputs and returns the standardised feature matrix [N, features]. */
export function addEncodedFeatures(graph: GraphBuilder, columns: readonly Column[], standardizer: Standardizer): string {
  const blocks = columns.flatMap((column) => (column.kind === 'numeric' ? numericBlocks(graph, column) : categoricalBlocks(graph, column)));
  const features = blocks.length === 1 ? blocks[0]! : graph.node('Concat', blocks, { axis: 1 });
  const nFeatures = standardizer.mean.length;
  const centred = graph.node('Sub', [features, graph.floats('standardizer_mean', standardizer.mean, [nFeatures])]);
  return graph.node('Div', [centred, graph.floats('standardizer_std', standardizer.std, [nFeatures])]);
}

/** [value] or [value, indicator], each [N, 1] float. */
function numericBlocks(graph: GraphBuilder, column: Extract<Column, { kind: 'numeric' }>): string[] {
  const input = graph.input(column.name, 'float', [null, 1]);
  if (column.impute === undefined) return [input];
  const missing = graph.node('IsNaN', [input]);
  const filled = graph.node('Where', [missing, graph.floats(`${column.name}_imputed`, [column.impute.value], []), input]);
  return column.indicator === true ? [filled, graph.node('Cast', [missing], { to: FLOAT })] : [filled];
}

/** [one-hot block] or [one-hot block, indicator]. */
function categoricalBlocks(graph: GraphBuilder, column: Extract<Column, { kind: 'categorical' }>): string[] {
  const input = graph.input(column.name, 'string', [null, 1]);
  const levels = column.categories.length + (column.other === undefined ? 0 : 1);
  const unknown = column.other === undefined ? NO_LEVEL : column.categories.length;
  const keys = [...column.categories];
  const values = column.categories.map((_, k) => k);
  if (column.impute !== undefined) {
    // A missing cell is the imputed category, which may itself be unknown (grouped or unseen).
    const k = column.categories.indexOf(column.impute.value);
    keys.push('');
    values.push(k >= 0 ? k : unknown);
  }
  const level = graph.node(
    'LabelEncoder',
    [input],
    { keys_strings: keys, values_int64s: values, default_int64: unknown },
    { domain: 'ai.onnx.ml' },
  );
  // [N, 1] → [N, 1, levels]; zeros=1: NO_LEVEL gives a zero block.
  const levelIndices = Array.from({ length: levels }, (_, k) => k);
  const oneHot = graph.node('OneHotEncoder', [level], { cats_int64s: levelIndices, zeros: 1 }, { domain: 'ai.onnx.ml' });
  const block = graph.node('Reshape', [oneHot, graph.int64s('one_hot_shape', [-1, levels])]);
  if (column.indicator !== true) return [block];
  const isMissing = graph.node(
    'LabelEncoder',
    [input],
    { keys_strings: [''], values_int64s: [1], default_int64: 0 },
    { domain: 'ai.onnx.ml' },
  );
  return [block, graph.node('Cast', [isMissing], { to: FLOAT })];
}
