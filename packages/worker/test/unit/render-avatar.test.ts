import { randomBytes } from 'node:crypto';
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeBmp, type Rgba } from '@avatar/image-format/testing';
import { AppError } from '@avatar/shared';
import { renderAvatar, type RenderAvatarOptions, type RenderedVariant } from '../../src/pipeline/render-avatar.js';

type Rgb = readonly [number, number, number];
const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];

const BASE: RenderAvatarOptions = { sizes: [128, 64], format: 'webp', maxInputPixels: 50_000_000 };

/** Raw RGB(A) pixels from a colour function, for building inputs without external tools. */
function rawImage(width: number, height: number, channels: 3 | 4, colour: (x: number, y: number) => readonly number[]): Sharp {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(colour(x, y).slice(0, channels), (y * width + x) * channels);
  }
  return sharp(data, { raw: { width, height, channels } });
}

/** The pixel at (x, y) of an encoded variant, as [r, g, b, a?]. */
async function pixelAt(encoded: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(encoded).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + info.channels)];
}

function expectColour(actual: number[], expected: Rgb, tolerance = 40): void {
  expected.forEach((value, i) => {
    expect(Math.abs((actual[i] ?? -1) - value), `channel ${i} of [${actual.join(',')}] vs [${expected.join(',')}]`).toBeLessThanOrEqual(tolerance);
  });
}

async function expectAppError(promise: Promise<unknown>, code: string): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
  return error as AppError;
}

function first(variants: RenderedVariant[]): RenderedVariant {
  const variant = variants[0];
  if (!variant) throw new Error('no variants rendered');
  return variant;
}

/** A noisy photo-like JPEG, so that a cut in the file lands in the middle of entropy-coded data. */
async function noisyJpeg(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe('renderAvatar', () => {
  it('auto-orients by EXIF orientation 6 and strips EXIF, GPS, XMP and foreign ICC', async () => {
    // stored 400×200, left half red / right half blue; orientation 6 means "rotate 90° clockwise
    // to display", so upright the red half is on top
    const input = await rawImage(400, 200, 3, (x) => (x < 200 ? RED : BLUE))
      .jpeg({ quality: 95 })
      .withExif({ IFD0: { Copyright: 'secret owner' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1' } })
      .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>')
      .withIccProfile('p3')
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const inputMeta = await sharp(input).metadata();
    // the fixture really carries what must be stripped
    expect(inputMeta).toMatchObject({ orientation: 6, width: 400, height: 200 });
    expect(inputMeta.exif?.toString('latin1')).toContain('secret owner');
    expect(inputMeta.xmp).toBeDefined();
    expect(inputMeta.icc).toBeDefined();

    const variants = await renderAvatar(input, { ...BASE, sizes: [128] });
    const out = first(variants).data;
    expectColour(await pixelAt(out, 64, 4), RED);
    expectColour(await pixelAt(out, 64, 123), BLUE);
    expectColour(await pixelAt(out, 4, 10), RED);
    expectColour(await pixelAt(out, 123, 10), RED);

    const meta = await sharp(out).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.iptc).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    if (meta.icc) expect(meta.icc.toString('latin1')).toMatch(/sRGB/);
    expect(out.includes('secret owner')).toBe(false);
  });

  it('renders every size exactly N×N in the requested format, largest first, from any order', async () => {
    const input = await rawImage(300, 200, 3, (x, y) => [x % 256, y % 256, 128]).png().toBuffer();
    const variants = await renderAvatar(input, { ...BASE, sizes: [64, 256, 128, 512, 128] });
    expect(variants.map((v) => v.size)).toEqual([512, 256, 128, 64]);
    for (const variant of variants) {
      const meta = await sharp(variant.data).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: variant.size, height: variant.size });
      expect(variant).toMatchObject({ ext: 'webp', contentType: 'image/webp', width: variant.size, height: variant.size, bytes: variant.data.length });
    }
  });

  it.each([
    ['jpeg', 'jpeg', 'jpg', 'image/jpeg'],
    ['avif', 'heif', 'avif', 'image/avif'],
  ] as const)('encodes %s', async (format, sharpFormat, ext, contentType) => {
    const input = await rawImage(120, 90, 3, () => RED).png().toBuffer();
    const variants = await renderAvatar(input, { ...BASE, format, sizes: [96, 48] });
    for (const variant of variants) {
      expect(variant).toMatchObject({ ext, contentType });
      const meta = await sharp(variant.data).metadata();
      expect(meta).toMatchObject({ format: sharpFormat, width: variant.size, height: variant.size });
      expectColour(await pixelAt(variant.data, variant.size / 2, variant.size / 2), RED);
    }
  });

  it('keeps PNG alpha in webp and flattens it onto white in jpeg', async () => {
    const input = await rawImage(100, 100, 4, (x) => (x < 50 ? [0, 0, 0, 0] : [0, 200, 0, 255])).png().toBuffer();

    const webp = first(await renderAvatar(input, { ...BASE, sizes: [64] })).data;
    expect((await sharp(webp).metadata()).hasAlpha).toBe(true);
    expect((await pixelAt(webp, 5, 32))[3]).toBeLessThan(10);
    const opaque = await pixelAt(webp, 58, 32);
    expect(opaque[3]).toBeGreaterThan(245);
    expectColour(opaque, [0, 200, 0]);

    const jpeg = first(await renderAvatar(input, { ...BASE, format: 'jpeg', sizes: [64] })).data;
    expectColour(await pixelAt(jpeg, 5, 32), [255, 255, 255], 10);
    expectColour(await pixelAt(jpeg, 58, 32), [0, 200, 0]);
  });

  it('converts a CMYK JPEG to sRGB with the right colours', async () => {
    const input = await rawImage(80, 60, 3, () => [230, 20, 20]).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(input).metadata()).space).toBe('cmyk');
    const out = first(await renderAvatar(input, { ...BASE, sizes: [32] })).data;
    expect((await sharp(out).metadata()).space).toBe('srgb');
    expectColour(await pixelAt(out, 16, 16), [230, 20, 20], 45);
  });

  it('converts pixels tagged with a Display P3 profile to sRGB values', async () => {
    // withIccProfile converts sRGB (40,200,60) into P3 numbers and tags them as P3
    const input = await rawImage(32, 32, 3, () => [40, 200, 60]).withIccProfile('p3').png().toBuffer();
    const stored = await sharp(input, { ignoreIcc: true }).raw().toBuffer();
    expect(Math.abs((stored[0] ?? 0) - 40)).toBeGreaterThan(30); // the file really holds other numbers
    const out = first(await renderAvatar(input, { ...BASE, sizes: [16] })).data;
    expectColour(await pixelAt(out, 8, 8), [40, 200, 60], 8);
  });

  it('renders a 16-bit PNG as 8-bit with the right colour', async () => {
    const input = await rawImage(50, 40, 3, () => [0, 200, 0]).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(input).metadata()).depth).toBe('ushort');
    const out = first(await renderAvatar(input, { ...BASE, sizes: [32] })).data;
    expect((await sharp(out).metadata()).depth).toBe('uchar');
    expectColour(await pixelAt(out, 16, 16), [0, 200, 0], 10);
  });

  it('renders a greyscale PNG', async () => {
    const input = await rawImage(40, 40, 3, () => [90, 90, 90]).toColourspace('b-w').png().toBuffer();
    expect((await sharp(input).metadata()).channels).toBe(1);
    const out = first(await renderAvatar(input, { ...BASE, sizes: [32] })).data;
    expectColour(await pixelAt(out, 16, 16), [90, 90, 90], 10);
  });

  it.each(['gif', 'webp'] as const)('takes the first frame of an animated %s', async (format) => {
    // two 32×32 frames stacked: red, then blue
    const frames = rawImage(32, 64, 3, (_x, y) => (y < 32 ? RED : BLUE));
    const raw = await frames.raw().toBuffer();
    const animation = sharp(raw, { raw: { width: 32, height: 64, channels: 3, pageHeight: 32 } });
    const input = await animation[format]({ loop: 0, delay: [100, 100] }).toBuffer();
    expect((await sharp(input).metadata()).pages).toBe(2);
    const out = first(await renderAvatar(input, { ...BASE, sizes: [48] })).data;
    expect((await sharp(out).metadata()).pages ?? 1).toBe(1);
    expectColour(await pixelAt(out, 24, 4), RED);
    expectColour(await pixelAt(out, 24, 44), RED);
  });

  it('upscales an input smaller than the sizes to exactly N×N', async () => {
    const input = await rawImage(20, 10, 3, () => BLUE).jpeg().toBuffer();
    const variants = await renderAvatar(input, { ...BASE, sizes: [256, 32] });
    expect(variants.map((v) => [v.width, v.height])).toEqual([
      [256, 256],
      [32, 32],
    ]);
  });

  describe('BMP input', () => {
    const top: Rgba = [255, 0, 0, 255];
    const bottom: Rgba = [0, 0, 255, 255];
    const pixel = (_x: number, y: number): Rgba => (y < 20 ? top : bottom);
    it.each([
      ['24-bit bottom-up', { bitsPerPixel: 24 as const }],
      ['24-bit top-down', { bitsPerPixel: 24 as const, topDown: true }],
      ['8-bit palette bottom-up', { bitsPerPixel: 8 as const, palette: [top, bottom] }],
      ['8-bit palette top-down', { bitsPerPixel: 8 as const, palette: [top, bottom], topDown: true }],
      ['32-bit V5 with alpha', { bitsPerPixel: 32 as const, bitfields: true, headerSize: 124 as const }],
    ])('decodes a %s BMP with the right pixels', async (_name, options) => {
      const input = encodeBmp({ width: 41, height: 40, pixel, ...options });
      const out = first(await renderAvatar(input, { ...BASE, sizes: [64] })).data;
      expectColour(await pixelAt(out, 32, 4), [255, 0, 0]);
      expectColour(await pixelAt(out, 32, 60), [0, 0, 255]);
    });

    it('refuses a BMP over the pixel limit with image_too_large', async () => {
      const input = encodeBmp({ width: 200, height: 200, bitsPerPixel: 24, pixel });
      await expectAppError(renderAvatar(input, { ...BASE, maxInputPixels: 10_000 }), 'image_too_large');
    });
  });

  describe('refusals', () => {
    it('refuses a JPEG with its tail cut off instead of rendering a grey half', async () => {
      const whole = await noisyJpeg(800, 600);
      await expect(renderAvatar(whole, BASE)).resolves.toHaveLength(2);
      await expectAppError(renderAvatar(whole.subarray(0, Math.floor(whole.length * 0.6)), BASE), 'image_undecodable');
    });

    it('refuses a PNG with its tail cut off', async () => {
      const whole = await rawImage(200, 200, 3, (x, y) => [(x * 7) % 256, (y * 13) % 256, (x * y) % 256]).png().toBuffer();
      await expectAppError(renderAvatar(whole.subarray(0, Math.floor(whole.length / 2)), BASE), 'image_undecodable');
    });

    it.each([
      ['random bytes', randomBytes(4096)],
      ['zero bytes', Buffer.alloc(0)],
      ['a GIF signature with nothing after it', Buffer.from('GIF89a\x10\x00\x10\x00', 'latin1')],
      ['text', Buffer.from('hello, I am not an image\n')],
    ])('refuses %s with image_undecodable', async (_name, input) => {
      await expectAppError(renderAvatar(input, BASE), 'image_undecodable');
    });

    it('refuses an image over the pixel limit with image_too_large', async () => {
      const input = await rawImage(300, 300, 3, () => RED).png().toBuffer();
      const error = await expectAppError(renderAvatar(input, { ...BASE, maxInputPixels: 10_000 }), 'image_too_large');
      expect(error.retryable).toBe(false);
    });

    it('accepts an image exactly at the pixel limit', async () => {
      const input = await rawImage(100, 100, 3, () => RED).png().toBuffer();
      await expect(renderAvatar(input, { ...BASE, maxInputPixels: 10_000 })).resolves.toHaveLength(2);
    });

    it('rejects a bad size list as a programming error', async () => {
      const input = await rawImage(10, 10, 3, () => RED).png().toBuffer();
      await expect(renderAvatar(input, { ...BASE, sizes: [] })).rejects.toThrow(RangeError);
      await expect(renderAvatar(input, { ...BASE, sizes: [64, 0] })).rejects.toThrow(RangeError);
    });
  });
});
