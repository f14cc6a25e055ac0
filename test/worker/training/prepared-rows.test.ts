import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preparedRows, preparedRowsCount } from '../../../worker/training/prepared-rows.js';
import type { ModelRows } from '../../../worker/training/types.js';

/** Rows whose arrays take `mb` MiB. */
const rowsOf = (mb: number): ModelRows => {
  const n = (mb * 2 ** 20) / 8;
  return { inputs: [{ values: new Float32Array(n), width: 1 }], y: new Float32Array(n), n };
};

test('preparedRows: built once per owner and variant, most recently used kept, within the byte budget', () => {
  const [a, b, c] = [{}, {}, {}];
  let builds = 0;
  const get = (owner: object, variant: string, mb: number) =>
    preparedRows(
      owner,
      variant,
      () => {
        builds++;
        return rowsOf(mb);
      },
      (rows) => [rows],
    );
  const first = get(a, '', 1);
  assert.equal(get(a, '', 1), first, 'the same value again, not rebuilt');
  assert.notEqual(get(a, 'other', 1), first, 'another variant is another value');
  assert.equal(builds, 2);
  // 40 MiB + 40 MiB passes the 64 MiB budget: the least recently used go first, `a` (used just now) before `b`.
  get(b, '', 40);
  get(a, '', 1);
  get(c, '', 40);
  const before = builds;
  get(c, '', 40);
  get(a, '', 1);
  assert.equal(builds, before, 'c and a are kept (a was used after b)');
  get(b, '', 40);
  assert.equal(builds, before + 1, 'b was evicted and is built again');
  // The newest value stays even when it alone passes the budget.
  const huge = get({}, '', 80);
  assert.equal(preparedRowsCount(), 1);
  assert.equal(get({}, '', 1).n, 2 ** 20 / 8, 'a new owner');
  assert.equal(preparedRowsCount(), 1, 'the huge value gave way to the newer one');
  assert.equal(huge.n, (80 * 2 ** 20) / 8);
});
