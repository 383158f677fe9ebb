import sharp from 'sharp';

/**
 * GIF and WebP files built byte by byte whose cost is in the number of their blocks or
 * chunks, not their pixels: what a hostile client sends to make a header walk slow.
 */

const GIF_HEADER = Buffer.from([...Buffer.from('GIF89a', 'latin1'), 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
/** A 1×1 image: descriptor, LZW code size 2, one data sub-block (clear, pixel 0, end), terminator. */
const GIF_FRAME = Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0]);
/** The smallest block a GIF can hold: an empty comment extension. */
const GIF_EMPTY_COMMENT = Buffer.from([0x21, 0xfe, 0]);
const GIF_TRAILER = Buffer.from([0x3b]);

/** `unit` written `count` times. */
function repeated(unit: Buffer, count: number): Buffer {
  return count > 0 ? Buffer.alloc(unit.length * count, unit) : Buffer.alloc(0);
}

export interface GifBombOptions {
  /** Empty comment extensions (3 bytes each) before the first frame. */
  extensions?: number;
  /** 1×1 frames after them. */
  frames?: number;
  /** 1-byte data sub-blocks in one comment extension before the frames (2 bytes each). */
  subBlocks?: number;
}

/** A 1×1 GIF of `frames` frames (1 by default) behind the blocks asked for. */
export function gifBomb({ extensions = 0, frames = 1, subBlocks = 0 }: GifBombOptions): Buffer {
  const parts: Buffer[] = [GIF_HEADER];
  // length 1, data byte 1, repeated; then the terminator
  if (subBlocks > 0) parts.push(Buffer.from([0x21, 0xfe]), Buffer.alloc(2 * subBlocks, 1), Buffer.from([0]));
  parts.push(repeated(GIF_EMPTY_COMMENT, extensions), repeated(GIF_FRAME, frames), GIF_TRAILER);
  return Buffer.concat(parts);
}

/** How many GIF blocks (extensions and images) `gifBomb` writes for these options. */
export function gifBombBlocks({ extensions = 0, frames = 1, subBlocks = 0 }: GifBombOptions): number {
  return (subBlocks > 0 ? 1 : 0) + extensions + frames;
}

function riffChunk(fourcc: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(fourcc, 0, 'latin1');
  header.writeUInt32LE(data.length, 4);
  return Buffer.concat(data.length % 2 ? [header, data, Buffer.alloc(1)] : [header, data]);
}

function uint24(value: number): number[] {
  return [value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff];
}

/** The VP8L chunk of a 1×1 lossless WebP written by libwebp. */
async function tinyVp8l(): Promise<Buffer> {
  const webp = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#c83232' } }).webp({ lossless: true }).toBuffer();
  if (webp.toString('latin1', 12, 16) !== 'VP8L') throw new Error('libwebp wrote no simple lossless WebP');
  return webp.subarray(12);
}

export interface WebpBombOptions {
  /** Empty chunks of a type no decoder knows (8 bytes each), before the frames. */
  chunks?: number;
  /** 1×1 ANMF frames; 0 makes a still extended (VP8X) WebP with one image. */
  frames?: number;
}

/** A 1×1 extended WebP: VP8X, (ANIM,) the unknown chunks, then the frames or the image. */
export async function webpBomb({ chunks = 0, frames = 1 }: WebpBombOptions): Promise<Buffer> {
  const image = await tinyVp8l();
  const animated = frames > 0;
  const vp8x = riffChunk('VP8X', Buffer.from([animated ? 0x02 : 0, 0, 0, 0, ...uint24(0), ...uint24(0)]));
  const anim = riffChunk('ANIM', Buffer.alloc(6));
  const frame = riffChunk('ANMF', Buffer.concat([Buffer.from([...uint24(0), ...uint24(0), ...uint24(0), ...uint24(0), ...uint24(100), 0]), image]));
  const filler = riffChunk('XTRA', Buffer.alloc(0));
  const body = Buffer.concat([
    Buffer.from('WEBP', 'latin1'),
    vp8x,
    ...(animated ? [anim] : []),
    repeated(filler, chunks),
    animated ? repeated(frame, frames) : image,
  ]);
  const header = Buffer.alloc(8);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** How many chunks after the RIFF header `webpBomb` writes for these options. */
export function webpBombChunks({ chunks = 0, frames = 1 }: WebpBombOptions): number {
  return 1 + (frames > 0 ? 1 + frames : 1) + chunks;
}
