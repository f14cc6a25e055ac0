import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRows } from '../../../worker/data/encode.js';
import { loadDataset } from '../../../worker/data/load.js';
import { fitColumns } from '../../../worker/data/pipeline.js';
import { DataError } from '../../../worker/data/table.js';
import { assertDataError, csv } from './fixtures.js';

const rowsOf = (...rows: number[]) => Int32Array.from(rows);

// ───────────────────────────── roles ─────────────────────────────

test('roles: dropped and id columns are no features, categorical and numeric override what the cells say', async () => {
  const file = csv(['order,note,zip,score,label', 'A1,hi,75001,1,x', 'A2,yo,13001,2,y', 'A3,hi,75001,3,x', 'A4,ok,69001,4,y'].join('\n'));
  const table = await loadDataset({ ...file, columns: { id: 'order', drop: ['note'], categorical: ['zip'] } }, 1);
  assert.equal(table.encoding.id, 'order');
  assert.deepEqual(table.encoding.featureNames, ['zip=13001', 'zip=69001', 'zip=75001', 'score']);
  // Without roles, the id is a (categorical) feature and zip a number.
  const inferred = await loadDataset(file, 1);
  assert.deepEqual(inferred.encoding.featureNames.slice(0, 2), ['order=A1', 'order=A2']);
  assert.ok(inferred.encoding.featureNames.includes('zip'));
  assert.equal(inferred.encoding.id, undefined);
  // Only roles: no feature left.
  await assertDataError({ ...file, columns: { id: 'order', drop: ['note', 'zip', 'score'] } }, [/no feature columns besides the target/]);
});

test('roles: a name that is not a column is an error naming the field and listing the columns', async () => {
  const file = csv('a,b,label\n1,2,x\n3,4,y\n');
  await assertDataError({ ...file, columns: { categorical: ['a', 'zz'] } }, [
    /^dataset\.columns\.categorical\[1\]: no column "zz" in .*; the columns are "a", "b", "label"$/,
  ]);
  await assertDataError({ ...file, impute: { columns: { q: 'mean' } } }, [/^dataset\.impute\.columns\.q: no column "q"/]);
});

// ───────────────────────────── imputation ─────────────────────────────

test('imputation: blanks are an error without impute; with it, median / mean / most frequent / constant fill them', async () => {
  const text = ['n,c,label', '1,red,x', ',blue,y', '4,,x', '10,red,y', 'NA,red,x'].join('\n');
  await assertDataError(csv(text), [/row 3, column "n": missing value \(empty cell\); fill it in, drop the row, or set dataset\.impute/]);
  await assertDataError({ ...csv(text), impute: { numeric: 'median' } }, [/row 4, column "c": missing value/]);

  const table = await loadDataset({ ...csv(text), impute: { numeric: 'median', categorical: 'most_frequent', indicator: true } }, 1);
  assert.deepEqual(table.encoding.columns, [
    { name: 'n', kind: 'numeric', impute: { strategy: 'median', value: 4 }, indicator: true },
    { name: 'c', kind: 'categorical', categories: ['blue', 'red'], impute: { strategy: 'most_frequent', value: 'red' }, indicator: true },
  ]);
  // prettier-ignore
  assert.deepEqual(Array.from(table.x), [1, 0, 0, 1, 0, 4, 1, 1, 0, 0, 4, 0, 0, 1, 1, 10, 0, 0, 1, 0, 4, 1, 0, 1, 0]);

  const mean = await loadDataset(
    { ...csv(text), impute: { numeric: 'constant', categorical: 'constant', fill: { numeric: -1 }, columns: { n: 'mean' } } },
    1,
  );
  assert.deepEqual(
    mean.encoding.columns.map((column) => column.impute),
    [
      { strategy: 'mean', value: 5 },
      { strategy: 'constant', value: 'missing' },
    ],
  );
  assert.deepEqual(mean.encoding.featureNames, ['n', 'c=blue', 'c=missing', 'c=red']);
});

test('imputation: fitted on the given rows only; the indicator appears only where those rows had a blank', () => {
  const raw = {
    columns: [
      {
        name: 'n',
        kind: 'numeric' as const,
        values: Float32Array.from([1, 2, Number.NaN, 100]),
        impute: { strategy: 'median' as const, fill: 0 },
      },
    ],
    indicator: true,
    maxCategories: 200,
  };
  assert.deepEqual(fitColumns(raw, rowsOf(0, 1)), [{ name: 'n', kind: 'numeric', impute: { strategy: 'median', value: 1.5 } }]);
  assert.deepEqual(fitColumns(raw, rowsOf(0, 1, 2, 3)), [
    { name: 'n', kind: 'numeric', impute: { strategy: 'median', value: 2 }, indicator: true },
  ]);
  // No observed value in the training part: the constant fill.
  assert.deepEqual(fitColumns(raw, rowsOf(2))[0], {
    name: 'n',
    kind: 'numeric',
    impute: { strategy: 'median', value: 0 },
    indicator: true,
  });
});

test('a strategy that does not fit the inferred kind is an error naming the field', async () => {
  await assertDataError({ ...csv('a,b,label\n1,x,p\n2,y,q\n'), impute: { columns: { b: 'mean' } } }, [
    /^dataset\.impute\.columns\.b: "mean" does not fit a categorical column \(expected most_frequent, constant\); "b" is categorical/,
  ]);
});

// ───────────────────────────── many categories ─────────────────────────────

test('maxCategories: the N-1 most frequent levels of the fitted rows are kept (ties in text order), the rest is "other"', async () => {
  // Counts: a 4, b 3, c 2, d 2, e 1.
  const cells = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'd', 'd', 'e'];
  const file = csv(['k,label', ...cells.map((cell, i) => `${cell},${i % 2}`)].join('\n'));
  const table = await loadDataset({ ...file, maxCategories: 4 }, 1);
  assert.deepEqual(table.encoding.columns, [{ name: 'k', kind: 'categorical', categories: ['a', 'b', 'c'], other: { grouped: 2 } }]);
  assert.deepEqual(table.encoding.featureNames, ['k=a', 'k=b', 'k=c', 'k=(other)']);
  assert.deepEqual(Array.from(table.x.subarray(9 * 4, 10 * 4)), [0, 0, 0, 1], '"d" is grouped');
  // Exactly N categories: no grouping.
  const five = await loadDataset({ ...file, maxCategories: 5 }, 1);
  assert.deepEqual(five.encoding.featureNames, ['k=a', 'k=b', 'k=c', 'k=d', 'k=e']);
  // Levels come from the fitted rows: with N = 3, all rows keep "a" and "b"; rows 4..11 ("b"×3, "c"×2, "d"×2, "e") keep "b" and "c".
  const raw = { ...table.raw!, maxCategories: 3 };
  const all = fitColumns(raw, Int32Array.from(cells.keys()));
  assert.deepEqual(all, [{ name: 'k', kind: 'categorical', categories: ['a', 'b'], other: { grouped: 3 } }]);
  const fitted = fitColumns(
    raw,
    Int32Array.from({ length: 8 }, (_, i) => i + 4),
  );
  assert.deepEqual(fitted, [{ name: 'k', kind: 'categorical', categories: ['b', 'c'], other: { grouped: 2 } }]);

  // At predict: unseen categories go to "other", a missing one without imputation is an error.
  const { x, unseen } = encodeRows(table.encoding, [{ k: 'zzz' }, { k: 'b' }]);
  assert.deepEqual(Array.from(x), [0, 0, 0, 1, 0, 1, 0, 0]);
  assert.deepEqual(unseen, []);
  assert.throws(
    () => encodeRows(table.encoding, [{ k: '' }]),
    (error: unknown) => error instanceof DataError && /row 2, column "k": missing value/.test(error.message),
  );
});

test('a 500-category column trains (no longer refused as an identifier) with the default of 200', async () => {
  const rows = Array.from({ length: 1000 }, (_, i) => `id-${i % 500},${i % 2}`);
  const table = await loadDataset(csv(['code,label', ...rows].join('\n')), 1);
  const [code] = table.encoding.columns;
  assert.ok(code?.kind === 'categorical');
  assert.equal(code.categories.length, 199);
  assert.deepEqual(code.other, { grouped: 301 });
  assert.equal(table.nFeatures, 200);
});

test('encodeRows with imputation: blanks and missing markers take the fitted values and set the indicators', async () => {
  const table = await loadDataset(
    {
      ...csv(['n,c,label', '1,red,x', ',blue,y', '3,red,x'].join('\n')),
      impute: { numeric: 'mean', categorical: 'most_frequent', indicator: true },
    },
    1,
  );
  assert.deepEqual(table.encoding.featureNames, ['n', 'n=(missing)', 'c=blue', 'c=red']);
  const { x, unseen } = encodeRows(table.encoding, [
    { n: 'NA', c: '' },
    { n: ' 5 ', c: 'green' },
  ]);
  assert.deepEqual(Array.from(x), [2, 1, 0, 1, 5, 0, 0, 0]);
  assert.deepEqual(unseen, [{ column: 'c', count: 1, examples: ['green'] }]);
});
