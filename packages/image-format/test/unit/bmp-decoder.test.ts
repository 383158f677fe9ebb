import { describe, expect, it } from 'vitest';
import { AppError } from '@avatar/shared';
import { decodeBmp, isBmp } from '../../src/bmp-decoder.js';
import { encodeBmp, type BmpFixture, type Rgba } from '../../src/testing/bmp-fixtures.js';

const RED: Rgba = [255, 0, 0, 255];
const GREEN: Rgba = [0, 255, 0, 255];
const BLUE: Rgba = [0, 0, 255, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const BLACK: Rgba = [0, 0, 0, 255];
const PALETTE = [RED, GREEN, BLUE, WHITE, BLACK];

const LIMIT = { maxPixels: 50_000_000 };

/** 5×3 (odd width, so rows carry padding) with a different colour per row and a marked corner. */
function rowsPattern(x: number, y: number): Rgba {
  if (x === 0 && y === 0) return WHITE;
  return [RED, GREEN, BLUE][y] ?? BLACK;
}

function expected(fixture: Pick<BmpFixture, 'width' | 'height' | 'pixel'>, channels: 3 | 4): number[] {
  const out: number[] = [];
  for (let y = 0; y < fixture.height; y++) {
    for (let x = 0; x < fixture.width; x++) out.push(...fixture.pixel(x, y).slice(0, channels));
  }
  return out;
}

function expectAppError(fn: () => unknown, code: string): AppError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(code);
    return error as AppError;
  }
  throw new Error(`expected AppError ${code}, nothing was thrown`);
}

describe('decodeBmp', () => {
  const cases: Array<[string, Omit<BmpFixture, 'width' | 'height' | 'pixel'>]> = [
    ['24-bit bottom-up', { bitsPerPixel: 24 }],
    ['24-bit top-down', { bitsPerPixel: 24, topDown: true }],
    ['32-bit BI_RGB (reserved byte ignored)', { bitsPerPixel: 32 }],
    ['8-bit palette bottom-up', { bitsPerPixel: 8, palette: PALETTE }],
    ['8-bit palette top-down', { bitsPerPixel: 8, palette: PALETTE, topDown: true }],
    ['4-bit palette', { bitsPerPixel: 4, palette: PALETTE }],
    ['1-bit palette', { bitsPerPixel: 1, palette: [RED, WHITE] }],
    ['16-bit 5-6-5 bitfields after a 40-byte header', { bitsPerPixel: 16, bitfields: true }],
    ['16-bit BI_RGB 5-5-5', { bitsPerPixel: 16 }],
    ['24-bit with a V5 header', { bitsPerPixel: 24, headerSize: 124 }],
  ];

  it.each(cases)('decodes %s with the right pixels', (_name, options) => {
    const pixel = options.bitsPerPixel === 1 ? (x: number, y: number) => ((x + y) % 2 ? RED : WHITE) : rowsPattern;
    const fixture: BmpFixture = { width: 5, height: 3, pixel, ...options };
    const bitmap = decodeBmp(encodeBmp(fixture), LIMIT);
    expect(bitmap).toMatchObject({ width: 5, height: 3, channels: 3 });
    expect([...bitmap.data]).toEqual(expected(fixture, 3));
  });

  it('keeps alpha from a V5 header with an alpha mask', () => {
    const fixture: BmpFixture = {
      width: 3,
      height: 2,
      bitsPerPixel: 32,
      bitfields: true,
      headerSize: 124,
      pixel: (x, y) => [x * 100, y * 200, 50, x === 0 ? 0 : 128 + x * 10],
    };
    const bitmap = decodeBmp(encodeBmp(fixture), LIMIT);
    expect(bitmap.channels).toBe(4);
    expect([...bitmap.data]).toEqual(expected(fixture, 4));
  });

  it('treats an alpha mask whose values are all zero as opaque', () => {
    const fixture: BmpFixture = { width: 2, height: 2, bitsPerPixel: 32, bitfields: true, headerSize: 108, pixel: () => [10, 20, 30, 0] };
    const bitmap = decodeBmp(encodeBmp(fixture), LIMIT);
    expect([...bitmap.data]).toEqual([10, 20, 30, 255, 10, 20, 30, 255, 10, 20, 30, 255, 10, 20, 30, 255]);
  });

  it('renders palette indices past the palette as black', () => {
    const file = encodeBmp({ width: 2, height: 1, bitsPerPixel: 8, palette: [RED, GREEN], pixel: () => RED });
    file[file.length - 4] = 7; // first pixel points past the two palette entries
    expect([...decodeBmp(file, LIMIT).data]).toEqual([0, 0, 0, 255, 0, 0]);
  });

  it('refuses a header over the pixel limit before touching pixel data', () => {
    const file = encodeBmp({ width: 1, height: 1, bitsPerPixel: 24, pixel: () => RED });
    file.writeInt32LE(100_000, 18);
    file.writeInt32LE(-100_000, 22);
    const error = expectAppError(() => decodeBmp(file, LIMIT), 'image_too_large');
    expect(error.extra).toEqual({ width: 100_000, height: 100_000, limit: LIMIT.maxPixels });
  });

  it('refuses dimensions within the limit that the data cannot back, without allocating them', () => {
    const file = encodeBmp({ width: 1, height: 1, bitsPerPixel: 32, pixel: () => RED });
    file.writeInt32LE(7000, 18);
    file.writeInt32LE(7000, 22);
    expectAppError(() => decodeBmp(file, LIMIT), 'image_undecodable');
  });

  it('refuses truncated pixel data', () => {
    const file = encodeBmp({ width: 16, height: 16, bitsPerPixel: 24, pixel: rowsPattern });
    expectAppError(() => decodeBmp(file.subarray(0, file.length - 100), LIMIT), 'image_undecodable');
  });

  it('refuses a truncated header', () => {
    const file = encodeBmp({ width: 4, height: 4, bitsPerPixel: 24, pixel: rowsPattern });
    expectAppError(() => decodeBmp(file.subarray(0, 30), LIMIT), 'image_undecodable');
  });

  it('refuses zero width and a pixel offset outside the file', () => {
    const zero = encodeBmp({ width: 4, height: 4, bitsPerPixel: 24, pixel: rowsPattern });
    zero.writeInt32LE(0, 18);
    expectAppError(() => decodeBmp(zero, LIMIT), 'image_undecodable');
    const offset = encodeBmp({ width: 4, height: 4, bitsPerPixel: 24, pixel: rowsPattern });
    offset.writeUInt32LE(0xffffff00, 10);
    expectAppError(() => decodeBmp(offset, LIMIT), 'image_undecodable');
  });

  it('refuses RLE compression as an unsupported type', () => {
    const file = encodeBmp({ width: 4, height: 4, bitsPerPixel: 8, palette: PALETTE, pixel: rowsPattern });
    file.writeUInt32LE(1, 30);
    expectAppError(() => decodeBmp(file, LIMIT), 'unsupported_media_type');
  });

  it('refuses the OS/2 core header variant as an unsupported type', () => {
    const file = encodeBmp({ width: 4, height: 4, bitsPerPixel: 24, pixel: rowsPattern });
    file.writeUInt32LE(12, 14);
    expectAppError(() => decodeBmp(file, LIMIT), 'unsupported_media_type');
  });

  it('recognises the BM signature only', () => {
    expect(isBmp(Buffer.from('BM\0\0'))).toBe(true);
    expect(isBmp(Buffer.from('GIF89a'))).toBe(false);
    expect(isBmp(Buffer.alloc(0))).toBe(false);
  });
});
