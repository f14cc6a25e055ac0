/**
 * A data file's bytes as UTF-8 text, or a DataError that says the file is in another encoding:
 * a UTF-16 or UTF-32 file (a spreadsheet's "Unicode text"), or Latin-1 / Windows-1252 bytes,
 * would otherwise parse as one long cell or as garbled categories and be reported as a ragged row.
 */
import { DataError } from './table.js';

/** Byte-order marks of the encodings a spreadsheet writes, longest first (UTF-32 LE starts like UTF-16 LE). */
const BOMS: readonly { readonly bytes: readonly number[]; readonly name: string }[] = [
  { bytes: [0xff, 0xfe, 0x00, 0x00], name: 'UTF-32 (little-endian)' },
  { bytes: [0x00, 0x00, 0xfe, 0xff], name: 'UTF-32 (big-endian)' },
  { bytes: [0xff, 0xfe], name: 'UTF-16 (little-endian)' },
  { bytes: [0xfe, 0xff], name: 'UTF-16 (big-endian)' },
];

const FIX = 'save it as UTF-8 (a spreadsheet\'s "CSV UTF-8", or iconv -t UTF-8)';

/**
 * Decodes UTF-8 (a UTF-8 byte-order mark is dropped).
 * @throws {DataError} naming the file, the encoding it is in or the line and byte that are not UTF-8.
 */
export function decodeUtf8(path: string, bytes: Uint8Array): string {
  const bom = BOMS.find((b) => b.bytes.every((byte, i) => bytes[i] === byte));
  if (bom) throw new DataError(`${path}: the file is ${bom.name} text, not UTF-8; ${FIX}`);
  // UTF-16 without a byte-order mark: every other byte of ASCII text is 0.
  const nul = bytes.indexOf(0);
  if (nul >= 0)
    throw new DataError(
      `${path}, line ${lineAt(bytes, nul)}: the file holds NUL bytes, so it is not UTF-8 text ` +
        `(UTF-16 without a byte-order mark, or not a text file); ${FIX}`,
    );
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const byte = `0x${(bytes[at] ?? 0).toString(16).toUpperCase().padStart(2, '0')}`;
    throw new DataError(
      `${path}, line ${lineAt(bytes, at)}: byte ${byte} (at offset ${at}) is not UTF-8 text; the file is in another ` +
        `encoding, perhaps Latin-1 or Windows-1252; ${FIX}`,
    );
  }
}

/** 1-based line of byte `offset`. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence (RFC 3629), or the length. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const isContinuation = (i: number, low = 0x80, high = 0xbf) => i < bytes.length && bytes[i]! >= low && bytes[i]! <= high;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b < 0x80) length = 1;
    else if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0; // no overlong forms
      if (b === 0xed) high = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f; // nothing past U+10FFFF
    } else return i;
    if (length > 1 && !isContinuation(i + 1, low, high)) return i;
    for (let k = 2; k < length; k++) if (!isContinuation(i + k)) return i;
    i += length;
  }
  return i;
}
