/**
 * A ratings model's TensorFlow.js network (recsys/models.ts: mf and ncf in the functional API,
 * the plain MLP of `mlp`) as ONNX nodes, layer by layer in the topology's order, so the export
 * follows the saved model.json rather than assuming its layer names:
 * Embedding → Gather (index 0, the unknown row, is gathered like any other), Flatten → Flatten,
 * Dot → Mul + ReduceSum, Add → Sum, Concatenate → Concat, Dense → Gemm + activation (mlp.ts);
 * Dropout is the identity at inference.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { ModelFileError } from '../model-files.js';
import type { GraphBuilder } from './graph.js';
import { addDenseLayers, denseLayerOf } from './mlp.js';

/**
 * Appends the network after its inputs and returns its output's value name ([N, 1] float).
 * @param inputs the ONNX value of each of the model's inputs, in `model.inputs` order:
 *   [N, 1] int64 embedding indices or the [N, features] float side features.
 * @throws {ModelFileError} when the topology holds a layer (or a configuration) with no export.
 */
export function addRatingsNetwork(graph: GraphBuilder, model: LayersModel, inputs: readonly string[], modelDir: string): string {
  if (model.inputs.length !== inputs.length || model.outputs.length !== 1)
    throw new ModelFileError(`${modelDir}: expected a network with ${inputs.length} inputs and one output`);
  // By source layer: a Sequential model (mlp) lists no inputLayers.
  const values = new Map(model.inputs.map((input, k) => [input.sourceLayer.name, inputs[k]!]));
  const fail = (name: string, what: string): never => {
    throw new ModelFileError(`${modelDir}: layer ${name} ${what}`);
  };
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) fail(layer.name, `is applied ${layer.inboundNodes.length} times; expected once`);
    const from = layer.inboundNodes[0]!.inboundLayers.map(
      (inbound) => values.get(inbound.name) ?? fail(layer.name, `reads ${inbound.name} before it is built`),
    );
    const config = layer.getConfig();
    const x = from[0]!;
    let out: string;
    switch (kind) {
      case 'Embedding': {
        const weights = layer.getWeights()[0] ?? fail(layer.name, 'has no embedding matrix');
        const [rows, dim] = weights.shape as [number, number];
        out = graph.node('Gather', [graph.floats(`${layer.name}_embeddings`, weights.dataSync(), [rows, dim]), x], { axis: 0 });
        break;
      }
      case 'Flatten':
        out = graph.node('Flatten', [x], { axis: 1 });
        break;
      case 'Dot': {
        // The models dot two [N, k] vectors (axes 1): Σ_k a·b, kept as [N, 1].
        const axes = [config.axes].flat();
        if (config.normalize === true || from.length !== 2 || !axes.every((axis) => axis === 1 || axis === -1))
          fail(layer.name, `(Dot, axes ${JSON.stringify(config.axes)}) is not a dot product of two vectors`);
        out = graph.node('ReduceSum', [graph.node('Mul', from), graph.int64s('dot_axes', [1])], { keepdims: 1 });
        break;
      }
      case 'Add':
        out = graph.node('Sum', from);
        break;
      case 'Concatenate':
        out = graph.node('Concat', from, { axis: Number(config.axis ?? -1) });
        break;
      case 'Dense':
        out = addDenseLayers(graph, x, [denseLayerOf(layer, modelDir)]);
        break;
      case 'Dropout':
        out = x;
        break;
      default:
        return fail(layer.name, `(${kind}) has no ONNX export`);
    }
    values.set(layer.name, out);
  }
  const last = model.outputs[0]!.sourceLayer.name;
  return values.get(last) ?? fail(last, 'is the output but was not built');
}
