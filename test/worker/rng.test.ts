import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, deriveSeed, shuffleInPlace } from '../../worker/rng.js';

function draw(seed: number, count: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => rng.next());
}

test('createRng: same seed → same stream, different seed → different stream', () => {
  assert.deepEqual(draw(7, 20), draw(7, 20));
  assert.notDeepEqual(draw(7, 20), draw(8, 20));
});

test('createRng: next in [0, 1), int in [0, n), normal roughly N(0, 1)', () => {
  const rng = createRng(1);
  let sum = 0;
  let squares = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    assert.ok(u >= 0 && u < 1);
    const k = rng.int(5);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 5);
    const z = rng.normal();
    sum += z;
    squares += z * z;
  }
  assert.ok(Math.abs(sum / n) < 0.05, `mean ${sum / n}`);
  assert.ok(Math.abs(squares / n - 1) < 0.05, `variance ${squares / n}`);
});

test('shuffleInPlace: a deterministic permutation', () => {
  const a = Int32Array.from({ length: 50 }, (_, i) => i);
  const b = Array.from({ length: 50 }, (_, i) => i);
  shuffleInPlace(a, createRng(3));
  shuffleInPlace(b, createRng(3));
  assert.deepEqual(Array.from(a), b);
  assert.notDeepEqual(
    b,
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
});

test('deriveSeed: stable, and distinct per purpose and seed', () => {
  assert.equal(deriveSeed(42, 'test-split'), deriveSeed(42, 'test-split'));
  assert.notEqual(deriveSeed(42, 'test-split'), deriveSeed(42, 'validation'));
  assert.notEqual(deriveSeed(42, 'test-split'), deriveSeed(43, 'test-split'));
  const seed = deriveSeed(42, 'x');
  assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32);
});
