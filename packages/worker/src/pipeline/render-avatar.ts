import sharp, { type Sharp } from 'sharp';
import { decodeBmp, isBmp } from '@avatar/image-format';
import { AppError } from '@avatar/shared';
import { sharpFailureKind } from './sharp-errors.js';

export type AvatarFormat = 'webp' | 'jpeg' | 'avif';

export interface RenderAvatarOptions {
  /** Square edge lengths in pixels, any order; variants come out largest first. */
  sizes: readonly number[];
  format: AvatarFormat;
  /** Inputs with more pixels (width × height of the first frame) fail with `image_too_large`. */
  maxInputPixels: number;
  /** Encoder quality 1–100; defaults per format (webp 80, jpeg 82, avif 50). */
  quality?: number;
  /**
   * Whole seconds the render (decode, then the encodes with what is left) may take before it
   * fails with `render_timeout`; unset, no limit. libvips checks it as pixels flow, so a
   * decoder that does all its work before the first pixel (a progressive JPEG's scans) is
   * stopped only once that work is done: the API's scan limit is the defence there.
   */
  timeoutSeconds?: number;
  /** Told how long the decode and (all sizes together) the encodes took, in seconds: the worker's stage metrics. */
  onPhaseTimed?: (phase: RenderPhase, seconds: number) => void;
}

export type RenderPhase = 'decode' | 'encode';

export interface RenderedVariant {
  size: number;
  data: Buffer;
  ext: string;
  contentType: string;
  width: number;
  height: number;
  bytes: number;
}

interface FormatSpec {
  ext: string;
  contentType: string;
  defaultQuality: number;
  encode: (image: Sharp, quality: number) => Sharp;
}

const FORMATS: Record<AvatarFormat, FormatSpec> = {
  webp: {
    ext: 'webp',
    contentType: 'image/webp',
    defaultQuality: 80,
    encode: (image, quality) => image.webp({ quality, alphaQuality: 90, effort: 4 }),
  },
  jpeg: {
    ext: 'jpg',
    contentType: 'image/jpeg',
    defaultQuality: 82,
    // progressive + mozjpeg trellis: noticeably smaller files, and avatars are small enough
    // that the extra encode time is a few milliseconds
    encode: (image, quality) => image.jpeg({ quality, progressive: true, mozjpeg: true, chromaSubsampling: '4:2:0' }),
  },
  avif: {
    ext: 'avif',
    contentType: 'image/avif',
    defaultQuality: 50,
    // effort 4 (the default) costs several times effort 2 for a few percent of size
    encode: (image, quality) => image.avif({ quality, effort: 2 }),
  },
};

/** Largest avatar edge we agree to render; guards against a misconfigured size list. */
const MAX_SIZE = 4096;

const WHITE = { r: 255, g: 255, b: 255 };

interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * Renders square avatar variants from an uploaded image: bytes in, variants out, no I/O
 * besides sharp.
 *
 * The input is decoded once, auto-oriented, converted to sRGB and cover-resized to the
 * largest size into a raw buffer; every smaller variant is derived from that raw buffer,
 * because `clone()` would decode the input again per size. No input metadata survives
 * (the raw step drops it all). Alpha is kept for webp/avif and flattened onto white for
 * jpeg. Animated inputs contribute their first frame.
 *
 * Throws `AppError` only: `image_undecodable` for anything that cannot be decoded
 * (including truncated files), `image_too_large` over `maxInputPixels`,
 * `unsupported_media_type` for BMP variants that are not supported, `render_timeout` past
 * `timeoutSeconds`.
 */
export async function renderAvatar(input: Buffer, options: RenderAvatarOptions): Promise<RenderedVariant[]> {
  const sizes = normalizeSizes(options.sizes);
  const spec = FORMATS[options.format];
  const quality = options.quality ?? spec.defaultQuality;
  const largest = sizes[0];
  if (largest === undefined) throw new RangeError('renderAvatar: sizes must not be empty');

  const deadline = options.timeoutSeconds === undefined ? undefined : Date.now() + options.timeoutSeconds * 1000;
  const decodeStarted = performance.now();
  const master = await decodeMaster(input, largest, options);
  const encodeStarted = performance.now();
  options.onPhaseTimed?.('decode', (encodeStarted - decodeStarted) / 1000);
  // the encodes share what the decode left of the budget; sharp's smallest timeout is 1 s
  const left = deadline === undefined ? undefined : Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
  const variants = await Promise.all(sizes.map((size) => encodeVariant(master, size, spec, quality, left)));
  options.onPhaseTimed?.('encode', (performance.now() - encodeStarted) / 1000);
  return variants;
}

/** sharp's `.timeout()` when there is a budget; 0 would mean "none" to sharp, so it is never passed. */
function withTimeout(image: Sharp, seconds: number | undefined): Sharp {
  return seconds === undefined ? image : image.timeout({ seconds });
}

function normalizeSizes(sizes: readonly number[]): number[] {
  for (const size of sizes) {
    if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) {
      throw new RangeError(`renderAvatar: size ${size} is not an integer in 1..${MAX_SIZE}`);
    }
  }
  return [...new Set(sizes)].sort((a, b) => b - a);
}

function openInput(input: Buffer, maxInputPixels: number): Sharp {
  if (isBmp(input)) {
    const bitmap = decodeBmp(input, { maxPixels: maxInputPixels });
    return sharp(bitmap.data, {
      raw: { width: bitmap.width, height: bitmap.height, channels: bitmap.channels },
      limitInputPixels: maxInputPixels,
    });
  }
  return sharp(input, {
    // 'error' also fails on truncation ('truncated' < 'error' in libvips' order), so a
    // cut-off JPEG is refused instead of rendering a grey lower half
    failOn: 'error',
    limitInputPixels: maxInputPixels,
    sequentialRead: true,
    pages: 1,
    autoOrient: true,
  });
}

/** The one decode: orient, sRGB, cover-resize to the largest size, raw 8-bit out. */
async function decodeMaster(input: Buffer, size: number, options: RenderAvatarOptions): Promise<RawImage> {
  try {
    let image = openInput(input, options.maxInputPixels)
      // no position: 'attention' — it makes libvips analyse the whole shrunk image per
      // upload, and centre is what users expect from a profile picture crop
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .toColourspace('srgb');
    if (options.format === 'jpeg') image = image.flatten({ background: WHITE });
    const { data, info } = await withTimeout(image.raw({ depth: 'uchar' }), options.timeoutSeconds).toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (error) {
    throw toAppError(error, options);
  }
}

async function encodeVariant(master: RawImage, size: number, spec: FormatSpec, quality: number, timeoutSeconds: number | undefined): Promise<RenderedVariant> {
  try {
    let image = sharp(master.data, {
      raw: { width: master.width, height: master.height, channels: master.channels },
    });
    if (size !== master.width || size !== master.height) image = image.resize(size, size, { fit: 'cover' });
    const { data, info } = await withTimeout(spec.encode(image, quality), timeoutSeconds).toBuffer({ resolveWithObject: true });
    return {
      size,
      data,
      ext: spec.ext,
      contentType: spec.contentType,
      width: info.width,
      height: info.height,
      bytes: data.length,
    };
  } catch (error) {
    if (sharpFailureKind(error) === 'timeout') throw timedOut(error, timeoutSeconds);
    // The master is our own well-formed raw buffer: a failure here is ours (or memory),
    // not the upload's, so it may be retried.
    throw new AppError('internal_error', 'Encoding an avatar variant failed', { cause: error });
  }
}

function timedOut(cause: unknown, seconds: number | undefined): AppError {
  return new AppError('render_timeout', `Rendering the avatar took longer than ${seconds} s`, { cause, extra: { timeoutSeconds: seconds } });
}

function toAppError(error: unknown, options: RenderAvatarOptions): AppError {
  if (error instanceof AppError) return error;
  switch (sharpFailureKind(error)) {
    case 'timeout':
      return timedOut(error, options.timeoutSeconds);
    case 'pixel_limit':
      return new AppError('image_too_large', 'Image has more pixels than allowed', { cause: error, extra: { limit: options.maxInputPixels } });
    case 'other':
      return new AppError('image_undecodable', 'Image cannot be decoded', { cause: error });
  }
}
