import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@avatar/shared';
import { countJpegScans } from '../../src/probes/count-jpeg-scans.js';
import { FileWindow, WINDOW_BYTES } from '../../src/probes/file-window.js';
import { inspectImage, MAX_PNG_CHUNKS, maxContainerRecords, type ImageLimits } from '../../src/inspect-image.js';
import { gifBomb, gifBombBlocks, webpBomb, webpBombChunks } from '../../src/testing/container-bombs.js';

const LIMITS: ImageLimits = { maxInputPixels: 50_000_000, maxSide: 20_000, maxFrames: 1_000, maxJpegScans: 100 };
/** What the upload route captures while streaming: enough for content sniffing. */
const HEAD_BYTES = 4100;

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'inspect-image-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Stages `bytes` as the upload route would and inspects them. */
async function inspect(bytes: Buffer, limits: ImageLimits = LIMITS): ReturnType<typeof inspectImage> {
  const file = path.join(dir, `upload-${++counter}`);
  await writeFile(file, bytes);
  return inspectImage(file, bytes.subarray(0, HEAD_BYTES), limits);
}

async function expectRefusal(bytes: Buffer, code: string, limits: ImageLimits = LIMITS): Promise<AppError> {
  const error: unknown = await inspect(bytes, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
  return error as AppError;
}

function solid(width: number, height: number, channels: 3 | 4 = 3): Sharp {
  return sharp({ create: { width, height, channels, background: { r: 200, g: 40, b: 40, alpha: 1 } } });
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/** A PNG that is only a signature, an IHDR (with a correct CRC) and IEND: no pixel data at all. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), pngChunk('IHDR', ihdr), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A GIF of `frames` 1×1 frames, each a valid LZW stream for one pixel of colour 0. */
function gifWithFrames(frames: number): Buffer {
  const header = Buffer.from('GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff', 'latin1');
  const frame = Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00]);
  return Buffer.concat([header, ...Array.from({ length: frames }, () => frame), Buffer.from([0x3b])]);
}

/** A 24-bit bottom-up BMP with a BITMAPINFOHEADER. */
function bmp(width: number, height: number): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const file = Buffer.alloc(54 + stride * height);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(54, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(24, 28);
  return file;
}

/** Offset of a JPEG marker segment (e.g. 0xc0 for SOF0) in a baseline file made by sharp. */
function markerOffset(jpeg: Buffer, marker: number): number {
  const at = jpeg.indexOf(Buffer.from([0xff, marker]));
  if (at < 0) throw new Error(`marker ${marker.toString(16)} not found`);
  return at;
}

describe('inspectImage accepts real images by content', () => {
  it.each([
    ['JPEG', () => solid(40, 30).jpeg().toBuffer(), 'image/jpeg', 'jpg'],
    ['progressive JPEG', () => solid(41, 31).jpeg({ progressive: true }).toBuffer(), 'image/jpeg', 'jpg'],
    ['PNG', () => solid(41, 29, 4).png().toBuffer(), 'image/png', 'png'],
    ['WebP (lossy)', () => solid(42, 28).webp().toBuffer(), 'image/webp', 'webp'],
    ['WebP (lossless, alpha)', () => solid(43, 27, 4).webp({ lossless: true }).toBuffer(), 'image/webp', 'webp'],
    ['GIF', () => solid(44, 26).gif().toBuffer(), 'image/gif', 'gif'],
    ['AVIF', () => solid(45, 25).avif().toBuffer(), 'image/avif', 'avif'],
    ['TIFF', () => solid(46, 24).tiff().toBuffer(), 'image/tiff', 'tif'],
    ['BigTIFF', () => solid(47, 23).tiff({ bigtiff: true }).toBuffer(), 'image/tiff', 'tif'],
    ['BMP', () => Promise.resolve(bmp(48, 22)), 'image/bmp', 'bmp'],
  ])('%s', async (_name, build, mime, ext) => {
    const bytes = await build();
    const meta = await sharp(bytes).metadata().catch(() => ({ width: 48, height: 22 }));
    await expect(inspect(bytes)).resolves.toEqual({ mime, ext, width: meta.width, height: meta.height, frames: 1 });
  });

  it('reads a TIFF whose first directory sits after the pixel data, past the first bytes', async () => {
    const bytes = await sharp({ create: { width: 600, height: 200, channels: 3, background: 'white' } }).tiff({ compression: 'none' }).toBuffer();
    expect(bytes.readUInt32LE(4)).toBeGreaterThan(WINDOW_BYTES);
    await expect(inspect(bytes)).resolves.toMatchObject({ mime: 'image/tiff', width: 600, height: 200 });
  });

  it('reads a JPEG whose frame header comes after 200 KB of metadata segments', async () => {
    const jpeg = await solid(64, 48).jpeg().toBuffer();
    const segment = Buffer.alloc(2 + 2 + 65_000, 0x20);
    segment[0] = 0xff;
    segment[1] = 0xe2; // APP2, as an ICC profile split over segments would be
    segment.writeUInt16BE(65_002, 2);
    const bytes = Buffer.concat([jpeg.subarray(0, 2), segment, segment, segment, jpeg.subarray(2)]);
    await expect(inspect(bytes)).resolves.toMatchObject({ mime: 'image/jpeg', width: 64, height: 48 });
  });

  it('counts the frames of an animated GIF and WebP', async () => {
    // distinct frames: encoders merge identical consecutive frames
    const raw = Buffer.alloc(16 * 48 * 3);
    for (let i = 0; i < raw.length; i += 3) raw[i + Math.floor(i / (16 * 16 * 3))] = 255;
    const frames = () => sharp(raw, { raw: { width: 16, height: 48, channels: 3, pageHeight: 16 } });
    await expect(inspect(await frames().gif({ delay: [50, 50, 50] }).toBuffer())).resolves.toMatchObject({ width: 16, height: 16, frames: 3 });
    await expect(inspect(await frames().webp({ delay: [50, 50, 50] }).toBuffer())).resolves.toMatchObject({ width: 16, height: 16, frames: 3 });
  });

  it('accepts a JPEG whose tail is cut off when its header is intact (the worker refuses it later)', async () => {
    const jpeg = await sharp({ create: { width: 400, height: 300, channels: 3, background: 'gray', noise: { type: 'gaussian', mean: 128, sigma: 50 } } })
      .jpeg()
      .toBuffer();
    await expect(inspect(jpeg.subarray(0, Math.floor(jpeg.length / 2)))).resolves.toMatchObject({ width: 400, height: 300 });
  });

  it('accepts a HEIF-branded file that declares the AVIF brand as AVIF', async () => {
    const avif = await solid(33, 22).avif().toBuffer();
    avif.write('mif1', 8, 'latin1'); // major brand; `avif` stays among the compatible brands
    await expect(inspect(avif)).resolves.toMatchObject({ mime: 'image/avif', ext: 'avif', width: 33, height: 22 });
  });

  it('accepts the AVIF image-sequence brand', async () => {
    const avif = await solid(34, 21).avif().toBuffer();
    avif.write('avis', 8, 'latin1');
    await expect(inspect(avif)).resolves.toMatchObject({ mime: 'image/avif', width: 34, height: 21 });
  });
});

describe('inspectImage refuses what is not a supported image with unsupported_media_type', () => {
  it.each([
    ['zero bytes', Buffer.alloc(0)],
    ['plain text', Buffer.from('just some text, honestly an image\n')],
    ['HTML', Buffer.from('<!doctype html><html><body><img src=x onerror=alert(1)></body></html>')],
    [
      'SVG with a script and an XML prolog',
      Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'),
    ],
    ['PDF', Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n')],
    ['ZIP', Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'), Buffer.alloc(40)])],
    ['HEIC', Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic', 'latin1'), Buffer.alloc(64)])],
    ['MP4 video', Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2', 'latin1'), Buffer.alloc(64)])],
  ])('%s', async (_name, bytes) => {
    const error = await expectRefusal(bytes, 'unsupported_media_type');
    expect(error.status).toBe(415);
  });

  it('refuses polyglots by what they sniff as, not by the image inside', async () => {
    const jpeg = await solid(20, 20).jpeg().toBuffer();
    await expectRefusal(Buffer.concat([Buffer.from('%PDF-1.4\n%', 'latin1'), jpeg]), 'unsupported_media_type');
    const png = await solid(20, 20).png().toBuffer();
    const zip = Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00\x00\x00', 'latin1'), Buffer.alloc(16), Buffer.from('a.png', 'latin1'), png]);
    await expectRefusal(zip, 'unsupported_media_type');
  });
});

describe('inspectImage refuses oversized headers with image_too_large', () => {
  it('a PNG whose IHDR claims 100000×100000', async () => {
    const error = await expectRefusal(pngHeaderOnly(100_000, 100_000), 'image_too_large');
    expect(error.status).toBe(422);
    expect(error.extra).toMatchObject({ width: 100_000, height: 100_000, limit: LIMITS.maxInputPixels });
  });

  it('a JPEG whose SOF claims 65000×65000', async () => {
    const jpeg = await solid(16, 16).jpeg().toBuffer();
    const sof = markerOffset(jpeg, 0xc0);
    jpeg.writeUInt16BE(65_000, sof + 5);
    jpeg.writeUInt16BE(65_000, sof + 7);
    const error = await expectRefusal(jpeg, 'image_too_large');
    expect(error.extra).toMatchObject({ width: 65_000, height: 65_000 });
  });

  it('a side longer than maxSide even when the pixel count is small', async () => {
    await expectRefusal(pngHeaderOnly(30_000, 1), 'image_too_large');
  });

  it('a GIF with more frames than maxFrames, and not one with exactly maxFrames', async () => {
    const gif = gifWithFrames(5_000);
    await expectRefusal(gif, 'image_too_large');
    await expect(inspect(gif, { ...LIMITS, maxFrames: 5_000 })).resolves.toMatchObject({ mime: 'image/gif', width: 1, height: 1, frames: 5_000 });
  });

  it('accepts an image exactly at the pixel limit', async () => {
    await expect(inspect(pngHeaderOnly(100, 100), { ...LIMITS, maxInputPixels: 10_000 })).resolves.toMatchObject({ width: 100, height: 100 });
    await expectRefusal(pngHeaderOnly(100, 101), 'image_too_large', { ...LIMITS, maxInputPixels: 10_000 });
  });
});

describe('inspectImage refuses unreadable headers with image_undecodable', () => {
  it('a PNG cut off inside its IHDR', async () => {
    await expectRefusal(pngHeaderOnly(10, 10).subarray(0, 20), 'image_undecodable');
  });

  it('a PNG with zero width', async () => {
    await expectRefusal(pngHeaderOnly(0, 10), 'image_undecodable');
  });

  it('a JPEG cut off before its frame header', async () => {
    const jpeg = await solid(16, 16).jpeg().toBuffer();
    await expectRefusal(jpeg.subarray(0, markerOffset(jpeg, 0xc0)), 'image_undecodable');
  });

  it('a GIF with a screen descriptor but no image', async () => {
    await expectRefusal(gifWithFrames(0), 'image_undecodable');
  });

  it('a TIFF whose first directory is empty', async () => {
    const tiff = await solid(10, 10).tiff().toBuffer();
    tiff.writeUInt16LE(0, tiff.readUInt32LE(4));
    await expectRefusal(tiff, 'image_undecodable');
  });

  it('a TIFF whose first directory points outside the file is not recognised at all', async () => {
    const tiff = await solid(10, 10).tiff().toBuffer();
    tiff.writeUInt32LE(0x7fffffff, 4);
    await expectRefusal(tiff, 'unsupported_media_type');
  });
});

// ---------------------------------------------------------------------------------------
// CPU bombs: small files whose structure, not their pixel count, makes the decode slow.

/** Writes `bytes` to a file and counts its scans the way inspectImage does. */
async function scansOf(bytes: Buffer, stopAfter = 10_000): Promise<number> {
  const file = path.join(dir, `scans-${++counter}`);
  await writeFile(file, bytes);
  const window = await FileWindow.open(file);
  try {
    return await countJpegScans(window, stopAfter);
  } finally {
    await window.close();
  }
}

/** libjpeg's own progression (jpeg_simple_progression): 10 scans for YCbCr. */
function progressiveJpeg(image: Sharp): Promise<Buffer> {
  return image.jpeg({ progressive: true, mozjpeg: false }).toBuffer();
}

function noise(width: number, height: number): Sharp {
  return sharp({ create: { width, height, channels: 3, background: 'gray', noise: { type: 'gaussian', mean: 128, sigma: 60 } } });
}

/** The JPEG with its last scan (the table before it, the SOS segment and its data) repeated until it has `total` scans. */
function withScans(jpeg: Buffer, base: number, total: number): Buffer {
  const sos = jpeg.lastIndexOf(Buffer.from([0xff, 0xda]));
  const dht = jpeg.lastIndexOf(Buffer.from([0xff, 0xc4]), sos);
  const eoi = jpeg.length - 2;
  const scan = jpeg.subarray(dht, eoi);
  return Buffer.concat([jpeg.subarray(0, eoi), ...Array.from({ length: total - base }, () => scan), jpeg.subarray(eoi)]);
}

/** An APPn segment of `length` bytes of `fill` after the marker and length. */
function appSegment(marker: number, length: number, fill: Buffer = Buffer.from([0x20])): Buffer {
  const segment = Buffer.alloc(4 + length);
  segment[0] = 0xff;
  segment[1] = marker;
  segment.writeUInt16BE(length + 2, 2);
  segment.fill(fill, 4);
  return segment;
}

/** A PNG of `total` chunks: IHDR, empty private ancillary chunks (which decoders skip), IEND. */
function pngWithChunks(total: number): Buffer {
  const header = pngHeaderOnly(8, 8);
  const iend = header.length - 12;
  const filler = pngChunk('prVt', Buffer.alloc(0));
  return Buffer.concat([header.subarray(0, iend), ...Array.from({ length: total - 2 }, () => filler), header.subarray(iend)]);
}

describe('JPEG scans are counted through the whole file, as libjpeg reads them', () => {
  it('finds 1 scan in a baseline JPEG and 10 in a progressive one written by libjpeg', async () => {
    expect(await scansOf(await solid(40, 30).jpeg().toBuffer())).toBe(1);
    expect(await scansOf(await progressiveJpeg(solid(40, 30)))).toBe(10);
  });

  it('is not fooled by 0xFF bytes inside scan data (stuffed zeros) or by a large image spanning many windows', async () => {
    const jpeg = await progressiveJpeg(noise(1200, 800));
    expect(jpeg.length).toBeGreaterThan(2 * WINDOW_BYTES);
    expect(jpeg.indexOf(Buffer.from([0xff, 0x00]))).toBeGreaterThan(0); // the corpus has stuffing
    expect(await scansOf(jpeg)).toBe(10);
  });

  it('skips restart markers and fill bytes inside scan data, and sees a marker after fill bytes', async () => {
    const jpeg = await solid(64, 64).jpeg().toBuffer();
    const data = jpeg.indexOf(Buffer.from([0xff, 0xda])) + 2 + jpeg.readUInt16BE(jpeg.indexOf(Buffer.from([0xff, 0xda])) + 2);
    const restarts = Buffer.from([0xff, 0xd0, 0x11, 0xff, 0xd7, 0xff, 0xff, 0xd3, 0x22, 0xff, 0x00]);
    const withRestarts = Buffer.concat([jpeg.subarray(0, data), restarts, jpeg.subarray(data)]);
    expect(await scansOf(withRestarts)).toBe(1);
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    const filled = Buffer.concat([jpeg.subarray(0, sos), Buffer.from([0xff, 0xff, 0xff]), jpeg.subarray(sos)]);
    expect(await scansOf(filled)).toBe(1);
  });

  it('does not count SOS bytes inside a metadata segment, and counts scans after garbage libjpeg would skip', async () => {
    const jpeg = await progressiveJpeg(solid(32, 32));
    const fakeScans = appSegment(0xe1, 4_000, Buffer.from([0xff, 0xda, 0x00, 0x08]));
    expect(await scansOf(Buffer.concat([jpeg.subarray(0, 2), fakeScans, jpeg.subarray(2)]))).toBe(10);
    const sos = jpeg.lastIndexOf(Buffer.from([0xff, 0xda]));
    const garbage = Buffer.concat([jpeg.subarray(0, sos), Buffer.from('junk', 'latin1'), jpeg.subarray(sos)]);
    expect(await scansOf(garbage)).toBe(10);
  });

  it('walks hundreds of thousands of empty segments before the scans and still counts them', async () => {
    const jpeg = await progressiveJpeg(solid(32, 32));
    const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
    const comments = Buffer.alloc(4 * 300_000, Buffer.from([0xff, 0xfe, 0x00, 0x02])); // empty COM segments
    expect(await scansOf(Buffer.concat([jpeg.subarray(0, sos), comments, jpeg.subarray(sos)]))).toBe(10);
  });

  it('stops at EOI: what follows the image (another image, trailing data) is not decoded', async () => {
    const jpeg = await progressiveJpeg(solid(32, 32));
    expect(await scansOf(Buffer.concat([jpeg, jpeg]))).toBe(10);
  });

  it('counts scans wherever they sit, past 128 KB of metadata, and stops one past the limit', async () => {
    const jpeg = withScans(await progressiveJpeg(solid(32, 32)), 10, 300);
    const bytes = Buffer.concat([jpeg.subarray(0, 2), appSegment(0xe2, 65_000), appSegment(0xe2, 65_000), jpeg.subarray(2)]);
    expect(await scansOf(bytes)).toBe(300);
    expect(await scansOf(bytes, 101)).toBe(101);
  });
});

describe('inspectImage refuses CPU bombs by their structure with image_too_complex', () => {
  it('a progressive JPEG with one scan more than maxJpegScans, and not one with exactly maxJpegScans', async () => {
    const jpeg = await progressiveJpeg(solid(48, 48));
    const limits = { ...LIMITS, maxJpegScans: 12 };
    await expect(inspect(withScans(jpeg, 10, 12), limits)).resolves.toMatchObject({ mime: 'image/jpeg', width: 48, height: 48 });
    const error = await expectRefusal(withScans(jpeg, 10, 13), 'image_too_complex', limits);
    expect(error.status).toBe(422);
    expect(error.extra).toEqual({ maxJpegScans: 12 });
  });

  it('a tiny JPEG repeating one scan 1,000 times, under the default limit of 100', async () => {
    const bomb = withScans(await progressiveJpeg(solid(16, 16)), 10, 1_000);
    expect(bomb.length).toBeLessThan(100 * 1024);
    await expectRefusal(bomb, 'image_too_complex');
  });

  it('accepts what real encoders write: libjpeg progressive, mozjpeg with optimised scans, baseline', async () => {
    for (const bytes of [
      await progressiveJpeg(noise(300, 200)),
      await noise(300, 200).jpeg({ progressive: true, mozjpeg: true }).toBuffer(),
      await noise(300, 200).greyscale().jpeg({ progressive: true, mozjpeg: true }).toBuffer(),
      await noise(300, 200).jpeg().toBuffer(),
    ]) {
      await expect(inspect(bytes)).resolves.toMatchObject({ mime: 'image/jpeg', width: 300, height: 200 });
    }
  });

  it(`a PNG with more than ${MAX_PNG_CHUNKS} chunks, and not one with exactly that many`, async () => {
    await expect(inspect(pngWithChunks(MAX_PNG_CHUNKS))).resolves.toMatchObject({ mime: 'image/png', width: 8, height: 8 });
    const error = await expectRefusal(pngWithChunks(MAX_PNG_CHUNKS + 1), 'image_too_complex');
    expect(error.extra).toEqual({ maxPngChunks: MAX_PNG_CHUNKS });
  });
});

describe('inspectImage refuses GIFs and WebPs of countless tiny blocks or chunks with image_too_complex', () => {
  const maxRecords = maxContainerRecords(LIMITS);
  /** What fits in a 10 MiB upload, less room for the frames. */
  const tenMiB = (unitBytes: number) => Math.floor((10 * 1024 * 1024 - 64 * 1024) / unitBytes);

  it('a GIF with one block more than the limit, and not one with exactly that many', async () => {
    expect(gifBombBlocks({ extensions: maxRecords - 1 })).toBe(maxRecords);
    await expect(inspect(gifBomb({ extensions: maxRecords - 1 }))).resolves.toMatchObject({ mime: 'image/gif', frames: 1 });
    const error = await expectRefusal(gifBomb({ extensions: maxRecords }), 'image_too_complex');
    expect(error.status).toBe(422);
    expect(error.extra).toEqual({ maxGifBlocks: maxRecords });
  });

  it('a WebP with one chunk more than the limit, and not one with exactly that many', async () => {
    const chunks = maxRecords - webpBombChunks({});
    expect(webpBombChunks({ chunks })).toBe(maxRecords);
    await expect(inspect(await webpBomb({ chunks }))).resolves.toMatchObject({ mime: 'image/webp', width: 1, height: 1, frames: 1 });
    const error = await expectRefusal(await webpBomb({ chunks: chunks + 1 }), 'image_too_complex');
    expect(error.extra).toEqual({ maxWebpChunks: maxRecords });
  });

  it('counts the chunks of a still extended WebP too: libwebp walks them all the same', async () => {
    await expectRefusal(await webpBomb({ chunks: maxRecords, frames: 0 }), 'image_too_complex');
    await expect(inspect(await webpBomb({ chunks: 100, frames: 0 }))).resolves.toMatchObject({ mime: 'image/webp', frames: 1 });
  });

  it('scales the limit with maxFrames: the frames allowed always fit, with their extensions', async () => {
    const limits = { ...LIMITS, maxFrames: 20 };
    expect(maxContainerRecords(limits)).toBe(200);
    await expect(inspect(gifBomb({ extensions: 180, frames: 20 }), limits)).resolves.toMatchObject({ frames: 20 });
    await expectRefusal(gifBomb({ extensions: 181, frames: 20 }), 'image_too_complex', limits);
  });

  it('10 MiB of empty GIF extensions, before or between the frames allowed', async () => {
    await expectRefusal(gifBomb({ extensions: tenMiB(3) }), 'image_too_complex');
    await expectRefusal(gifBomb({ extensions: tenMiB(3), frames: LIMITS.maxFrames }), 'image_too_complex');
  });

  it('10 MiB of empty WebP chunks, animated or still', async () => {
    await expectRefusal(await webpBomb({ chunks: tenMiB(8) }), 'image_too_complex');
    await expectRefusal(await webpBomb({ chunks: tenMiB(8), frames: LIMITS.maxFrames }), 'image_too_complex');
    await expectRefusal(await webpBomb({ chunks: tenMiB(8), frames: 0 }), 'image_too_complex');
  });

  it('accepts 10 MiB of 1-byte GIF sub-blocks: they are walked, not counted, and cost a decoder nothing either', async () => {
    await expect(inspect(gifBomb({ subBlocks: tenMiB(2) }))).resolves.toEqual({ mime: 'image/gif', ext: 'gif', width: 1, height: 1, frames: 1 });
  });

  it('still counts the frames allowed exactly, over many windows, and refuses one more', async () => {
    await expect(inspect(gifBomb({ extensions: 8_000, frames: LIMITS.maxFrames }))).resolves.toMatchObject({ frames: LIMITS.maxFrames });
    await expectRefusal(gifBomb({ frames: LIMITS.maxFrames + 1 }), 'image_too_large');
    await expect(inspect(await webpBomb({ chunks: 8_000, frames: LIMITS.maxFrames }))).resolves.toMatchObject({ frames: LIMITS.maxFrames });
    await expectRefusal(await webpBomb({ frames: LIMITS.maxFrames + 1 }), 'image_too_large');
  });

  it('reads a GIF frame whose descriptor straddles two read windows, and a local colour table', async () => {
    // the walk reads WINDOW_BYTES windows from the end of the header and global colour table
    // on; the image descriptor starts 5 bytes before the first window ends
    const header = gifBomb({ frames: 0 }).subarray(0, -1);
    const padding = WINDOW_BYTES - 5 - 3; // the comment's introducer, label and terminator are the 3
    const comment = Buffer.concat([Buffer.from([0x21, 0xfe]), Buffer.alloc(padding, 0), Buffer.from([0])]);
    for (let at = 2; at < comment.length - 1; at += 256) comment[at] = Math.min(255, comment.length - 2 - at); // sub-block lengths
    const frame = Buffer.from([0x2c, 0, 0, 0, 0, 3, 0, 2, 0, 0x80, 0, 0, 0, 255, 255, 255, 2, 2, 0x44, 0x01, 0, 0x3b]);
    const bytes = Buffer.concat([header, comment, frame]);
    await expect(inspect(bytes)).resolves.toMatchObject({ width: 3, height: 2, frames: 1 });
  });
});

describe('inspectImage counts a TIFF\'s pages as frames', () => {
  const pages = (count: number) =>
    sharp(Buffer.alloc(4 * 4 * count * 3, 90), { raw: { width: 4, height: 4 * count, channels: 3, pageHeight: 4 } }).tiff().toBuffer();

  it('reads the whole directory chain and refuses more pages than maxFrames with image_too_large', async () => {
    const tiff = await pages(5);
    await expect(inspect(tiff)).resolves.toMatchObject({ mime: 'image/tiff', width: 4, height: 4, frames: 5 });
    const error = await expectRefusal(tiff, 'image_too_large', { ...LIMITS, maxFrames: 4 });
    expect(error.extra).toMatchObject({ maxFrames: 4 });
  });

  it('refuses a directory chain that loops back with image_undecodable', async () => {
    const tiff = await pages(2);
    const first = tiff.readUInt32LE(4);
    const nextField = first + 2 + tiff.readUInt16LE(first) * 12;
    const second = tiff.readUInt32LE(nextField);
    expect(second).toBeGreaterThan(0);
    const secondNextField = second + 2 + tiff.readUInt16LE(second) * 12;
    tiff.writeUInt32LE(first, secondNextField); // page 2 points back at page 1
    await expectRefusal(tiff, 'image_undecodable');
  });
});
