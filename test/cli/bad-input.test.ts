import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openStorage } from '../../server/storage/storage.js';
import { runCli, tempDir, writeFile } from '../helpers/cli.js';

/** Runs `foldwise run` on a spec (and optional CSV) and returns the result and how many experiments got recorded. */
async function runSpec(spec: string, csv?: string, extraArgs: string[] = []) {
  const dir = tempDir();
  if (csv !== undefined) writeFile(dir, 'data.csv', csv);
  const specPath = writeFile(dir, 'spec.yaml', spec);
  const result = await runCli(['run', specPath, '--workers', '1', ...extraArgs], join(dir, 'data'));
  const dataDir = join(dir, 'data');
  const dbPath = join(dataDir, 'foldwise.db');
  let experiments = 0;
  if (existsSync(dbPath)) {
    const storage = openStorage(dbPath);
    experiments = storage.experiments.list().length;
    storage.close();
  }
  return { ...result, experiments, dataDir };
}

const csvSpec = (extra = '') =>
  `name: csv\ndataset: { kind: csv, path: data.csv, target: label }\nvalidation: { kind: kfold, k: 3 }\ngrid: { epochs: 1 }\n${extra}`;
const goodRows = Array.from({ length: 30 }, (_, i) => `${i},${(i * 7) % 5},${i % 2 === 0 ? 'yes' : 'no'}`).join('\n');

const cases: [string, string, string | undefined, RegExp, string[]?][] = [
  ['malformed YAML', 'name: x\ndataset: [oops\n', undefined, /malformed YAML/],
  ['unknown key', 'name: x\ndataset: { kind: iris }\nepochz: 3\n', undefined, /unknown key "epochz"/],
  ['wrong type', 'name: x\ndataset: { kind: iris }\ngrid: { depth: deep }\n', undefined, /grid\.depth/],
  [
    'empty grid list',
    'name: x\ndataset: { kind: iris }\ngrid: { width: [] }\n',
    undefined,
    /grid\.width: a grid list needs at least one value/,
  ],
  [
    'grid over the limit',
    'name: x\ndataset: { kind: iris }\nmaxRuns: 3\ngrid: { width: [1, 2, 3, 4] }\n',
    undefined,
    /expands to 4 runs, more than maxRuns \(3\).*--allow-large-grid/,
  ],
  ['missing CSV', csvSpec(), undefined, /file not found/],
  ['empty CSV', csvSpec(), '', /empty/i],
  ['CSV without the target column', csvSpec(), `a,b,c\n${goodRows}`, /target column "label"/],
  ['ragged CSV row', csvSpec(), `a,b,label\n${goodRows}\n1,2`, /row 32/],
  ['non-numeric cell', csvSpec(), `a,b,label\n${goodRows.replace(/^0,0,/, 'zero,0,')}\n`, /row 2.*column "a"|column "a".*row 2/],
  ['missing cell', csvSpec(), `a,b,label\n${goodRows.replace(/^0,0,/, ',0,')}\n`, /row 2.*column "a"|column "a".*row 2/],
  [
    'single-class target',
    csvSpec('task: binary\n'),
    `a,b,label\n${goodRows.replace(/,(yes|no)$/gm, ',yes')}\n`,
    /one class|single class|only one/i,
  ],
  [
    'fewer rows than folds',
    csvSpec().replace('k: 3', 'k: 5'),
    'a,b,label\n1,2,yes\n2,3,no\n3,4,yes\n4,5,no\n',
    /5-fold cross-validation needs at least 5 training rows, but there are only 3/,
  ],
];

/** A csv spec whose dataset has `fields` too (column roles, impute, maxCategories), as YAML flow mapping entries. */
const rolesSpec = (fields: string) =>
  `name: csv\ndataset: { kind: csv, path: data.csv, target: label, ${fields} }\nvalidation: { kind: kfold, k: 3 }\ngrid: { epochs: 1 }\n`;
const roleRow = (i: number) => `${i},${(i * 7) % 5},k${i % 4},${i % 2 === 0 ? 'yes' : 'no'}`;
const roleRows = `a,b,c,label\n${Array.from({ length: 30 }, (_, i) => roleRow(i)).join('\n')}\n`;
cases.push(
  [
    'an unknown column in a role',
    rolesSpec('columns: { drop: [nope] }'),
    roleRows,
    /dataset\.columns\.drop\[0\]: no column "nope" in .*data\.csv; the columns are "a", "b", "c", "label"/,
  ],
  ['an unknown id column', rolesSpec('columns: { id: order }'), roleRows, /dataset\.columns\.id: no column "order"/],
  [
    'an unknown column in impute.columns',
    rolesSpec('impute: { columns: { nope: median } }'),
    roleRows,
    /dataset\.impute\.columns\.nope: no column "nope".*"a", "b", "c", "label"/,
  ],
  [
    'a column listed twice',
    rolesSpec('columns: { categorical: [a, b, a] }'),
    undefined,
    /dataset\.columns\.categorical\[2\]: "a" is listed twice/,
  ],
  [
    'a column in two roles',
    rolesSpec('columns: { drop: [a], numeric: [b, a] }'),
    undefined,
    /dataset\.columns\.numeric\[1\]: "a" is also in columns\.drop; a column has one role/,
  ],
  ['dropping the target', rolesSpec('columns: { drop: [label] }'), undefined, /dataset\.columns\.drop\[0\]: "label" is the target column/],
  ['the target as the id', rolesSpec('columns: { id: label }'), undefined, /dataset\.columns\.id: "label" is the target column/],
  [
    'a strategy that does not fit an inferred kind',
    rolesSpec('impute: { columns: { a: most_frequent } }'),
    roleRows,
    /dataset\.impute\.columns\.a: "most_frequent" does not fit a numeric column \(expected median, mean, constant\)/,
  ],
  [
    'a strategy that does not fit a role',
    rolesSpec('columns: { categorical: [a] }, impute: { columns: { a: median } }'),
    undefined,
    /dataset\.impute\.columns\.a: "median" does not fit a categorical column/,
  ],
  ['a numeric strategy for categories', rolesSpec('impute: { categorical: median }'), undefined, /dataset\.impute\.categorical/],
  ['maxCategories below 2', rolesSpec('maxCategories: 1'), undefined, /dataset\.maxCategories/],
  [
    'text in a column made numeric',
    rolesSpec('columns: { numeric: [c] }'),
    roleRows,
    /row 2, column "c": non-numeric value "k0" in a column that dataset\.columns\.numeric makes numeric/,
  ],
);

for (const [what, spec, csv, message] of cases) {
  test(`foldwise run refuses ${what}: exit 2, a message naming it, nothing written`, async () => {
    const result = await runSpec(spec, csv);
    assert.equal(result.code, 2, `exit code (stderr: ${result.stderr})`);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(result.experiments, 0, 'nothing recorded');
  });
}

test('foldwise run: a spec file that does not exist exits 2', async () => {
  const dir = tempDir();
  const result = await runCli(['run', join(dir, 'nope.yaml')], dir);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /spec file not found/);
});

test('foldwise show / refit / predict / delete: an unknown experiment exits 2 and names it', async () => {
  const first = await runSpec('name: ok\ndataset: { kind: iris }\ngrid: { epochs: 1 }\nvalidation: { kind: holdout }\n', undefined, [
    '--no-refit',
  ]);
  assert.equal(first.code, 0, first.stderr);
  for (const args of [
    ['show', 'nope'],
    ['refit', 'nope'],
    ['predict', '--experiment', 'nope', '--input', 'x.csv'],
    ['delete', 'nope', '--yes'],
  ]) {
    const result = await runCli(args, first.dataDir);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, /no experiment named "nope"/);
  }
  const noModel = await runCli(['predict', '--experiment', 'ok', '--input', 'x.csv'], first.dataDir);
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /has no refit model: run `foldwise refit ok` first/);
});

test('foldwise: a non-numeric --run id and --workers 0 are refused', async () => {
  const dir = tempDir();
  const refit = await runCli(['refit', 'x', '--run', 'abc'], dir);
  assert.notEqual(refit.code, 0);
  assert.match(refit.stderr, /--run.*whole number/);
  const workers = await runCli(['run', 'experiments/default.yaml', '--workers', '0'], dir);
  assert.notEqual(workers.code, 0);
  assert.match(workers.stderr, /whole number from 1 up/);
});
