import { selectBackend } from './worker/backend.js';
const { tf, backend } = await selectBackend();
const r = tf.scatterND(tf.tensor1d([0, 2, 2, 0], 'int32'), tf.tensor2d([[1, 1], [2, 2], [3, 3], [4, 4]]), [4, 2]);
console.log(backend, await r.array());
const k = tf.getKernel('ScatterNd', 'wasm'); console.log(!!k, !!tf.getKernel('UnsortedSegmentSum','wasm'));
