/**
 * TensorFlow.js backend choice: native tfjs-node where it is installed, else WebAssembly, else
 * the plain JavaScript CPU backend (DESIGN.md, "TensorFlow.js backend").
 */
import { createRequire } from 'node:module';
import type * as TfjsModule from '@tensorflow/tfjs';
import { BACKENDS, type BackendName } from './contract/protocol.js';

// Loaded through CommonJS on purpose: the ESM build of @tensorflow/tfjs is hundreds of small
// modules and took ~1.6 s to import here against ~0.6 s for the CommonJS bundle, paid by every
// worker at start. tfjs-node and the wasm backend are CommonJS too, so all share one engine.
const require = createRequire(import.meta.url);
const tfjs = withoutSourceMaps(() => require('@tensorflow/tfjs') as typeof TfjsModule);

/**
 * `body` with Node's source-map support off: tsx turns it on for the process, and Node then reads
 * and parses the source map of every module it loads, ~100 ms of each worker's start for
 * TensorFlow.js's bundles, whose maps no foldwise message uses.
 */
function withoutSourceMaps<T>(body: () => T): T {
  const enabled = process.sourceMapsEnabled ?? true;
  process.setSourceMapsEnabled(false);
  try {
    return body();
  } finally {
    process.setSourceMapsEnabled(enabled);
  }
}

/** The TensorFlow.js namespace, passed around so every module uses the one engine. */
export type TensorFlow = typeof TfjsModule;

/** The chosen backend, ready to train on. */
export type SelectedBackend = { readonly tf: TensorFlow; readonly backend: BackendName };

/** Environment variable that forces one backend (`tensorflow`, `wasm` or `cpu`), e.g. in tests. */
export const BACKEND_ENV_VAR = 'FOLDWISE_BACKEND';

// A variable keeps TypeScript (and bundlers) from resolving the optional package at build time.
const TFJS_NODE_PACKAGE = '@tensorflow/tfjs-node';

/**
 * Selects and initialises a backend. Without `FOLDWISE_BACKEND`, tries `preferred` first, then
 * the others in the order tensorflow → wasm → cpu, and never fails merely because an optional
 * backend (tfjs-node) is missing. With `FOLDWISE_BACKEND` set, uses exactly that backend.
 * Logs nothing: the caller reports the chosen backend.
 * @throws {Error} when `FOLDWISE_BACKEND` names an unknown backend or one that cannot start,
 *   or (never expected) when not even the cpu backend starts.
 */
export async function selectBackend(preferred?: BackendName): Promise<SelectedBackend> {
  // The cpu backend's "install tfjs-node" banner and similar notices would land in every
  // worker's stderr; the coordinator already reports the backend.
  tfjs.enableProdMode();

  const forced = forcedBackend();
  if (forced !== undefined) {
    const failure = await tryBackend(forced);
    if (failure !== null) throw new Error(`${BACKEND_ENV_VAR}=${forced}, but that backend cannot start: ${failure}`);
    return { tf: tfjs, backend: forced };
  }

  const order = preferred === undefined ? BACKENDS : [preferred, ...BACKENDS.filter((name) => name !== preferred)];
  const failures: string[] = [];
  for (const backend of order) {
    const failure = await tryBackend(backend);
    if (failure === null) return { tf: tfjs, backend };
    failures.push(`${backend}: ${failure}`);
  }
  throw new Error(`no TensorFlow.js backend could start (${failures.join('; ')})`);
}

function forcedBackend(): BackendName | undefined {
  const value = process.env[BACKEND_ENV_VAR]?.trim();
  if (value === undefined || value === '') return undefined;
  const backend = BACKENDS.find((name) => name === value);
  if (backend === undefined) throw new Error(`${BACKEND_ENV_VAR} must be one of ${BACKENDS.join(', ')}; got "${value}"`);
  return backend;
}

/** Loads and activates one backend; returns why it failed, or null on success. */
async function tryBackend(backend: BackendName): Promise<string | null> {
  try {
    if (backend === 'tensorflow') {
      // Importing tfjs-node registers the 'tensorflow' backend with the shared tfjs engine.
      withoutSourceMaps(() => require(TFJS_NODE_PACKAGE));
    } else if (backend === 'wasm') {
      const wasm = withoutSourceMaps(() => require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm'));
      // One worker process per core already uses every core; more threads would oversubscribe.
      wasm.setThreadsCount(1);
    }
    if (!(await tfjs.setBackend(backend))) return 'initialisation failed';
    await tfjs.ready();
    return null;
  } catch (error) {
    return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
  }
}
