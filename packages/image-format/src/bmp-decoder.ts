import { AppError } from '@avatar/shared';
import { undecodable, unsupported } from './errors.js';

/**
 * A BMP decoder for the formats the old system accepted. sharp's prebuilt libvips has no BMP
 * loader, so BMP files are decoded here to raw 8-bit RGB(A) and handed to sharp as raw pixels.
 *
 * Supported: BITMAPINFOHEADER (40 bytes), V2/V3 (52/56), V4 (108) and V5 (124) headers;
 * 1/4/8-bit palettes, 16/24/32-bit BI_RGB, 16/32-bit BI_BITFIELDS and BI_ALPHABITFIELDS;
 * bottom-up and top-down rows. Refused with `unsupported_media_type`: RLE, embedded
 * JPEG/PNG and the OS/2 header variants, which are all rare in avatar uploads.
 *
 * The input is untrusted: every size is checked against the pixel limit and against the
 * bytes actually present before anything is allocated.
 */

export interface DecodedBitmap {
  /** Top-down, tightly packed, 8 bits per sample. */
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

export interface BmpDecodeOptions {
  /** Largest width × height accepted; larger headers fail with `image_too_large`. */
  maxPixels: number;
}

const FILE_HEADER_SIZE = 14;
const INFO_HEADER_SIZES = new Set([40, 52, 56, 108, 124]);

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_JPEG = 4;
const BI_PNG = 5;
const BI_ALPHABITFIELDS = 6;

/** True when the bytes start like a Windows bitmap ("BM"), the only BMP signature we decode. */
export function isBmp(input: Uint8Array): boolean {
  return input.length >= 2 && input[0] === 0x42 && input[1] === 0x4d;
}

interface ChannelMask {
  shift: number;
  /** The largest value the masked field can hold; 0 when the mask is empty. */
  max: number;
  mask: number;
  /** Maps a field value to 0..255 when the field is at most 16 bits wide. */
  lut: Uint8Array | undefined;
}

function channelMask(mask: number): ChannelMask {
  const unsigned = mask >>> 0;
  if (unsigned === 0) return { shift: 0, max: 0, mask: 0, lut: undefined };
  let shift = 0;
  while (((unsigned >>> shift) & 1) === 0) shift++;
  const max = unsigned >>> shift;
  let lut: Uint8Array | undefined;
  if (max <= 0xffff) {
    lut = new Uint8Array(max + 1);
    for (let v = 0; v <= max; v++) lut[v] = Math.round((v * 255) / max);
  }
  return { shift, max, mask: unsigned, lut };
}

function scaled(pixel: number, channel: ChannelMask): number {
  const value = (pixel & channel.mask) >>> channel.shift;
  if (channel.lut) return channel.lut[value] ?? 0;
  return Math.round((value * 255) / channel.max);
}

/**
 * Decodes a BMP file to raw top-down RGB or RGBA pixels.
 * Throws `AppError` only: `image_undecodable` for malformed or truncated files,
 * `image_too_large` over `maxPixels`, `unsupported_media_type` for variants not supported.
 */
export function decodeBmp(input: Buffer, options: BmpDecodeOptions): DecodedBitmap {
  if (!isBmp(input)) throw undecodable('BMP: missing "BM" signature');
  if (input.length < FILE_HEADER_SIZE + 4) throw undecodable('BMP: truncated file header');
  const pixelOffset = input.readUInt32LE(10);
  const headerSize = input.readUInt32LE(14);
  if (!INFO_HEADER_SIZES.has(headerSize)) {
    throw unsupported(`BMP: header variant of ${headerSize} bytes is not supported`);
  }
  const headerEnd = FILE_HEADER_SIZE + headerSize;
  if (input.length < headerEnd) throw undecodable('BMP: truncated info header');

  const width = input.readInt32LE(18);
  const signedHeight = input.readInt32LE(22);
  const planes = input.readUInt16LE(26);
  const bitsPerPixel = input.readUInt16LE(28);
  const compression = input.readUInt32LE(30);
  const colorsUsed = input.readUInt32LE(46);

  if (width <= 0 || signedHeight === 0 || planes !== 1) {
    throw undecodable(`BMP: invalid geometry ${width}×${signedHeight}, ${planes} planes`);
  }
  // A negative height marks top-down row order; its magnitude is the height.
  const topDown = signedHeight < 0;
  const height = Math.abs(signedHeight);
  if (width * height > options.maxPixels) {
    throw new AppError('image_too_large', `BMP of ${width}×${height} is over the pixel limit`, {
      extra: { width, height, limit: options.maxPixels },
    });
  }

  if (compression === BI_RLE8 || compression === BI_RLE4) throw unsupported('BMP: RLE compression is not supported');
  if (compression === BI_JPEG || compression === BI_PNG) throw unsupported('BMP: embedded JPEG/PNG is not supported');
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw undecodable(`BMP: unknown compression ${compression}`);
  }
  const bitfields = compression !== BI_RGB;
  const paletted = bitsPerPixel === 1 || bitsPerPixel === 4 || bitsPerPixel === 8;
  if (paletted ? bitfields : ![16, 24, 32].includes(bitsPerPixel)) {
    throw unsupported(`BMP: ${bitsPerPixel} bits per pixel with compression ${compression} is not supported`);
  }
  if (bitfields && bitsPerPixel === 24) throw unsupported('BMP: 24-bit bitfields are not supported');

  // Masks live inside V2+ headers; after a plain 40-byte header they follow it.
  let masksEnd = headerEnd;
  let red = 0;
  let green = 0;
  let blue = 0;
  let alpha = 0;
  if (bitfields) {
    const maskCount = headerSize >= 56 || compression === BI_ALPHABITFIELDS ? 4 : 3;
    if (headerSize === 40) masksEnd = headerEnd + maskCount * 4;
    if (input.length < 54 + maskCount * 4) throw undecodable('BMP: truncated colour masks');
    red = input.readUInt32LE(54);
    green = input.readUInt32LE(58);
    blue = input.readUInt32LE(62);
    alpha = maskCount === 4 ? input.readUInt32LE(66) : 0;
  } else if (bitsPerPixel === 16) {
    // BI_RGB 16-bit is defined as X1R5G5B5.
    red = 0x7c00;
    green = 0x03e0;
    blue = 0x001f;
  }

  let palette: Buffer | undefined;
  let paletteEntries = 0;
  if (paletted) {
    const maxEntries = 1 << bitsPerPixel;
    // A header may claim more colours than the depth can index; the extra ones are unreachable.
    paletteEntries = colorsUsed === 0 || colorsUsed > maxEntries ? maxEntries : colorsUsed;
    const paletteEnd = masksEnd + paletteEntries * 4;
    if (input.length < paletteEnd) throw undecodable('BMP: truncated palette');
    palette = input.subarray(masksEnd, paletteEnd);
  }

  // Rows are padded to 4 bytes; the last row's padding is sometimes omitted by writers.
  const rowBytes = Math.ceil((width * bitsPerPixel) / 8);
  const stride = Math.ceil((width * bitsPerPixel) / 32) * 4;
  if (pixelOffset < masksEnd || pixelOffset > input.length) throw undecodable('BMP: pixel data offset out of range');
  const needed = stride * (height - 1) + rowBytes;
  if (input.length - pixelOffset < needed) {
    throw undecodable(`BMP: truncated pixel data: ${input.length - pixelOffset} of ${needed} bytes`);
  }

  const hasAlpha = alpha !== 0;
  const channels: 3 | 4 = hasAlpha ? 4 : 3;
  // Sizes are now bounded by the pixel limit and by the data present, so allocating is safe.
  const out = Buffer.alloc(width * height * channels);

  const r = channelMask(red);
  const g = channelMask(green);
  const b = channelMask(blue);
  const a = channelMask(alpha);
  let anyAlpha = false;

  for (let y = 0; y < height; y++) {
    const src = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    let dst = y * width * channels;
    if (palette) {
      const perByte = 8 / bitsPerPixel;
      const valueMask = (1 << bitsPerPixel) - 1;
      for (let x = 0; x < width; x++) {
        const byte = input[src + Math.floor(x / perByte)] ?? 0;
        const shift = 8 - bitsPerPixel * ((x % perByte) + 1);
        const index = (byte >> shift) & valueMask;
        // Out-of-range indices render black, as browsers do.
        if (index < paletteEntries) {
          out[dst] = palette[index * 4 + 2] ?? 0;
          out[dst + 1] = palette[index * 4 + 1] ?? 0;
          out[dst + 2] = palette[index * 4] ?? 0;
        }
        dst += 3;
      }
    } else if (bitsPerPixel === 24 || (bitsPerPixel === 32 && !bitfields)) {
      // BI_RGB 24/32 is BGR(X); the X byte of 32-bit BI_RGB is reserved, not alpha.
      const step = bitsPerPixel / 8;
      for (let x = 0, p = src; x < width; x++, p += step) {
        out[dst] = input[p + 2] ?? 0;
        out[dst + 1] = input[p + 1] ?? 0;
        out[dst + 2] = input[p] ?? 0;
        dst += 3;
      }
    } else {
      const step = bitsPerPixel / 8;
      for (let x = 0, p = src; x < width; x++, p += step) {
        const pixel = step === 2 ? input.readUInt16LE(p) : input.readUInt32LE(p);
        out[dst] = scaled(pixel, r);
        out[dst + 1] = scaled(pixel, g);
        out[dst + 2] = scaled(pixel, b);
        if (hasAlpha) {
          const value = scaled(pixel, a);
          if (value !== 0) anyAlpha = true;
          out[dst + 3] = value;
        }
        dst += channels;
      }
    }
  }

  // Many writers declare an alpha mask but leave every alpha value at 0; such files are
  // meant to be opaque, not invisible.
  if (hasAlpha && !anyAlpha) {
    for (let i = 3; i < out.length; i += 4) out[i] = 255;
  }
  return { data: out, width, height, channels };
}
