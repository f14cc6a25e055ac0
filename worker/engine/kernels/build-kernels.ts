/**
 * Compiles kernels.wat into kernels.wasm with wabt (a devDependency: the compiled module is
 * committed, so installing and running foldwise needs no WebAssembly toolchain). Run after
 * editing kernels.wat: `npm run build:kernels`. test/worker/engine/kernels.test.ts checks that
 * the committed binary is this file's compilation.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

export const KERNELS_WAT = fileURLToPath(new URL('./kernels.wat', import.meta.url));
export const KERNELS_WASM = fileURLToPath(new URL('./kernels.wasm', import.meta.url));

/** kernels.wat compiled, SIMD enabled. */
export async function compileKernels(): Promise<Uint8Array> {
  const toolkit = await wabt();
  const module = toolkit.parseWat('kernels.wat', readFileSync(KERNELS_WAT, 'utf8'), { simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const binary = await compileKernels();
  writeFileSync(KERNELS_WASM, binary);
  console.log(`wrote ${KERNELS_WASM} (${binary.length} bytes)`);
}
