import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileKernels, KERNELS_WASM } from '../../../worker/engine/kernels/build-kernels.js';
import { ENGINE_KERNELS_ENV_VAR, KernelMemory, kernelsFor } from '../../../worker/engine/kernels/kernel-memory.js';
import { matMul } from '../../../worker/engine/mlp-engine.js';
import { ParameterOptimizer } from '../../../worker/engine/optimizers.js';
import { createRng } from '../../../worker/rng.js';
import { withEnv } from '../../helpers/run-task.js';

test('the committed kernels.wasm is the compilation of kernels.wat (run `npm run build:kernels` after editing it)', async () => {
  assert.deepEqual(new Uint8Array(readFileSync(KERNELS_WASM)), await compileKernels());
});

test('a kernel memory hands out aligned arrays with kernels, and plain arrays once it is full', () => {
  const memory = new KernelMemory(10, 2);
  const a = memory.f32(3);
  const b = memory.i32(3);
  assert.equal(a.byteOffset % 16, 0);
  assert.equal(b.byteOffset % 16, 0);
  assert.notEqual(kernelsFor(a, b), null);
  assert.deepEqual([...a, ...b], [0, 0, 0, 0, 0, 0]);
  // 64 KiB pages: far more than asked for fits, then an allocation past the end is a plain array.
  const big = memory.f32(10_000);
  assert.notEqual(kernelsFor(a, big), null);
  const plain = memory.f32(1_000_000);
  assert.equal(kernelsFor(plain), null);
  assert.equal(kernelsFor(a, plain), null, 'arrays of different memories have no kernels in common');
  assert.equal(kernelsFor(a, new KernelMemory(1).f32(1)), null);
});

test('FOLDWISE_ENGINE_KERNELS=js makes memories hand out plain arrays', async () => {
  await withEnv(ENGINE_KERNELS_ENV_VAR, 'js', async () => {
    assert.equal(kernelsFor(new KernelMemory(100).f32(10)), null);
  });
});

/** Parameters, two Adam slots and a gradient, in a kernel memory or in plain arrays, with the same values. */
function adamState(size: number, inKernelMemory: boolean, seed: number) {
  const memory = new KernelMemory(5 * size, 8);
  const allocate = (n: number) => (inKernelMemory ? memory.f32(n) : new Float32Array(n));
  const rng = createRng(seed);
  const P = allocate(size);
  for (let k = 0; k < size; k++) P[k] = rng.normal();
  const G = allocate(size);
  const starts = inKernelMemory ? memory.i32(size) : new Int32Array(size);
  return { P, G, starts, allocate };
}

for (const lr of [0.001, 0.3]) {
  test(`Adam in the kernel steps parameters bit for bit as the JavaScript loop (lr ${lr}, whole ranges and touched rows)`, () => {
    const size = 4 * 37 + 3; // rows of 4 and an odd tail
    const runs = [true, false].map((inKernelMemory) => {
      const optimizer = new ParameterOptimizer('adam', lr, 1e-7);
      const state = adamState(size, inKernelMemory, 11);
      const slots = optimizer.createSlots(size, state.allocate);
      assert.equal(kernelsFor(state.P, state.G, state.starts, ...slots) !== null, inKernelMemory);
      const gradients = createRng(3);
      for (let step = 0; step < 6; step++) {
        for (let k = 0; k < size; k++) state.G[k] = step === 2 && k % 5 === 0 ? 0 : gradients.normal() * 10 ** ((k % 7) - 3);
        optimizer.beginStep();
        if (step % 2 === 0) optimizer.applyRange(state.P, slots, state.G, 1, size);
        else {
          // Rows 0, 3, 4, 9… of width 4, as a lazy embedding step visits the rows a batch touched.
          const touched = [0, 3, 4, 9, 20, 36].map((row) => row * 4);
          state.starts.set(touched);
          optimizer.applyRanges(state.P, slots, state.G, state.starts, touched.length, 4);
        }
      }
      return { P: [...state.P], m: [...slots[0]!], v: [...slots[1]!] };
    });
    assert.deepEqual(runs[0], runs[1]);
  });
}

test('matMul: the kernel gives the JavaScript loop’s bits and the product, on every tail of 16 and 4 columns', () => {
  const memory = new KernelMemory(40_000, 16);
  const rng = createRng(5);
  for (const [m, k, n] of [
    [1, 1, 1],
    [3, 7, 16],
    [5, 31, 65],
    [128, 65, 33],
    [33, 128, 1],
    [2, 4, 19],
    [4, 1, 32],
  ] as const) {
    const a = memory.f32(m * k);
    const b = memory.f32(k * n);
    for (let i = 0; i < a.length; i++) a[i] = rng.normal() * 10 ** ((i % 5) - 2);
    for (let i = 0; i < b.length; i++) b[i] = i % 9 === 0 ? -0 : rng.normal();
    const viaKernel = matMul(memory.f32(m * n), a, b, m, k, n);
    const viaLoop = matMul(new Float32Array(m * n), Float32Array.from(a), Float32Array.from(b), m, k, n);
    assert.notEqual(kernelsFor(viaKernel, a, b), null);
    assert.deepEqual(viaKernel, viaLoop, `${m} × ${k} × ${n}`);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        let magnitude = 0;
        for (let p = 0; p < k; p++) {
          sum += a[i * k + p]! * b[p * n + j]!;
          magnitude += Math.abs(a[i * k + p]! * b[p * n + j]!);
        }
        // float32 summation's error bound, k·ε·Σ|a·b|
        assert.ok(Math.abs(viaKernel[i * n + j]! - sum) <= k * 2 ** -23 * magnitude, `${m} × ${k} × ${n} at ${i}, ${j}`);
      }
  }
});
