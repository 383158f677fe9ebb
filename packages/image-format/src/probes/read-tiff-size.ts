import { undecodable } from '../errors.js';
import type { FileWindow } from './file-window.js';

const IMAGE_WIDTH = 256;
const IMAGE_LENGTH = 257;
const SHORT = 3;
const LONG = 4;
const LONG8 = 16;
/** Real first directories hold a few dozen tags; more than this is not a TIFF we want. */
const MAX_ENTRIES = 1024;

/** How a classic or Big TIFF lays out its numbers and directories, from its header. */
interface TiffLayout {
  big: boolean;
  u16: (b: Buffer, at: number) => number;
  u32: (b: Buffer, at: number) => number;
  u64: (b: Buffer, at: number) => number;
  firstDirectory: number;
  /** bytes of a directory's entry count, of one entry, and of the next-directory offset */
  countBytes: number;
  entryBytes: number;
  offsetBytes: number;
}

async function readLayout(file: FileWindow): Promise<TiffLayout> {
  const header = await file.read(0, 16);
  if (header.length < 8) throw undecodable('TIFF: header is incomplete');
  const little = header.toString('latin1', 0, 2) === 'II';
  const u16 = (b: Buffer, at: number): number => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number): number => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u64 = (b: Buffer, at: number): number => Number(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
  const big = u16(header, 2) === 43;
  if (big && header.length < 16) throw undecodable('TIFF: header is incomplete');
  return {
    big,
    u16,
    u32,
    u64,
    firstDirectory: big ? u64(header, 8) : u32(header, 4),
    countBytes: big ? 8 : 2,
    entryBytes: big ? 20 : 12,
    offsetBytes: big ? 8 : 4,
  };
}

/**
 * Reads the first image's dimensions from a classic or Big TIFF. The first directory may sit
 * anywhere (libtiff writes it after the pixel data), so it is read at its offset rather than
 * from the first bytes of the file.
 */
export async function readTiffSize(file: FileWindow): Promise<{ width: number; height: number }> {
  const { big, u16, u32, u64, firstDirectory: directory, countBytes, entryBytes } = await readLayout(file);

  const countField = await file.read(directory, countBytes);
  if (countField.length < countBytes) throw undecodable('TIFF: first directory is outside the file');
  const count = big ? u64(countField, 0) : u16(countField, 0);
  if (count === 0 || count > MAX_ENTRIES) throw undecodable(`TIFF: first directory has ${count} entries`);
  const entries = await file.read(directory + countBytes, count * entryBytes);
  if (entries.length < count * entryBytes) throw undecodable('TIFF: first directory is truncated');

  let width = 0;
  let height = 0;
  for (let at = 0; at < entries.length; at += entryBytes) {
    const tag = u16(entries, at);
    if (tag !== IMAGE_WIDTH && tag !== IMAGE_LENGTH) continue;
    const type = u16(entries, at + 2);
    const valueAt = at + (big ? 12 : 8);
    const value = type === SHORT ? u16(entries, valueAt) : type === LONG ? u32(entries, valueAt) : big && type === LONG8 ? u64(entries, valueAt) : 0;
    if (tag === IMAGE_WIDTH) width = value;
    else height = value;
  }
  return { width, height };
}

/**
 * How many directories (pages) the TIFF's chain holds, counting no further than `stopAfter`.
 * libvips walks the whole chain to count pages before it decodes the first, at about 30 µs a
 * directory, so a long chain of tiny directories is slow to open though only page 1 is used.
 * A chain that comes back to a directory it has passed is refused, as libtiff refuses it.
 */
export async function countTiffDirectories(file: FileWindow, stopAfter: number): Promise<number> {
  const { big, u16, u32, u64, firstDirectory, countBytes, entryBytes, offsetBytes } = await readLayout(file);
  const seen = new Set<number>();
  let directory = firstDirectory;
  while (directory !== 0 && seen.size < stopAfter) {
    if (seen.has(directory)) throw undecodable('TIFF: the directory chain loops');
    const countField = await file.read(directory, countBytes);
    if (countField.length < countBytes) break;
    seen.add(directory);
    const count = big ? u64(countField, 0) : u16(countField, 0);
    const next = await file.read(directory + countBytes + count * entryBytes, offsetBytes);
    if (next.length < offsetBytes) break;
    directory = big ? u64(next, 0) : u32(next, 0);
  }
  return seen.size;
}
