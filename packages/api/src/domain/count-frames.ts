import { AppError } from '@avatar/shared';
import type { FileWindow } from './file-window.js';

/**
 * Frame counters for animated formats. Each walks the container's block structure without
 * decompressing anything and stops once it has seen `stopAfter` frames, so a hostile file
 * with millions of frames costs no more than one with `stopAfter`.
 */

export interface GifScan {
  frames: number;
  /** The logical screen, grown to cover any frame that extends past it (decoders grow it too). */
  width: number;
  height: number;
}

const SCAN_WINDOW_BYTES = 64 * 1024;

function undecodable(detail: string): AppError {
  return new AppError('image_undecodable', detail);
}

/**
 * Skips a chain of GIF data sub-blocks; returns the offset after the terminator, or -1 at end
 * of file. Walks each window synchronously: a hostile file of 1-byte sub-blocks has millions.
 */
async function skipSubBlocks(file: FileWindow, start: number): Promise<number> {
  let position = start;
  for (;;) {
    const window = await file.read(position, SCAN_WINDOW_BYTES);
    if (window.length === 0) return -1;
    let at = 0;
    while (at < window.length) {
      const length = window[at] ?? 0;
      if (length === 0) return position + at + 1;
      at += 1 + length;
    }
    position += at;
  }
}

function colourTableBytes(packed: number): number {
  return packed & 0x80 ? 3 * 2 ** ((packed & 0x07) + 1) : 0;
}

export async function scanGif(file: FileWindow, stopAfter: number): Promise<GifScan> {
  const header = await file.read(0, 13);
  const signature = header.toString('latin1', 0, 6);
  if (header.length < 13 || (signature !== 'GIF87a' && signature !== 'GIF89a')) {
    throw undecodable('GIF header is incomplete');
  }
  let width = header.readUInt16LE(6);
  let height = header.readUInt16LE(8);
  let position = 13 + colourTableBytes(header[10] ?? 0);
  let frames = 0;

  // A file cut short after at least one complete frame descriptor still shows that frame,
  // as browsers do; the worker's decoder has the last word on the pixel data.
  while (frames < stopAfter) {
    const introducer = (await file.read(position, 1))[0];
    if (introducer === undefined || introducer === 0x3b) break;
    if (introducer === 0x21) {
      position = await skipSubBlocks(file, position + 2);
    } else if (introducer === 0x2c) {
      const descriptor = await file.read(position + 1, 9);
      if (descriptor.length < 9) break;
      frames++;
      width = Math.max(width, descriptor.readUInt16LE(0) + descriptor.readUInt16LE(4));
      height = Math.max(height, descriptor.readUInt16LE(2) + descriptor.readUInt16LE(6));
      // descriptor, local colour table, LZW minimum code size, then the image data blocks
      position = await skipSubBlocks(file, position + 10 + colourTableBytes(descriptor[8] ?? 0) + 1);
    } else if (frames > 0) {
      break; // trailing garbage after a complete frame: decoders stop here too
    } else {
      throw undecodable(`GIF block 0x${introducer.toString(16)} at ${position} is not valid`);
    }
    if (position < 0) break;
  }
  if (frames === 0) throw undecodable('GIF has no image');
  return { frames, width, height };
}

/** Counts ANMF chunks of an animated WebP (1 for a still image). */
export async function countWebpFrames(file: FileWindow, stopAfter: number): Promise<number> {
  const header = await file.read(0, 21);
  const animated = header.toString('latin1', 12, 16) === 'VP8X' && ((header[20] ?? 0) & 0x02) !== 0;
  if (!animated) return 1;
  let frames = 0;
  let position = 12;
  while (frames < stopAfter) {
    const chunk = await file.read(position, 8);
    if (chunk.length < 8) break;
    if (chunk.toString('latin1', 0, 4) === 'ANMF') frames++;
    const size = chunk.readUInt32LE(4);
    position += 8 + size + (size % 2); // chunks are padded to even sizes
  }
  return Math.max(frames, 1);
}

/**
 * The frame count an APNG declares in its acTL chunk (1 for a plain PNG). Only the default
 * image is ever decoded, so the declared count is what matters for the frame limit. Looks at
 * no more than `stopAfterChunks` chunks before the image data: more is refused by the chunk
 * count anyway, and walking them here would cost the API the time the limit saves.
 */
export async function countApngFrames(file: FileWindow, stopAfterChunks: number): Promise<number> {
  let position = 8;
  for (let seen = 0; seen < stopAfterChunks; seen++) {
    const chunk = await file.read(position, 12);
    if (chunk.length < 12) return 1;
    const type = chunk.toString('latin1', 4, 8);
    if (type === 'acTL') return Math.max(chunk.readUInt32BE(8), 1);
    if (type === 'IDAT' || type === 'IEND') return 1;
    position += 12 + chunk.readUInt32BE(0);
  }
  return 1;
}
