/**
 * `model.onnx` for a model trained on ratings (mf, ncf, or mlp on the side features): the whole
 * predictor of recsys/predict.ts as one graph.
 *
 * Inputs: the user and item ids, string [N, 1], named as the ratings' id columns (e.g. `userId`,
 * `movieId`), as they appear in the source files; and, when the model reads side features, one
 * input per raw side column (ratings-features.ts), read only for ids absent from the saved
 * side tables. Ids map to embedding rows by a LabelEncoder; an id the model never saw gets the
 * reserved unknown row (recsys/models.ts: zero embedding and bias), as in predict.
 *
 * Outputs: `prediction` [N] float (unclipped, as predict gives it), `user_seen` and `item_seen`
 * [N] bool (the id had training ratings).
 */
import { UNKNOWN_INDEX } from '../../recsys/models.js';
import type { RatingsPreprocessing, SavedSide } from '../../recsys/preprocessing.js';
import type { SavedModel } from '../model-files.js';
import { GraphBuilder } from './graph.js';
import { addOutputs } from './output-head.js';
import { addIdLookup, addSideFeatures, RatingsInputs } from './ratings-features.js';
import { addRatingsNetwork } from './ratings-network.js';

/**
 * The ONNX bytes of a saved ratings model.
 * @throws {ModelFileError} when the network holds a layer this exporter cannot express.
 */
export function buildRatingsOnnx(saved: SavedModel, ratings: RatingsPreprocessing, modelDir: string): Uint8Array {
  const graph = new GraphBuilder();
  const inputs = new RatingsInputs(graph, modelDir);
  const userId = inputs.get(ratings.userColumn, 'string');
  const itemId = inputs.get(ratings.itemColumn, 'string');
  const user = embeddingIndex(graph, ratings.users, userId, `${modelDir}: the embedded users`);
  const item = embeddingIndex(graph, ratings.items, itemId, `${modelDir}: the embedded items`);
  const features = () => {
    const sides = [
      addSideFeatures(graph, ratings.users, userId, inputs, modelDir),
      addSideFeatures(graph, ratings.items, itemId, inputs, modelDir),
    ].filter((block) => block !== null);
    return sides.length === 1 ? sides[0]! : graph.node('Concat', sides, { axis: 1 });
  };
  const modelInputs = ratings.inputs.map((name) => (name === 'user' ? user : name === 'item' ? item : features()));
  addOutputs(graph, addRatingsNetwork(graph, saved.model, modelInputs, modelDir), 'regression', []);
  for (const [output, index] of [
    ['user_seen', user],
    ['item_seen', item],
  ] as const) {
    const seen = graph.node('Not', [graph.node('Equal', [index, graph.int64s('unknown_index', [UNKNOWN_INDEX], [])])]);
    graph.node('Reshape', [seen, graph.int64s('flat_shape', [-1])], {}, { output });
    graph.output(output, 'bool', [null]);
  }
  return graph.encode('foldwise', {
    task: saved.preprocessing.task,
    classes: JSON.stringify([]),
    inputs: JSON.stringify(inputs.names()),
    target: saved.preprocessing.encoding.target,
  });
}

/** [N, 1] int64 embedding rows: `embedded[k]` → k + 1, any other id → the unknown row. */
function embeddingIndex(graph: GraphBuilder, side: SavedSide, id: string, where: string): string {
  return addIdLookup(
    graph,
    id,
    side.embedded,
    side.embedded.map((_, k) => k + 1),
    UNKNOWN_INDEX,
    where,
  );
}
