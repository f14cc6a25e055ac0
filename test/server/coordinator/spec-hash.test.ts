import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../../server/storage/storage.js';
import { Coordinator } from '../../../server/coordinator/coordinator.js';
import type { AppError } from '../../../server/errors.js';
import { FakeRunner } from '../../helpers/fake-runner.js';

test("a MovieLens folder's files are part of the spec hash: edited ratings are other data, not a resume", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foldwise-spec-hash-'));
  const folder = join(dir, 'ml-1m');
  mkdirSync(folder);
  writeFileSync(join(folder, 'users.dat'), '1::F::1::10::48067\n');
  writeFileSync(join(folder, 'movies.dat'), '1::Toy Story (1995)::Comedy\n');
  writeFileSync(join(folder, 'ratings.dat'), '1::1::5::978300760\n');
  const spec = `name: ml\ndataset: { kind: movielens, path: ${folder} }\ngrid: { family: [mf] }\n`;
  const storage = openStorage(':memory:');
  const coordinator = new Coordinator(storage, new FakeRunner(() => ({ curve: [1] }), { info: { task: 'regression' } }), {
    dataDir: dir,
  });
  await coordinator.prepare(spec, { baseDir: dir });
  assert.equal((await coordinator.prepare(spec, { baseDir: dir })).resumed, true, 'the same files resume');
  appendFileSync(join(folder, 'ratings.dat'), '1::1::4::978300761\n');
  await assert.rejects(coordinator.prepare(spec, { baseDir: dir }), (error: AppError) => error.code === 'conflict');
  storage.close();
});
