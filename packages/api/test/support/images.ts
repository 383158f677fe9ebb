import sharp from 'sharp';

/** 1200×900 JPEG, left half red and right half blue, tagged EXIF orientation 6 (shown rotated 90° clockwise: red on top) and GPS. */
export async function sidewaysJpegWithGps(): Promise<Buffer> {
  const red = await sharp({ create: { width: 600, height: 900, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
  const blue = await sharp({ create: { width: 600, height: 900, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toBuffer();
  return sharp({ create: { width: 1200, height: 900, channels: 3, background: '#000' } })
    .composite([{ input: red, left: 0, top: 0 }, { input: blue, left: 600, top: 0 }])
    .withMetadata({ orientation: 6 })
    .withExif({ IFD0: { Artist: 'Someone' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 0/1' } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export function solidJpeg(width: number, height: number, colour: { r: number; g: number; b: number }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).jpeg({ quality: 90 }).toBuffer();
}

/** Transparent everywhere but an opaque green square in the middle. */
export async function pngWithAlpha(): Promise<Buffer> {
  const square = await sharp({ create: { width: 100, height: 100, channels: 4, background: { r: 0, g: 200, b: 0, alpha: 1 } } }).png().toBuffer();
  return sharp({ create: { width: 300, height: 300, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: square, left: 100, top: 100 }])
    .png()
    .toBuffer();
}

export function cmykJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 200, height: 200, channels: 3, background: { r: 220, g: 20, b: 20 } } }).toColourspace('cmyk').jpeg().toBuffer();
}

export function png16(): Promise<Buffer> {
  return sharp({ create: { width: 200, height: 150, channels: 3, background: { r: 20, g: 20, b: 220 } } }).toColourspace('rgb16').png().toBuffer();
}

/** Three 64×64 frames: red, green, blue. */
export function animatedGif(frames = 3): Promise<Buffer> {
  const w = 64;
  const h = 64;
  const raw = Buffer.alloc(w * h * frames * 4);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < w * h; i++) {
      const o = (f * w * h + i) * 4;
      raw[o] = f % 3 === 0 ? 255 : 0;
      raw[o + 1] = f % 3 === 1 ? 255 : 0;
      raw[o + 2] = f % 3 === 2 ? 255 : 0;
      raw[o + 3] = 255;
    }
  }
  return sharp(raw, { raw: { width: w, height: h * frames, channels: 4, pageHeight: h } }).gif().toBuffer();
}

/** Mean colour of a w×h box centred at (x, y). */
export async function colourAt(image: Buffer, x: number, y: number, box = 8): Promise<{ r: number; g: number; b: number; a: number }> {
  const { data, info } = await sharp(image).ensureAlpha().extract({ left: x - box / 2, top: y - box / 2, width: box, height: box }).raw().toBuffer({ resolveWithObject: true });
  const sum = [0, 0, 0, 0];
  for (let i = 0; i < data.length; i += info.channels) for (let c = 0; c < 4; c++) sum[c] = (sum[c] ?? 0) + (data[i + c] ?? 0);
  const n = data.length / info.channels;
  return { r: (sum[0] ?? 0) / n, g: (sum[1] ?? 0) / n, b: (sum[2] ?? 0) / n, a: (sum[3] ?? 0) / n };
}
