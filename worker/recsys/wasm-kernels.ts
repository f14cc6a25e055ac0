/**
 * The gradient of an embedding lookup (a gather) is an `UnsortedSegmentSum`, a kernel the
 * WebAssembly backend of TensorFlow.js 4.x does not have: training `mf` or `ncf` there would
 * fail at the first step. `ScatterNd`, which it has, computes the same thing when the segment
 * ids are the scatter indices (the wasm kernel zero-fills its output and sums duplicates), so
 * the missing kernel is registered as that. The native and cpu backends have their own.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import type { TensorFlow } from '../backend.js';

/** Registers `UnsortedSegmentSum` for the wasm backend when it is the active one and lacks it. Idempotent. */
export function ensureEmbeddingGradients(tf: TensorFlow): void {
  if (tf.getBackend() !== 'wasm' || tf.getKernel('UnsortedSegmentSum', 'wasm') !== undefined) return;
  const scatter = tf.getKernel('ScatterNd', 'wasm');
  if (scatter === undefined)
    throw new Error(
      'the wasm backend has neither UnsortedSegmentSum nor ScatterNd: embeddings cannot be trained on it (set FOLDWISE_BACKEND=cpu)',
    );
  const config: KernelConfig = {
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const x = inputs.x as TensorInfo;
      const segmentIds = inputs.segmentIds as TensorInfo;
      const numSegments = attrs?.numSegments as number;
      const ids = segmentIds.shape.reduce((size, dim) => size * dim, 1);
      const inner = x.shape.slice(segmentIds.shape.length);
      // Reshapes are metadata only: the same buffers, seen as [ids] and [ids, ...inner].
      return scatter.kernelFunc({
        inputs: { indices: { ...segmentIds, shape: [ids] }, updates: { ...x, shape: [ids, ...inner] } },
        attrs: { shape: [numSegments, ...inner] },
        backend,
      });
    },
  };
  tf.registerKernel(config);
}
