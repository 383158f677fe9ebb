/**
 * Avatar sets per second and peak RSS for the one-decode pipeline (renderAvatar) against a
 * naive pipeline that clone()s the decoded input once per size, at 1, 2 and 4 sets in flight.
 *
 *   pnpm --filter @avatar/worker bench          (BENCH_SECONDS=3 per cell by default)
 *
 * Each cell runs in its own child process, so one cell's peak RSS is not inflated by the
 * memory an earlier cell left to the allocator.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { renderAvatar } from '../src/pipeline/render-avatar.js';

const SIZES = [512, 256, 128, 64];
const MAX_INPUT_PIXELS = 50_000_000;
const IN_FLIGHT = [1, 2, 4];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

type PipelineName = 'one-decode' | 'clone-per-size';

interface CellResult {
  sets: number;
  seconds: number;
  peakRssMb: number;
}

const PIPELINES: Record<PipelineName, (input: Buffer) => Promise<unknown>> = {
  'one-decode': (input) => renderAvatar(input, { sizes: SIZES, format: 'webp', maxInputPixels: MAX_INPUT_PIXELS }),
  // what one would write first: the same options, but every clone() decodes the input again
  'clone-per-size': (input) => {
    const base = sharp(input, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true, pages: 1, autoOrient: true });
    return Promise.all(SIZES.map((size) => base.clone().resize(size, size, { fit: 'cover' }).webp({ quality: 80 }).toBuffer()));
  },
};

async function makeInputs(dir: string): Promise<Record<string, string>> {
  const photo = await sharp({
    create: { width: 4000, height: 3000, channels: 3, background: '#7a8fa0', noise: { type: 'gaussian', mean: 120, sigma: 30 } },
  })
    .jpeg({ quality: 85 })
    .toBuffer();
  const logo = await sharp({
    create: { width: 1024, height: 1024, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .png()
    .toBuffer();
  const files = {
    [`4000x3000 JPEG (${(photo.length / 1e6).toFixed(1)} MB)`]: path.join(dir, 'photo.jpg'),
    [`1024x1024 PNG+alpha (${(logo.length / 1e6).toFixed(1)} MB)`]: path.join(dir, 'logo.png'),
  };
  const [photoPath, logoPath] = Object.values(files);
  await writeFile(photoPath ?? '', photo);
  await writeFile(logoPath ?? '', logo);
  return files;
}

/** Runs one cell in this process: `inFlight` loops rendering sets until the time is up. */
async function runCell(file: string, pipeline: PipelineName, inFlight: number): Promise<CellResult> {
  const input = await readFile(file);
  const render = PIPELINES[pipeline];
  await render(input); // warm-up: first use loads codecs and grows the threadpool
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 20);
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let sets = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        await render(input);
        sets++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  return { sets, seconds, peakRssMb: peakRss / 2 ** 20 };
}

function runCellInChild(file: string, pipeline: PipelineName, inFlight: number): Promise<CellResult> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, self, '--cell', file, pipeline, String(inFlight)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`cell ${pipeline}/${inFlight} exited with ${code}`));
      resolve(JSON.parse(out) as CellResult);
    });
  });
}

async function main(): Promise<void> {
  const [flag, file, pipeline, inFlight] = process.argv.slice(2);
  if (flag === '--cell' && file && pipeline && inFlight) {
    process.stdout.write(JSON.stringify(await runCell(file, pipeline as PipelineName, Number(inFlight))));
    return;
  }

  const dir = await mkdtemp(path.join(tmpdir(), 'render-avatar-bench-'));
  try {
    const inputs = await makeInputs(dir);
    console.log(
      `renderAvatar bench: sizes ${SIZES.join('/')} → webp, ${SECONDS}s per cell, libvips ${sharp.versions.vips}, ` +
        `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, sharp.concurrency()=${sharp.concurrency()}`,
    );
    console.log('input                          pipeline         in flight   sets/s   peak RSS MB');
    for (const [label, inputFile] of Object.entries(inputs)) {
      for (const name of Object.keys(PIPELINES) as PipelineName[]) {
        for (const n of IN_FLIGHT) {
          const result = await runCellInChild(inputFile, name, n);
          console.log(
            `${label.padEnd(30)} ${name.padEnd(16)} ${String(n).padStart(9)} ${(result.sets / result.seconds).toFixed(1).padStart(8)} ${result.peakRssMb.toFixed(0).padStart(13)}`,
          );
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
