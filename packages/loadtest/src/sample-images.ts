import sharp from 'sharp';

export interface ImageSpec {
  width: number;
  height: number;
}

export function parseImageSpec(text: string): ImageSpec {
  const match = /^(\d{2,5})x(\d{2,5})$/.exec(text);
  if (!match) throw new Error(`--image must look like 1600x1200, not ${text}`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

/**
 * A few distinct photo-like JPEGs (gradients plus noise, so the encoder works as on a
 * photo and no two uploads are byte-identical in a way a cache could exploit).
 */
export async function makeSampleJpegs(spec: ImageSpec, count: number): Promise<Buffer[]> {
  const images: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const gradient = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${spec.width}" height="${spec.height}">
        <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stop-color="hsl(${(i * 47) % 360},70%,55%)"/><stop offset="1" stop-color="hsl(${(i * 47 + 160) % 360},60%,35%)"/>
        </linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>
        <circle cx="${spec.width / 2}" cy="${spec.height / 2.5}" r="${Math.min(spec.width, spec.height) / 4}" fill="hsl(${(i * 91) % 360},50%,70%)"/></svg>`,
    );
    images.push(
      await sharp(gradient)
        .composite([{ input: { create: { width: spec.width, height: spec.height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 18 } } }, blend: 'overlay' }])
        .jpeg({ quality: 88 })
        .toBuffer(),
    );
  }
  return images;
}

/** The big-files scenario's upload: a real photo-sized JPEG, not padding, so the API probes and the worker decodes what it would. */
export const LARGE_IMAGE: ImageSpec = { width: 3600, height: 2700 };

/**
 * JPEGs of about 10 MB (3600×2700, 9.7 MP): strong noise at quality 98 barely compresses, so
 * the file is large while its pixel count stays a camera's, well inside the decode limits.
 */
export async function makeLargeJpegs(count: number): Promise<Buffer[]> {
  const images: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    images.push(
      await sharp({ create: { width: LARGE_IMAGE.width, height: LARGE_IMAGE.height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128 + i * 4, sigma: 40 } } })
        .jpeg({ quality: 98 })
        .toBuffer(),
    );
  }
  return images;
}
