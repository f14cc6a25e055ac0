import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCsv } from '../../../worker/data/csv.js';
import { DataError } from '../../../worker/data/table.js';
import { firstInvalidUtf8 } from '../../../worker/data/text-encoding.js';
import { scratchDir } from '../../helpers/run-task.js';

const dir = scratchDir('foldwise-encoding-');
const TEXT = `size,colour,label\n${Array.from({ length: 12 }, (_, i) => `${i},${i % 3 === 0 ? 'café' : 'noir'},${i % 2}`).join('\n')}\n`;

function csvOf(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function loadError(path: string): Promise<string> {
  const error = await loadCsv({ kind: 'csv', path, target: 'label' }, undefined).then(
    () => assert.fail('the file was accepted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DataError, String(error));
  assert.ok(!error.message.includes('cells, but the header'), `not reported as a ragged row: ${error.message}`);
  assert.ok(!error.message.includes('\n'), 'one line');
  return error.message;
}

const utf16le = (text: string) => Buffer.from(text, 'utf16le');
const utf16be = (text: string) => Buffer.from(utf16le(text)).swap16();
const withBom = (bom: number[], body: Buffer) => Buffer.concat([Buffer.from(bom), body]);

test('a UTF-16 file (either byte order, with or without a byte-order mark) is an encoding problem', async () => {
  const le = await loadError(csvOf('le.csv', withBom([0xff, 0xfe], utf16le(TEXT))));
  assert.match(le, /le\.csv: the file is UTF-16 \(little-endian\) text, not UTF-8; save it as UTF-8/);
  assert.match(await loadError(csvOf('be.csv', withBom([0xfe, 0xff], utf16be(TEXT)))), /UTF-16 \(big-endian\) text, not UTF-8/);
  const bare = await loadError(csvOf('bare.csv', utf16le(TEXT)));
  assert.match(bare, /bare\.csv, line 1: the file holds NUL bytes, so it is not UTF-8 text \(UTF-16 without a byte-order mark/);
  const utf32 = withBom([0xff, 0xfe, 0x00, 0x00], Buffer.from('a\0\0\0'));
  assert.match(await loadError(csvOf('32.csv', utf32)), /UTF-32 \(little-endian\) text/);
});

test('Latin-1 bytes name the line and the byte; UTF-8 with or without a byte-order mark loads', async () => {
  const latin1 = Buffer.from(TEXT, 'latin1');
  const message = await loadError(csvOf('latin1.csv', latin1));
  const offset = latin1.indexOf(0xe9);
  assert.equal(message.split(': ')[0], `${join(dir, 'latin1.csv')}, line 2`);
  assert.ok(message.includes(`byte 0xE9 (at offset ${offset}) is not UTF-8 text`), message);
  assert.match(message, /perhaps Latin-1 or Windows-1252/);
  for (const bytes of [Buffer.from(TEXT), withBom([0xef, 0xbb, 0xbf], Buffer.from(TEXT))]) {
    const table = await loadCsv({ kind: 'csv', path: csvOf('utf8.csv', bytes), target: 'label' }, undefined);
    assert.equal(table.nRows, 12);
    assert.deepEqual(table.encoding.featureNames, ['size', 'colour=café', 'colour=noir']);
  }
});

test('firstInvalidUtf8: well-formed sequences pass; overlong forms, surrogates, stray and truncated bytes are found', () => {
  const at = (...bytes: number[]) => firstInvalidUtf8(Uint8Array.from(bytes));
  assert.equal(at(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80), 10, 'a é € 😀');
  assert.equal(at(0x61, 0xc0, 0xaf), 1, 'overlong /');
  assert.equal(at(0xe0, 0x80, 0xaf), 0, 'overlong 3-byte');
  assert.equal(at(0x61, 0x62, 0xed, 0xa0, 0x80), 2, 'a surrogate');
  assert.equal(at(0xf4, 0x90, 0x80, 0x80), 0, 'past U+10FFFF');
  assert.equal(at(0xf5), 0);
  assert.equal(at(0x61, 0x80), 1, 'a stray continuation byte');
  assert.equal(at(0x61, 0xe2, 0x82), 1, 'truncated at the end');
});
