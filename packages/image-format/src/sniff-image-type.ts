import { fileTypeFromBuffer, fileTypeFromFile } from 'file-type';
import { unsupported } from './errors.js';

/** How each accepted type's header is read; `image-size` names its parser for the type. */
export type HeaderReader = 'jpeg' | 'tiff' | 'gif' | { imageSize: 'png' | 'webp' | 'bmp' | 'heif' };

/** A type we accept: its canonical MIME type and extension, and how its header is read. */
export interface AcceptedType {
  mime: string;
  ext: string;
  reader: HeaderReader;
}

const AVIF: AcceptedType = { mime: 'image/avif', ext: 'avif', reader: { imageSize: 'heif' } };

const ACCEPTED: Record<string, AcceptedType> = {
  'image/jpeg': { mime: 'image/jpeg', ext: 'jpg', reader: 'jpeg' },
  'image/png': { mime: 'image/png', ext: 'png', reader: { imageSize: 'png' } },
  'image/apng': { mime: 'image/apng', ext: 'apng', reader: { imageSize: 'png' } },
  'image/webp': { mime: 'image/webp', ext: 'webp', reader: { imageSize: 'webp' } },
  'image/gif': { mime: 'image/gif', ext: 'gif', reader: 'gif' },
  'image/avif': AVIF,
  'image/tiff': { mime: 'image/tiff', ext: 'tif', reader: 'tiff' },
  'image/bmp': { mime: 'image/bmp', ext: 'bmp', reader: { imageSize: 'bmp' } },
};

const TIFF_SIGNATURES = [Buffer.from('II*\0', 'latin1'), Buffer.from('MM\0*', 'latin1'), Buffer.from('II+\0', 'latin1'), Buffer.from('MM\0+', 'latin1')];

/**
 * Sniffs from the captured head. file-type tells TIFF from TIFF-based camera raw formats by
 * reading the first directory, which libtiff writes after the pixel data, so a TIFF that the
 * head cannot settle is sniffed again from the staged file (file-type reads only what it needs).
 */
async function sniff(filePath: string, head: Buffer): Promise<string | undefined> {
  const fromHead = await fileTypeFromBuffer(head);
  if (fromHead || !TIFF_SIGNATURES.some((signature) => head.subarray(0, 4).equals(signature))) return fromHead?.mime;
  return (await fileTypeFromFile(filePath))?.mime;
}

/** The ftyp box's compatible brands, from the first bytes of an ISO-BMFF file. */
function compatibleBrands(head: Buffer): string[] {
  if (head.length < 16 || head.toString('latin1', 4, 8) !== 'ftyp') return [];
  const boxEnd = Math.min(head.readUInt32BE(0), head.length);
  const brands: string[] = [];
  for (let at = 16; at + 4 <= boxEnd; at += 4) brands.push(head.toString('latin1', at, at + 4));
  return brands;
}

/** Maps the sniffed type to what we accept; HEIF is accepted only when it is really AVIF. */
function acceptedType(sniffedMime: string | undefined, head: Buffer): AcceptedType {
  if (sniffedMime === undefined) throw unsupported('The file is not a recognised image');
  const accepted = ACCEPTED[sniffedMime];
  if (accepted) return accepted;
  if (sniffedMime.startsWith('image/hei')) {
    // a generic `mif1` HEIF listing the `avif` brand is AV1-coded, which sharp decodes
    if (sniffedMime === 'image/heif' && compatibleBrands(head).includes('avif')) return AVIF;
    // sharp's prebuilt libvips has libheif with the AV1 decoder only: `sharp.format.heif`
    // says "input", but that is AVIF; HEVC (HEIC) fails to decode in the worker, so it is
    // refused here. Accept it once the worker runs a libvips built with libde265.
    throw unsupported('HEIC/HEIF images are not supported; please upload JPEG, PNG, WebP or AVIF');
  }
  throw unsupported(`Files of type ${sniffedMime} are not supported images`);
}

/**
 * The accepted type of the file staged at `filePath`, judged by its content alone (never a
 * declared type); `head` is its first bytes. Throws `unsupported_media_type` for anything but
 * JPEG, PNG (APNG), WebP, GIF, AVIF, TIFF and BMP.
 */
export async function sniffAcceptedType(filePath: string, head: Buffer): Promise<AcceptedType> {
  return acceptedType(await sniff(filePath, head), head);
}
