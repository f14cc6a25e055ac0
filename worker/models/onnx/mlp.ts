/**
 * The MLP of a refit model folder as ONNX nodes: each Dense layer of the TensorFlow.js topology
 * becomes Gemm (+ its activation); Dropout is the identity at inference and is skipped.
 */
import type { layers } from '@tensorflow/tfjs';
import { SELU_ALPHA, SELU_SCALE } from '../activations.js';
import { ModelFileError } from '../model-files.js';
import type { Attribute, GraphBuilder } from './graph.js';

/** One Dense layer read from model.json + weights.bin: kernel [inputs × units] row-major, bias [units]. */
export type DenseLayer = {
  readonly name: string;
  readonly units: number;
  readonly activation: string;
  readonly kernel: Float32Array;
  readonly bias: Float32Array | null;
};

/**
 * Reads a loaded Dense layer's configuration and weights.
 * @throws {ModelFileError} naming `modelDir` when the layer has no kernel.
 */
export function denseLayerOf(layer: layers.Layer, modelDir: string): DenseLayer {
  const config = layer.getConfig();
  const [kernel, bias] = layer.getWeights();
  if (kernel === undefined) throw new ModelFileError(`${modelDir}: layer ${layer.name} has no kernel`);
  return {
    name: layer.name,
    units: Number(config.units),
    activation: String(config.activation ?? 'linear'),
    kernel: kernel.dataSync() as Float32Array,
    bias: bias === undefined ? null : (bias.dataSync() as Float32Array),
  };
}

/** ONNX op (and attributes) for each activation foldwise builds; `linear` adds no node. */
const ACTIVATIONS: Record<string, { op: string; attributes?: Record<string, Attribute> } | null> = {
  linear: null,
  relu: { op: 'Relu' },
  tanh: { op: 'Tanh' },
  sigmoid: { op: 'Sigmoid' },
  elu: { op: 'Elu', attributes: { alpha: { float: 1 } } },
  selu: { op: 'Selu', attributes: { alpha: { float: SELU_ALPHA }, gamma: { float: SELU_SCALE } } },
  softmax: { op: 'Softmax', attributes: { axis: -1 } },
};

/** Appends the layers after `input` ([N, inputs] float); returns the last layer's output name. */
export function addDenseLayers(graph: GraphBuilder, input: string, layers: readonly DenseLayer[]): string {
  let x = input;
  let width: number | null = null;
  for (const layer of layers) {
    const inputs = layer.kernel.length / layer.units;
    if (width !== null && inputs !== width) throw new Error(`layer ${layer.name} takes ${inputs} inputs, the previous gives ${width}`);
    const kernel = graph.floats(`${layer.name}_kernel`, layer.kernel, [inputs, layer.units]);
    const bias = graph.floats(`${layer.name}_bias`, layer.bias ?? new Float32Array(layer.units), [layer.units]);
    x = graph.node('Gemm', [x, kernel, bias]);
    const activation = ACTIVATIONS[layer.activation];
    if (activation === undefined) throw new Error(`layer ${layer.name}: activation "${layer.activation}" has no ONNX export`);
    if (activation !== null) x = graph.node(activation.op, [x], activation.attributes);
    width = layer.units;
  }
  return x;
}
