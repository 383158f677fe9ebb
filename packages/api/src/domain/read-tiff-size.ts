import { AppError } from '@avatar/shared';
import type { FileWindow } from './file-window.js';

const IMAGE_WIDTH = 256;
const IMAGE_LENGTH = 257;
const SHORT = 3;
const LONG = 4;
const LONG8 = 16;
/** Real first directories hold a few dozen tags; more than this is not a TIFF we want. */
const MAX_ENTRIES = 1024;

function undecodable(detail: string): AppError {
  return new AppError('image_undecodable', `TIFF: ${detail}`);
}

/**
 * Reads the first image's dimensions from a classic or Big TIFF. The first directory may sit
 * anywhere (libtiff writes it after the pixel data), so it is read at its offset rather than
 * from the first bytes of the file.
 */
export async function readTiffSize(file: FileWindow): Promise<{ width: number; height: number }> {
  const header = await file.read(0, 16);
  if (header.length < 8) throw undecodable('header is incomplete');
  const little = header.toString('latin1', 0, 2) === 'II';
  const u16 = (b: Buffer, at: number): number => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number): number => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u64 = (b: Buffer, at: number): number => Number(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));

  const big = u16(header, 2) === 43;
  if (big && header.length < 16) throw undecodable('header is incomplete');
  const directory = big ? u64(header, 8) : u32(header, 4);
  const countBytes = big ? 8 : 2;
  const entryBytes = big ? 20 : 12;

  const countField = await file.read(directory, countBytes);
  if (countField.length < countBytes) throw undecodable('first directory is outside the file');
  const count = big ? u64(countField, 0) : u16(countField, 0);
  if (count === 0 || count > MAX_ENTRIES) throw undecodable(`first directory has ${count} entries`);
  const entries = await file.read(directory + countBytes, count * entryBytes);
  if (entries.length < count * entryBytes) throw undecodable('first directory is truncated');

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
