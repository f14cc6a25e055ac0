/**
 * The engines' elementwise loops and small matrix products in WebAssembly SIMD (kernels.wat,
 * compiled into the committed kernels.wasm by build-kernels.ts), and the memories they run on.
 *
 * A kernel can only read and write its own linear memory, so an engine allocates the arrays a
 * kernel touches from a `KernelMemory`: its parameters, optimizer slots and gradient (sized once),
 * and its step's scratch arrays. `kernelsFor(...arrays)` returns the kernels bound to the memory
 * that holds all of the arrays, or null, and every caller keeps its JavaScript loop for null: an
 * array from elsewhere, a memory that was full, a runtime without WebAssembly SIMD, or
 * `FOLDWISE_ENGINE_KERNELS=js`. The kernels compute bit for bit what those loops compute (the
 * tests in test/worker/engine/ train both ways), so which one ran never changes a result.
 *
 * A memory never grows: growing replaces its buffer and detaches every array allocated from it.
 * An allocation that does not fit is served from the JavaScript heap instead (and runs the loops).
 *
 * Written by hand because no maintained npm package offers these loops over shared memory:
 * TensorFlow.js's own wasm kernels cost ~5 µs of dispatch each (mlp-engine.ts), which these
 * loops over a few thousand values are there to avoid, and its products on XNNPACK make an
 * operator and pack the right operand at every call (bench/engine-products.ts).
 */
import { readFileSync } from 'node:fs';

/** `wasm` (the default): the kernels run where they can; `js`: every loop in JavaScript (for comparison). */
export const ENGINE_KERNELS_ENV_VAR = 'FOLDWISE_ENGINE_KERNELS';

/** The compiled kernels; null where WebAssembly SIMD is not available (an old CPU or runtime): then every loop runs in JavaScript. */
const MODULE = compileKernels();

function compileKernels(): WebAssembly.Module | null {
  try {
    return new WebAssembly.Module(readFileSync(new URL('./kernels.wasm', import.meta.url)));
  } catch (error) {
    if (error instanceof WebAssembly.CompileError) return null;
    throw error;
  }
}

/** kernels.wat's exports. Pointers are byte offsets into the memory, counts in elements. */
type KernelExports = {
  adam(p: number, m: number, v: number, g: number, n: number, stepSize: number, inverse2: number, epsilon: number): void;
  adamRanges(
    p: number,
    m: number,
    v: number,
    g: number,
    starts: number,
    count: number,
    width: number,
    stepSize: number,
    inverse2: number,
    epsilon: number,
  ): void;
  reluBackward(out: number, up: number, h: number, scale: number, b: number, cols: number): void;
  dropout(
    values: number,
    dropped: number,
    droppedT: number,
    mask: number,
    rows: number,
    cols: number,
    threshold: number,
    kept: number,
    state: number,
  ): void;
  transpose(out: number, a: number, rows: number, cols: number): void;
  matMul(c: number, a: number, b: number, m: number, k: number, n: number): void;
  relu(values: number, n: number): void;
  layerGradient(
    G: number,
    sums: number,
    P: number,
    rows: number,
    cols: number,
    nIn: number,
    nOut: number,
    scale: number,
    decay: number,
  ): void;
};

/** The kernels of one memory, and its argument block (four 32-bit words at byte 0, for the dropout stream's state). */
export type Kernels = { readonly exports: KernelExports; readonly args: Int32Array };

/** Bytes at the start of every memory kept for kernel arguments (`Kernels.args`). */
const ARGS_BYTES = 16;
/** Allocations start on 16-byte boundaries (one SIMD vector). */
const ALIGN = 16;
const PAGE_BYTES = 65_536;
/** Larger memories are not made (the caller's arrays then live in the JavaScript heap). */
const MAX_BYTES = 256 * 1024 * 1024;

const kernelsByBuffer = new WeakMap<ArrayBufferLike, Kernels>();

function kernelsEnabled(): boolean {
  return MODULE !== null && process.env[ENGINE_KERNELS_ENV_VAR]?.trim() !== 'js';
}

/** A fixed-size WebAssembly memory with the kernels bound to it, and a bump allocator over it. */
export class KernelMemory {
  readonly #buffer: ArrayBuffer | null;
  #next = ARGS_BYTES;

  /** A memory for at least `floats` 4-byte values in allocations of any size (each rounded up to 16 bytes). */
  constructor(floats: number, allocations = 16) {
    const bytes = ARGS_BYTES + floats * 4 + allocations * ALIGN;
    if (!kernelsEnabled() || bytes > MAX_BYTES) {
      this.#buffer = null;
      return;
    }
    const pages = Math.ceil(bytes / PAGE_BYTES);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(MODULE!, { env: { memory } });
    this.#buffer = memory.buffer;
    kernelsByBuffer.set(memory.buffer, {
      exports: instance.exports as unknown as KernelExports,
      args: new Int32Array(memory.buffer, 0, 4),
    });
  }

  /** `n` zeros in the memory, or in the JavaScript heap when it is full. */
  f32(n: number): Float32Array {
    const at = this.#take(n * 4);
    return at === null ? new Float32Array(n) : new Float32Array(this.#buffer!, at, n);
  }

  /** `n` zeros (32-bit integers) in the memory, or in the JavaScript heap when it is full. */
  i32(n: number): Int32Array {
    const at = this.#take(n * 4);
    return at === null ? new Int32Array(n) : new Int32Array(this.#buffer!, at, n);
  }

  #take(bytes: number): number | null {
    if (this.#buffer === null || this.#next + bytes > this.#buffer.byteLength) return null;
    const at = this.#next;
    this.#next = Math.ceil((at + bytes) / ALIGN) * ALIGN;
    return at;
  }
}

/** The kernels bound to the memory that holds every one of `arrays`; null when there is none. */
export function kernelsFor(...arrays: readonly ArrayBufferView[]): Kernels | null {
  const buffer = arrays[0]!.buffer;
  for (let i = 1; i < arrays.length; i++) if (arrays[i]!.buffer !== buffer) return null;
  return kernelsByBuffer.get(buffer) ?? null;
}
