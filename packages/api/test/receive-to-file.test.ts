import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receiveToFile } from '../src/adapters/receive-to-file.js';

/** Socket-like pieces of uneven sizes, so writes are gathered across piece boundaries. */
function pieces(bytes: Buffer): Readable {
  const sizes = [1, 4099, 65_536, 12_345, 300_000, 7, 65_536];
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i += 1) {
    const size = sizes[i % sizes.length] as number;
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return Readable.from(out);
}

describe('receiveToFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'receive-to-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([0, 10, 4100, 262_144, 700_001])('stages a %i-byte body byte for byte, with its size, sha256 and head', async (length) => {
    const body = randomBytes(length);
    const staged = await receiveToFile(dir, pieces(body), { maxBytes: 1_000_000, signal: new AbortController().signal });
    expect((await readFile(staged.path)).equals(body)).toBe(true);
    expect(staged.sizeBytes).toBe(length);
    expect(staged.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(staged.head.equals(body.subarray(0, 4100))).toBe(true);
    await rm(staged.path);
  });

  it('stages a body whose pieces include empty ones', async () => {
    const body = randomBytes(300_000);
    const source = Readable.from([Buffer.alloc(0), body.subarray(0, 200_000), Buffer.alloc(0), body.subarray(200_000), Buffer.alloc(0)]);
    const staged = await receiveToFile(dir, source, { maxBytes: 1_000_000, signal: new AbortController().signal });
    expect((await readFile(staged.path)).equals(body)).toBe(true);
    expect(staged.sizeBytes).toBe(body.length);
    await rm(staged.path);
  });

  it('gives up on a body that stops arriving once the signal aborts, as request_timeout, and leaves no file', async () => {
    const controller = new AbortController();
    async function* stalls(): AsyncGenerator<Buffer> {
      yield randomBytes(200_000); // one batch written, one piece waiting
      await sleep(60_000, undefined, { signal: controller.signal });
    }
    const receiving = receiveToFile(dir, Readable.from(stalls()), { maxBytes: 1_000_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(receiving).rejects.toMatchObject({ code: 'request_timeout' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a body past the limit as file_too_large and leaves no file', async () => {
    const receiving = receiveToFile(dir, pieces(randomBytes(600_000)), { maxBytes: 500_000, signal: new AbortController().signal });
    await expect(receiving).rejects.toMatchObject({ code: 'file_too_large' });
    expect(await readdir(dir)).toEqual([]);
  });
});
