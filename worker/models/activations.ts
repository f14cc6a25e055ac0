/**
 * Constants of the activations as TensorFlow.js computes them, shared by every implementation
 * of a layer outside TensorFlow.js (the fast engine's backward pass, the ONNX export).
 */

/** SELU's λ (scale) and α, to full float64 precision (tfjs-core `selu_util`). */
export const SELU_SCALE = 1.0507009873554805;
export const SELU_ALPHA = 1.6732632423543772;
