/**
 * A small BMP writer for tests: sharp cannot write BMP, and tests must not depend on
 * ImageMagick, so fixtures are encoded here byte by byte.
 */

export type Rgba = readonly [number, number, number, number];

export interface BmpFixture {
  width: number;
  height: number;
  /** Row-major, top row first. */
  pixel: (x: number, y: number) => Rgba;
  bitsPerPixel: 1 | 4 | 8 | 16 | 24 | 32;
  topDown?: boolean;
  /** 40 (BITMAPINFOHEADER), 108 (V4) or 124 (V5). */
  headerSize?: 40 | 108 | 124;
  /** Write BI_BITFIELDS masks (16/32-bit only); 32-bit masks include alpha when the header can hold it. */
  bitfields?: boolean;
  /** Required for 1/4/8 bits: the colours the pixels index into. */
  palette?: readonly Rgba[];
}

const RGB565 = { r: 0xf800, g: 0x07e0, b: 0x001f, a: 0 };
const ARGB8888 = { r: 0x00ff0000, g: 0x0000ff00, b: 0x000000ff, a: 0xff000000 };

export function encodeBmp(fixture: BmpFixture): Buffer {
  const { width, height, bitsPerPixel } = fixture;
  const headerSize = fixture.headerSize ?? 40;
  const bitfields = fixture.bitfields ?? false;
  const palette = fixture.palette ?? [];
  const masks = bitsPerPixel === 16 ? RGB565 : ARGB8888;
  const extraMasks = bitfields && headerSize === 40 ? 12 : 0;
  const stride = Math.ceil((width * bitsPerPixel) / 32) * 4;
  const pixelOffset = 14 + headerSize + extraMasks + palette.length * 4;
  const file = Buffer.alloc(pixelOffset + stride * height);

  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(pixelOffset, 10);
  file.writeUInt32LE(headerSize, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(fixture.topDown ? -height : height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(bitsPerPixel, 28);
  file.writeUInt32LE(bitfields ? 3 : 0, 30);
  file.writeUInt32LE(stride * height, 34);
  file.writeUInt32LE(palette.length, 46);
  if (bitfields) {
    file.writeUInt32LE(masks.r, 54);
    file.writeUInt32LE(masks.g, 58);
    file.writeUInt32LE(masks.b, 62);
    if (headerSize > 40) file.writeUInt32LE(masks.a, 66);
  }
  if (headerSize > 40) file.write('BGRs', 70, 'latin1'); // LCS_sRGB, stored little-endian

  palette.forEach(([r, g, b], i) => {
    const at = 14 + headerSize + extraMasks + i * 4;
    file[at] = b;
    file[at + 1] = g;
    file[at + 2] = r;
  });

  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (fixture.topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const [r, g, b, a] = fixture.pixel(x, y);
      if (bitsPerPixel <= 8) {
        const index = palette.findIndex(([pr, pg, pb]) => pr === r && pg === g && pb === b);
        if (index < 0) throw new Error(`colour ${r},${g},${b} not in palette`);
        const bitOffset = x * bitsPerPixel;
        const at = row + Math.floor(bitOffset / 8);
        file[at] = (file[at] ?? 0) | (index << (8 - bitsPerPixel - (bitOffset % 8)));
      } else if (bitsPerPixel === 16) {
        file.writeUInt16LE(bitfields ? ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3) : ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3), row + x * 2);
      } else {
        const at = row + x * (bitsPerPixel / 8);
        file[at] = b;
        file[at + 1] = g;
        file[at + 2] = r;
        if (bitsPerPixel === 32) file[at + 3] = a;
      }
    }
  }
  return file;
}
