import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
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

  it('refuses a body past the limit as file_too_large and leaves no file', async () => {
    const receiving = receiveToFile(dir, pieces(randomBytes(600_000)), { maxBytes: 500_000, signal: new AbortController().signal });
    await expect(receiving).rejects.toMatchObject({ code: 'file_too_large' });
    expect(await readdir(dir)).toEqual([]);
  });
});
