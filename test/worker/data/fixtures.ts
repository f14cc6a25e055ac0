/** CSV fixtures and a DataError assertion shared by the data tests. */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatasetSpec } from '../../../worker/contract/spec.js';
import type { TaskKind } from '../../../worker/contract/vocabulary.js';
import { loadDataset } from '../../../worker/data/load.js';
import { DataError } from '../../../worker/data/table.js';

const dir = mkdtempSync(join(tmpdir(), 'foldwise-datasets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fixtureCount = 0;
/** Writes a CSV fixture and returns its dataset reference. */
export function csv(text: string, target = 'label'): Extract<DatasetSpec, { kind: 'csv' }> {
  const path = join(dir, `fixture-${++fixtureCount}.csv`);
  writeFileSync(path, text);
  return { kind: 'csv', path, target };
}

/** A path in the fixture folder where no file is. */
export function missingFile(name: string): string {
  return join(dir, name);
}

/** Asserts that loading fails with a DataError whose message matches every pattern. */
export async function assertDataError(dataset: DatasetSpec, patterns: readonly RegExp[], task?: TaskKind): Promise<void> {
  await assert.rejects(loadDataset(dataset, 1, task), (error: unknown) => {
    assert.ok(error instanceof DataError, `expected a DataError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

export const PETS = ['size,colour,weight,label', '1.5,red,10,cat', '2,blue,12,dog', '0.5,green,3,cat', '3,red,20,bird', ''].join('\n');

/** The fraud generator's reference with the defaults of the spec, and `overrides`. */
export const fraud = (overrides: Partial<Extract<DatasetSpec, { kind: 'fraud' }>> = {}): DatasetSpec => ({
  kind: 'fraud',
  rows: 20_000,
  features: 30,
  positiveRate: 0.03,
  ...overrides,
});
