import { undecodable } from '../errors.js';
import type { FileWindow } from './file-window.js';
import { STOP, walkRecords } from './walk-records.js';

/**
 * Frame counters for animated formats. Each walks the container's block structure without
 * decompressing anything and stops once it has seen `frames` frames or `records` blocks
 * or chunks, so a hostile file with millions of either costs no more than one at the stop.
 */

export interface StopAfter {
  frames: number;
  /** GIF blocks (extensions and images) or WebP chunks. */
  records: number;
}

export interface GifScan {
  frames: number;
  /** Extension and image blocks seen (not their data sub-blocks). */
  blocks: number;
  /** The logical screen, grown to cover any frame that extends past it (decoders grow it too). */
  width: number;
  height: number;
}

export interface WebpScan {
  frames: number;
  /** Chunks seen after the RIFF header; 0 for a simple (VP8 or VP8L) file, which decoders read as one image. */
  chunks: number;
}

const GIF_TRAILER = 0x3b;
const GIF_EXTENSION = 0x21;
const GIF_IMAGE = 0x2c;
/** The image separator and the 9-byte descriptor after it. */
const GIF_DESCRIPTOR_BYTES = 10;
const RIFF_CHUNK_HEADER_BYTES = 8;
const ANMF = 0x414e4d46; // 'ANMF' as a big-endian number: no string per chunk
const PNG_CHUNK_OVERHEAD_BYTES = 12;
const ACTL = 0x6163544c;
const IDAT = 0x49444154;
const IEND = 0x49454e44;

function colourTableBytes(packed: number): number {
  return packed & 0x80 ? 3 * 2 ** ((packed & 0x07) + 1) : 0;
}

/** How far a chain of GIF data sub-blocks at `at` goes within `bytes`, and whether its terminator is among them. */
function skipSubBlocks(bytes: Buffer, at: number): { length: number; ended: boolean } {
  let next = at;
  while (next < bytes.length && bytes[next] !== 0) next += 1 + (bytes[next] ?? 0);
  return next < bytes.length ? { length: next + 1 - at, ended: true } : { length: next - at, ended: false };
}

export async function scanGif(file: FileWindow, stopAfter: StopAfter): Promise<GifScan> {
  const header = await file.read(0, 13);
  const signature = header.toString('latin1', 0, 6);
  if (header.length < 13 || (signature !== 'GIF87a' && signature !== 'GIF89a')) {
    throw undecodable('GIF header is incomplete');
  }
  const scan: GifScan = { frames: 0, blocks: 0, width: header.readUInt16LE(6), height: header.readUInt16LE(8) };
  let inSubBlocks = false;

  // A file cut short after at least one complete frame descriptor still shows that frame,
  // as browsers do; the worker's decoder has the last word on the pixel data.
  await walkRecords(file, 13 + colourTableBytes(header[10] ?? 0), GIF_DESCRIPTOR_BYTES, (bytes, at, position) => {
    if (inSubBlocks) {
      const { length, ended } = skipSubBlocks(bytes, at);
      inSubBlocks = !ended;
      return length;
    }
    if (scan.frames >= stopAfter.frames || scan.blocks >= stopAfter.records) return STOP;
    const introducer = bytes[at] ?? GIF_TRAILER;
    if (introducer === GIF_TRAILER) return STOP;
    if (introducer === GIF_EXTENSION) {
      scan.blocks++;
      inSubBlocks = true;
      return 2; // introducer and label
    }
    if (introducer === GIF_IMAGE) {
      if (bytes.length - at < GIF_DESCRIPTOR_BYTES) return STOP;
      scan.blocks++;
      scan.frames++;
      scan.width = Math.max(scan.width, bytes.readUInt16LE(at + 1) + bytes.readUInt16LE(at + 5));
      scan.height = Math.max(scan.height, bytes.readUInt16LE(at + 3) + bytes.readUInt16LE(at + 7));
      inSubBlocks = true;
      // descriptor, local colour table, LZW minimum code size, then the image data sub-blocks
      return GIF_DESCRIPTOR_BYTES + colourTableBytes(bytes[at + 9] ?? 0) + 1;
    }
    if (scan.frames > 0) return STOP; // trailing garbage after a complete frame: decoders stop here too
    throw undecodable(`GIF block 0x${introducer.toString(16)} at ${position} is not valid`);
  });
  // stopped by the block count before any image: the caller refuses it for that
  if (scan.frames === 0 && scan.blocks < stopAfter.records) throw undecodable('GIF has no image');
  return scan;
}

/**
 * Counts the chunks of an extended (VP8X) WebP and its ANMF frames (1 for a still image).
 * libwebp's demuxer walks and keeps every chunk of an extended file before decoding
 * anything, so the chunks are counted whether or not it is animated; a simple file is one
 * image chunk, and what follows it is never read.
 */
export async function scanWebp(file: FileWindow, stopAfter: StopAfter): Promise<WebpScan> {
  const header = await file.read(0, 21);
  if (header.toString('latin1', 12, 16) !== 'VP8X') return { frames: 1, chunks: 0 };
  const animated = ((header[20] ?? 0) & 0x02) !== 0;
  const riffEnd = Math.min(file.size, 8 + header.readUInt32LE(4)); // data after the RIFF is not the image's
  let frames = 0;
  let chunks = 0;
  await walkRecords(file, 12, RIFF_CHUNK_HEADER_BYTES, (bytes, at, position) => {
    if (position + RIFF_CHUNK_HEADER_BYTES > riffEnd || frames >= stopAfter.frames || chunks >= stopAfter.records) return STOP;
    chunks++;
    if (bytes.readUInt32BE(at) === ANMF) frames++;
    const size = bytes.readUInt32LE(at + 4);
    return RIFF_CHUNK_HEADER_BYTES + size + (size % 2); // chunks are padded to even sizes
  });
  return { frames: animated ? Math.max(frames, 1) : 1, chunks };
}

/**
 * The frame count an APNG declares in its acTL chunk (1 for a plain PNG). Only the default
 * image is ever decoded, so the declared count is what matters for the frame limit. Looks at
 * no more than `stopAfterChunks` chunks before the image data: more is refused by the chunk
 * count anyway, and walking them here would cost the API the time the limit saves.
 */
export async function countApngFrames(file: FileWindow, stopAfterChunks: number): Promise<number> {
  let frames = 1;
  let seen = 0;
  await walkRecords(file, 8, PNG_CHUNK_OVERHEAD_BYTES, (bytes, at) => {
    if (seen++ >= stopAfterChunks || bytes.length - at < PNG_CHUNK_OVERHEAD_BYTES) return STOP;
    const type = bytes.readUInt32BE(at + 4);
    if (type === ACTL) frames = Math.max(bytes.readUInt32BE(at + 8), 1);
    if (type === ACTL || type === IDAT || type === IEND) return STOP;
    return PNG_CHUNK_OVERHEAD_BYTES + bytes.readUInt32BE(at);
  });
  return frames;
}
