/**
 * What bounds the MLP engine on wasm (issue 14 asks "say what bounds it"): the time of one
 * training step's 8 matrix products of the reference MLP 30→64→32→1 (the shapes of
 * worker/engine/mlp-engine.ts's augmented layout: 3 forward, 3 kernel gradients, 2 input
 * gradients), measured three ways on TensorFlow.js's wasm backend, one thread:
 *
 *   - uploaded: both operands new tensors at every call, as the engine runs them (the weights,
 *     the deltas and the batch change every step);
 *   - left in place: the left operands persistent tensors overwritten in their heap memory, the
 *     right ones uploaded (tfjs-backend-wasm keys its XNNPACK operator, which holds the packed
 *     right operand, on the right tensor's id, so only a left operand may be reused: checked below);
 *   - cached: the same tensors every call, so each product reuses its XNNPACK operator and packed
 *     right operand: the products' own arithmetic, a floor no engine on these kernels can beat.
 *
 * Interleaved rounds, medians. Writes the `engine-products` section of BENCHMARKS.md.
 *
 *   node --import tsx bench/engine-products.ts [--rounds 5] [--steps 2000]
 */
import { loadavg } from 'node:os';
import type { Tensor } from '@tensorflow/tfjs';
import { selectBackend } from '../worker/backend.js';
import { KernelMemory } from '../worker/engine/kernels/kernel-memory.js';
import { matMul, MlpEngine } from '../worker/engine/mlp-engine.js';
import { machineLine, median, writeSection } from './report.js';

type Mode = 'uploaded' | 'leftInPlace' | 'cached';
const MODES: readonly Mode[] = ['uploaded', 'leftInPlace', 'cached'];
const BATCHES = [32, 128, 256] as const;

type WasmBackend = { typedArrayFromHeap(tensor: Tensor): Float32Array };

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`usage: engine-products.ts [--rounds N] [--steps N] (${name} must be a positive integer)\n`);
    process.exit(2);
  }
  return value;
}

const rounds = option('--rounds', 5);
const steps = option('--steps', 2000);
const { tf, backend: backendName } = await selectBackend();
if (backendName !== 'wasm') {
  process.stderr.write(`engine-products.ts measures the wasm backend; this machine selected ${backendName}\n`);
  process.exit(2);
}
const heap = tf.backend() as unknown as WasmBackend;
const product = (a: Tensor, b: Tensor) =>
  tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA: false, transposeB: false }) as Tensor;

let seed = 1;
/** Values in [−0.5, 0.5) from a small LCG: the figures must not depend on Math.random. */
const values = (n: number) =>
  Float32Array.from({ length: n }, () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  });

/** [m, k, n] of each product for a batch of b rows (inputs and hidden layers carry a ones column / fixed unit). */
const shapesFor = (b: number): [number, number, number][] => [
  [b, 31, 65],
  [b, 65, 33],
  [b, 33, 1],
  [31, b, 64],
  [65, b, 32],
  [33, b, 1],
  [b, 32, 64],
  [b, 1, 32],
];

/** Whether a right operand overwritten in place is seen by the next product (it is not: the operator is cached on its id). */
function rightOperandReusable(): boolean {
  const a = tf.tensor3d(values(12), [1, 4, 3]);
  const b = tf.tensor3d(values(6), [1, 3, 2]);
  product(a, b).dispose();
  const next = values(6);
  heap.typedArrayFromHeap(b).set(next);
  const reused = product(a, b).dataSync();
  const fresh = product(a, tf.tensor3d(next, [1, 3, 2])).dataSync();
  return reused.every((v, i) => Math.abs(v - fresh[i]!) < 1e-6);
}

function stepTimer(b: number): Record<Mode, () => number> {
  const shapes = shapesFor(b);
  const data = shapes.map(([m, k, n]) => ({ left: values(m * k), right: values(k * n) }));
  const persistent = shapes.map(([m, k, n], i) => ({
    left: tf.tensor3d(data[i]!.left, [1, m, k]),
    right: tf.tensor3d(data[i]!.right, [1, k, n]),
  }));
  const step = (mode: Mode) => {
    const owned: Tensor[] = [];
    shapes.forEach(([m, k, n], i) => {
      let left = persistent[i]!.left;
      let right = persistent[i]!.right;
      if (mode === 'uploaded') owned.push((left = tf.tensor3d(data[i]!.left, [1, m, k])));
      else heap.typedArrayFromHeap(left).set(data[i]!.left);
      if (mode !== 'cached') owned.push((right = tf.tensor3d(data[i]!.right, [1, k, n])));
      const out = product(left, right);
      heap.typedArrayFromHeap(out);
      owned.push(out);
    });
    for (const tensor of owned) tensor.dispose();
  };
  const timed = (mode: Mode) => () => microsPerStep(() => step(mode));
  return { uploaded: timed('uploaded'), leftInPlace: timed('leftInPlace'), cached: timed('cached') };
}

/** µs per call of `step` over `steps` calls, after steps / 10 untimed ones. */
function microsPerStep(step: () => void): number {
  for (let i = 0; i < steps / 10; i++) step();
  const started = performance.now();
  for (let i = 0; i < steps; i++) step();
  return ((performance.now() - started) / steps) * 1000;
}

/** µs per step of the same 8 products in foldwise's own kernel (mlp-engine.ts's matMul), operands in a kernel memory. */
function kernelTimer(b: number): () => number {
  const shapes = shapesFor(b);
  const memory = new KernelMemory(
    shapes.reduce((sum, [m, k, n]) => sum + m * k + k * n + m * n, 0),
    3 * shapes.length,
  );
  const operands = shapes.map(([m, k, n]) => ({ a: memory.f32(m * k), b: memory.f32(k * n), out: memory.f32(m * n) }));
  for (const { a, b: right } of operands) {
    a.set(values(a.length));
    right.set(values(right.length));
  }
  const step = () => {
    for (const [i, [m, k, n]] of shapes.entries()) matMul(operands[i]!.out, operands[i]!.a, operands[i]!.b, m, k, n);
  };
  return () => microsPerStep(step);
}

/** µs per step of the engine itself on the same network (Adam, no dropout), a 12,800-row epoch of random rows. */
async function engineStep(b: number): Promise<number> {
  const widths = [30, 64, 32, 1];
  const initial = widths.slice(1).map((nOut, l) => ({ kernel: values(widths[l]! * nOut).map((v) => v / 4), bias: new Float32Array(nOut) }));
  const architecture = { nInputs: 30, hidden: [64, 32], nOutputs: 1, activation: 'relu', output: 'sigmoid' } as const;
  const hyper = { learningRate: 0.001, l2: 0, dropout: 0, optimizer: 'adam' } as const;
  const engine = MlpEngine.create(tf, architecture, hyper, initial, { seed: 1 });
  const n = 12_800;
  const rows = { x: values(n * 30), y: values(n).map((v) => (v > 0.45 ? 1 : 0)), n };
  const order = Int32Array.from({ length: n }, (_, i) => i);
  await engine.trainEpoch(rows, order, b);
  const started = performance.now();
  await engine.trainEpoch(rows, order, b);
  const ms = performance.now() - started;
  engine.dispose();
  return (ms * 1000) / Math.ceil(n / b);
}

const loadStart = loadavg();
const reusable = rightOperandReusable();
const rows: string[] = [];
for (const b of BATCHES) {
  const timers = stepTimer(b);
  const times: Record<Mode, number[]> = { uploaded: [], leftInPlace: [], cached: [] };
  const kernel = kernelTimer(b);
  const stepTimes: number[] = [];
  const kernelTimes: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const mode of MODES) times[mode].push(timers[mode]());
    kernelTimes.push(kernel());
    stepTimes.push(await engineStep(b));
  }
  const step = median(stepTimes);
  const own = median(kernelTimes);
  const macs = shapesFor(b).reduce((sum, [m, k, n]) => sum + m * k * n, 0);
  const [uploaded, leftInPlace, cached] = MODES.map((mode) => median(times[mode]));
  const perCall = uploaded! - cached!;
  rows.push(
    `| ${b} | ${macs.toLocaleString('en')} | ${uploaded!.toFixed(0)} | ${leftInPlace!.toFixed(0)} | ${cached!.toFixed(0)} | ` +
      `${perCall.toFixed(0)} µs (${((100 * perCall) / uploaded!).toFixed(0)} %) | ${(macs / cached! / 1000).toFixed(1)} | ` +
      `**${own.toFixed(0)}** (${(macs / own / 1000).toFixed(1)} GMAC/s) | ${step.toFixed(0)} |`,
  );
  process.stderr.write(
    `batch ${b}: products on TensorFlow.js uploaded ${uploaded!.toFixed(0)} µs, left in place ${leftInPlace!.toFixed(0)}, ` +
      `cached ${cached!.toFixed(0)}; in the kernel ${own.toFixed(0)}; the engine's step ${step.toFixed(0)}\n`,
  );
}
const loadEnd = loadavg();
const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');

writeSection(
  'engine-products',
  `## What bounds the MLP engine: one step's matrix products on wasm

${machineLine()} · load average ${load(loadStart)} at the start, ${load(loadEnd)} at the end ·
\`node --import tsx bench/engine-products.ts --rounds ${rounds} --steps ${steps}\`

The 8 products of one training step of the reference MLP 30→64→32→1 (worker/engine/mlp-engine.ts's shapes), µs per step,
median of ${rounds} interleaved rounds of ${steps} steps. On TensorFlow.js's wasm backend (XNNPACK, one thread): both
operands uploaded at every call (what running them there takes: weights, deltas and batch all change every step); the
left operands overwritten in place in persistent tensors; and the same tensors every call, so that each product reuses
its XNNPACK operator and packed right operand (XNNPACK's arithmetic alone). Then the same products in foldwise's own
kernel (\`matMul\` of worker/engine/kernels/kernels.wat, operands in a kernel memory), and the engine's whole step as it
now runs (MlpEngine.trainEpoch per batch, Adam, 12,800 random rows; every product in the kernel).

| batch | multiply-adds per step | TF.js, uploaded | TF.js, left in place | TF.js, cached | \
per-call set-up (uploaded − cached) | GMAC/s, cached | foldwise's kernel | the engine's step |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

A right operand overwritten in place is ${reusable ? 'seen' : '**not** seen'} by the next product: tfjs-backend-wasm keeps an
XNNPACK operator, holding the right operand packed, per right-operand tensor, so a changed right operand needs a new tensor
and the operator is made and the operand packed again at every call; reusing the left operands saves little. That set-up,
not the arithmetic, is what bounded the engine while its products ran on TensorFlow.js; a plain 16-column SIMD loop in
foldwise's kernels has none and runs these small products faster than XNNPACK's own arithmetic, which is why the engine
now runs them all there.`,
);
