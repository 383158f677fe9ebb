import { typeHandlers } from 'image-size/types/index';
import { AppError } from '@avatar/shared';
import { undecodable, unsupported } from './errors.js';
import { countApngFrames, scanGif, scanWebp } from './probes/count-frames.js';
import { countJpegScans } from './probes/count-jpeg-scans.js';
import { countPngChunks } from './probes/count-png-chunks.js';
import { FileWindow } from './probes/file-window.js';
import { readJpegSize } from './probes/read-jpeg-size.js';
import { countTiffDirectories, readTiffSize } from './probes/read-tiff-size.js';
import { sniffAcceptedType, type HeaderReader } from './sniff-image-type.js';

export interface ImageLimits {
  /** Most pixels (width × height of one frame) the worker will decode. */
  maxInputPixels: number;
  /** Longest accepted side, whatever the pixel count. */
  maxSide: number;
  /** Most frames an animated image (or pages a TIFF) may have; the worker decodes only the first. */
  maxFrames: number;
  /** Most scans a JPEG may have: each scan costs a pass over every coefficient of the image. */
  maxJpegScans: number;
}

/**
 * Most chunks a PNG may have. Real files have a few dozen to a few thousand (IDAT split every
 * 8 KiB, or per row, plus two per APNG frame); libpng gets through 800,000 empty chunks in
 * about 0.1 s, so this is a ceiling on a waste, not a defence against a costly decode.
 */
export const MAX_PNG_CHUNKS = 100_000;

/**
 * GIF blocks (extensions and images, not their data sub-blocks) or WebP chunks allowed per
 * allowed frame. Real files have one or two per frame and a handful besides; libwebp's
 * demuxer keeps every chunk before decoding (10 MiB of empty chunks cost it 0.45 s).
 */
export const RECORDS_PER_FRAME = 10;

/** Most GIF blocks or WebP chunks an image may have under these limits. */
export function maxContainerRecords(limits: ImageLimits): number {
  return RECORDS_PER_FRAME * limits.maxFrames;
}

export interface InspectedImage {
  mime: string;
  ext: string;
  width: number;
  height: number;
  frames: number;
}

/** Enough of the file for the ISO-BMFF `meta` box of AVIF/HEIF and any RIFF/PNG header. */
const PREFIX_BYTES = 64 * 1024;

interface Header {
  width: number;
  height: number;
  frames: number;
  /** GIF blocks or WebP chunks, where the format has them. */
  records?: number;
}

async function readHeader(reader: HeaderReader, file: FileWindow, limits: ImageLimits): Promise<Header> {
  // counting stops one past the limit: enough to refuse, never more work than that
  const stopAfter = { frames: limits.maxFrames + 1, records: maxContainerRecords(limits) + 1 };
  if (reader === 'jpeg') return { ...(await readJpegSize(file)), frames: 1 };
  if (reader === 'tiff') return { ...(await readTiffSize(file)), frames: await countTiffDirectories(file, stopAfter.frames) };
  if (reader === 'gif') {
    const { blocks, ...gif } = await scanGif(file, stopAfter);
    return { ...gif, records: blocks };
  }

  const prefix = await file.read(0, PREFIX_BYTES);
  // The parser for the sniffed type, not image-size's own detection: a polyglot must be read
  // as what it was accepted as. HEIF's validate() knows too few brands (no `avis`), and the
  // ftyp box has been checked by the sniffer already.
  const parser = typeHandlers.get(reader.imageSize);
  if (!parser || (reader.imageSize !== 'heif' && !parser.validate(prefix))) {
    throw undecodable('Image header does not match its type');
  }
  const size = parser.calculate(prefix);
  // An AVIF may list several images (thumbnails, alpha, grid tiles); the largest bounds the work.
  const largest = (size.images ?? [size]).reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const dimensions = { width: largest.width, height: largest.height };
  if (reader.imageSize === 'webp') {
    const { frames, chunks } = await scanWebp(file, stopAfter);
    return { ...dimensions, frames, records: chunks };
  }
  if (reader.imageSize === 'png') return { ...dimensions, frames: await countApngFrames(file, MAX_PNG_CHUNKS) };
  return { ...dimensions, frames: 1 };
}

/** Dimensions and frames against the limits. */
function assertWithinSize({ width, height, frames }: { width: number; height: number; frames: number }, limits: ImageLimits): void {
  if (!(width > 0 && height > 0)) throw undecodable(`Image header gives ${width}×${height}`);
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxInputPixels) {
    throw new AppError('image_too_large', `Image of ${width}×${height} is over the limit`, {
      extra: { width, height, limit: limits.maxInputPixels, maxSide: limits.maxSide },
    });
  }
  if (frames > limits.maxFrames) {
    throw new AppError('image_too_large', `Image has more than ${limits.maxFrames} frames`, {
      extra: { width, height, maxFrames: limits.maxFrames },
    });
  }
}

/**
 * Structures whose count, not the pixel size, makes a small file slow to decode. Reads the
 * whole file (JPEG scans can sit anywhere after the header), but stops one past the limit.
 */
async function assertWithinStructure(reader: HeaderReader, file: FileWindow, header: Header, limits: ImageLimits): Promise<void> {
  const maxRecords = maxContainerRecords(limits);
  if (reader === 'gif' && (header.records ?? 0) > maxRecords) {
    throw new AppError('image_too_complex', `GIF has more than ${maxRecords} blocks`, { extra: { maxGifBlocks: maxRecords } });
  }
  if (typeof reader === 'object' && reader.imageSize === 'webp' && (header.records ?? 0) > maxRecords) {
    throw new AppError('image_too_complex', `WebP has more than ${maxRecords} chunks`, { extra: { maxWebpChunks: maxRecords } });
  }
  if (reader === 'jpeg') {
    const scans = await countJpegScans(file, limits.maxJpegScans + 1);
    if (scans > limits.maxJpegScans) {
      throw new AppError('image_too_complex', `JPEG has more than ${limits.maxJpegScans} scans`, { extra: { maxJpegScans: limits.maxJpegScans } });
    }
  }
  if (typeof reader === 'object' && reader.imageSize === 'png') {
    const chunks = await countPngChunks(file, MAX_PNG_CHUNKS + 1);
    if (chunks > MAX_PNG_CHUNKS) {
      throw new AppError('image_too_complex', `PNG has more than ${MAX_PNG_CHUNKS} chunks`, { extra: { maxPngChunks: MAX_PNG_CHUNKS } });
    }
  }
}

/**
 * Sniffs the real type from the content (never the declared type) and reads dimensions
 * and frame count from the header, without decoding pixels. Runs after the upload has been
 * staged at `filePath`; `head` is its first bytes (about 4 KiB is enough to sniff).
 *
 * Throws `AppError`: `unsupported_media_type` for anything but JPEG, PNG, WebP, GIF, AVIF,
 * TIFF and BMP; `image_undecodable` when the header is incomplete or has zero dimensions;
 * `image_too_large` over the pixel, side or frame (TIFF: page) limits; `image_too_complex`
 * for a JPEG with more scans than `maxJpegScans`, a PNG with more than `MAX_PNG_CHUNKS`
 * chunks, or a GIF or WebP with more blocks or chunks than `maxContainerRecords`. A file
 * whose pixel data is cut off after an intact header passes here: only the worker's decode
 * can tell.
 */
export async function inspectImage(filePath: string, head: Buffer, limits: ImageLimits): Promise<InspectedImage> {
  if (head.length === 0) throw unsupported('The file is empty');
  const type = await sniffAcceptedType(filePath, head);

  const file = await FileWindow.open(filePath);
  try {
    const header = await readHeader(type.reader, file, limits);
    assertWithinSize(header, limits);
    await assertWithinStructure(type.reader, file, header, limits);
    return { mime: type.mime, ext: type.ext, width: header.width, height: header.height, frames: header.frames };
  } catch (error) {
    if (error instanceof AppError) throw error;
    // image-size throws TypeError/RangeError on malformed headers; I/O errors are ours
    if (error instanceof Error && 'code' in error) throw error;
    throw undecodable('Image header cannot be read', { cause: error });
  } finally {
    await file.close();
  }
}
