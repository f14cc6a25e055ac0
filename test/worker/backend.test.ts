import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKEND_ENV_VAR, selectBackend } from '../../worker/backend.js';

async function withBackendEnv<T>(value: string | undefined, run: () => Promise<T>): Promise<T> {
  const saved = process.env[BACKEND_ENV_VAR];
  if (value === undefined) delete process.env[BACKEND_ENV_VAR];
  else process.env[BACKEND_ENV_VAR] = value;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env[BACKEND_ENV_VAR];
    else process.env[BACKEND_ENV_VAR] = saved;
  }
}

const tfjsNodeInstalled = await import('@tensorflow/tfjs-node' as string).then(
  () => true,
  () => false,
);

test('selectBackend: FOLDWISE_BACKEND=cpu → the cpu backend', async () => {
  const { tf, backend } = await withBackendEnv('cpu', () => selectBackend());
  assert.equal(backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test('selectBackend: without tfjs-node → falls back to wasm, without throwing', {
  skip: tfjsNodeInstalled && 'tfjs-node is installed here',
}, async () => {
  const { tf, backend } = await withBackendEnv(undefined, () => selectBackend());
  assert.equal(backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  // A preference for a missing backend also falls back.
  assert.equal((await withBackendEnv(undefined, () => selectBackend('tensorflow'))).backend, 'wasm');
});

test('selectBackend: a preferred backend comes first', async () => {
  assert.equal((await withBackendEnv(undefined, () => selectBackend('cpu'))).backend, 'cpu');
  assert.equal((await withBackendEnv(undefined, () => selectBackend('wasm'))).backend, 'wasm');
});

test('selectBackend: forcing a missing or unknown backend is an error that says so', async () => {
  if (!tfjsNodeInstalled)
    await assert.rejects(
      withBackendEnv('tensorflow', () => selectBackend()),
      /FOLDWISE_BACKEND=tensorflow, but that backend cannot start/,
    );
  await assert.rejects(
    withBackendEnv('gpu', () => selectBackend()),
    /FOLDWISE_BACKEND must be one of tensorflow, wasm, cpu; got "gpu"/,
  );
});
