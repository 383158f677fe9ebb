import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { summarize, type Summary } from '../stats.js';
import { readChildOptions, sendToParent, stopWhenParentSays } from './child-channel.js';

export interface RawSharpOptions {
  imageFiles: string[];
  /** Sets in flight, one measurement each; the best is the limit. */
  levels: number[];
  /** Each level runs this long, or until `maxSetsPerLevel`, whichever comes first. */
  secondsPerLevel: number;
  maxSetsPerLevel: number;
}

export interface RawSharpLevel {
  inFlight: number;
  sets: number;
  seconds: number;
  setsPerSecond: number;
  setMs: Summary;
}

export interface RawSharpResult {
  levels: RawSharpLevel[];
  threadpoolSize: number;
  sharpVersion: string;
}

/** The avatar set as the issue defines the limit: the worker's sizes, format and settings, nothing else. */
const SIZES = [512, 256, 128, 64] as const;
const WEBP = { quality: 80, effort: 4 } as const;

/** One decode, cover-resized to 512 into a raw buffer, then four WebP encodes from that buffer. */
export async function renderRawSet(input: Buffer): Promise<void> {
  const { data, info } = await sharp(input, { sequentialRead: true })
    .resize(SIZES[0], SIZES[0], { fit: 'cover' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  await Promise.all(
    SIZES.map((size) => {
      let image = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
      if (size !== info.width) image = image.resize(size, size, { fit: 'cover' });
      return image.webp(WEBP).toBuffer();
    }),
  );
}

async function measureLevel(images: readonly Buffer[], inFlight: number, options: RawSharpOptions): Promise<RawSharpLevel> {
  const started = performance.now();
  const end = started + options.secondsPerLevel * 1000;
  const durations: number[] = [];
  let next = 0;
  let lastDone = started;
  const lane = async (): Promise<void> => {
    while (next < options.maxSetsPerLevel && performance.now() < end) {
      const input = images[next++ % images.length] as Buffer;
      const t0 = performance.now();
      await renderRawSet(input);
      lastDone = performance.now();
      durations.push(lastDone - t0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (lastDone - started) / 1000;
  return { inFlight, sets: durations.length, seconds, setsPerSecond: seconds > 0 ? durations.length / seconds : 0, setMs: summarize(durations) };
}

/** Raw sharp in a process of its own, with the worker's threadpool size (set by the load test in the environment). */
async function main(): Promise<void> {
  stopWhenParentSays(() => undefined);
  const options = readChildOptions<RawSharpOptions>();
  const images = await Promise.all(options.imageFiles.map((file) => readFile(file)));
  // warm-up: libvips' first operations load codecs and grow pools; that cost is no part of the limit
  for (const image of images) await renderRawSet(image);
  const levels: RawSharpLevel[] = [];
  for (const inFlight of options.levels) levels.push(await measureLevel(images, inFlight, options));
  sendToParent({ type: 'result', result: { levels, threadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4), sharpVersion: sharp.versions.sharp ?? 'unknown' } satisfies RawSharpResult });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
