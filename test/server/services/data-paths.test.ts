import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../../server/errors.js';
import { DataPaths } from '../../../server/services/data-paths.js';

const root = mkdtempSync(join(tmpdir(), 'foldwise-data-paths-'));
const experimentsDir = join(root, 'experiments');
const dataDir = join(root, 'data');
const outside = join(root, 'outside');
for (const dir of [experimentsDir, dataDir, outside, join(outside, 'ml'), join(dataDir, 'tables'), join(experimentsDir, 'ml')])
  mkdirSync(dir, { recursive: true });
writeFileSync(join(outside, 'secret.csv'), 'a,b\n1,2\n');
writeFileSync(join(outside, 'ml', 'u.data'), '1\t1\t5\t0\n');
writeFileSync(join(dataDir, 'tables', 't.csv'), 'a,b\n1,2\n');
const paths = new DataPaths({ experimentsDir, dataDir });

function refusal(specPath: string): string {
  try {
    paths.check(specPath);
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.issues[0]!.path, 'dataset.path');
    assert.ok(!error.message.includes('\n'), 'one line');
    return error.message;
  }
  assert.fail(`${specPath} was accepted`);
}

test('a dataset path that is, or passes through, a link out of the allowed folders is refused like a spec file', () => {
  symlinkSync(join(outside, 'secret.csv'), join(experimentsDir, 'linked.csv'));
  assert.match(
    refusal('linked.csv'),
    new RegExp(`a link to ${join(outside, 'secret.csv')}\\) is outside the folders the dashboard may read`),
  );
  // A linked folder, with the file inside it.
  symlinkSync(outside, join(dataDir, 'shared'));
  assert.match(refusal(join(dataDir, 'shared', 'secret.csv')), /a link to .*outside[/]secret\.csv/);
  // A MovieLens folder that is a link out.
  symlinkSync(join(outside, 'ml'), join(experimentsDir, 'ml-linked'));
  assert.match(refusal('ml-linked'), /a link to .*outside[/]ml\)/);
  // A MovieLens folder inside whose ratings file is a link out: named, with where it leads.
  symlinkSync(join(outside, 'ml', 'u.data'), join(experimentsDir, 'ml', 'u.data'));
  assert.match(refusal('ml'), new RegExp(`whose u\\.data is a link to ${join(outside, 'ml', 'u.data')}\\)`));
  // Plain escapes stay refused, absolute or relative.
  assert.match(refusal('../outside/secret.csv'), /relative to the experiments folder, so /);
  assert.match(refusal(join(outside, 'secret.csv')), /is outside the folders/);
});

test('links that stay inside the experiments folder or the data directory may be read', () => {
  symlinkSync(join(dataDir, 'tables', 't.csv'), join(experimentsDir, 't.csv'));
  assert.equal(paths.check('t.csv'), join(experimentsDir, 't.csv'));
  mkdirSync(join(experimentsDir, 'ml-ok'));
  writeFileSync(join(dataDir, 'tables', 'u.data'), '1\t1\t5\t0\n');
  symlinkSync(join(dataDir, 'tables', 'u.data'), join(experimentsDir, 'ml-ok', 'u.data'));
  assert.equal(paths.check('ml-ok'), join(experimentsDir, 'ml-ok'));
  assert.equal(paths.check(join(dataDir, 'tables', 't.csv')), join(dataDir, 'tables', 't.csv'));
  assert.equal(paths.check('missing.csv'), join(experimentsDir, 'missing.csv'), 'a missing file is the loader’s to report');
});
