import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileWindow, WINDOW_BYTES } from '../../src/probes/file-window.js';

let dir: string;
let file: string;
/** A byte pattern that differs between any two windows (251 is prime, the window a power of two). */
const bytes = Buffer.from(Array.from({ length: 3 * WINDOW_BYTES + 1000 }, (_, i) => i % 251));

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'file-window-'));
  file = path.join(dir, 'pattern');
  await writeFile(file, bytes);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileWindow, one buffer reused for every read', () => {
  it('returns the bytes at each position, hopping back and forth across windows', async () => {
    const window = await FileWindow.open(file);
    try {
      for (const position of [0, 2 * WINDOW_BYTES + 7, 5, WINDOW_BYTES - 2, 3 * WINDOW_BYTES]) {
        expect(Buffer.from(await window.read(position, 16))).toEqual(bytes.subarray(position, position + 16));
      }
    } finally {
      await window.close();
    }
  });

  it('reads more than a window at once when asked, and less where the file ends', async () => {
    const window = await FileWindow.open(file);
    try {
      const long = await window.read(10, WINDOW_BYTES + 500);
      expect(long.equals(bytes.subarray(10, WINDOW_BYTES + 510))).toBe(true);
      const tail = await window.read(bytes.length - 3, 16);
      expect(Buffer.from(tail)).toEqual(bytes.subarray(bytes.length - 3));
      expect((await window.read(bytes.length, 4)).length).toBe(0);
    } finally {
      await window.close();
    }
  });

  it('overwrites what an earlier read returned once a read misses the window: callers copy what they keep', async () => {
    const window = await FileWindow.open(file);
    try {
      const first = await window.read(0, 4);
      const kept = Buffer.from(first);
      await window.read(2 * WINDOW_BYTES + 1, 4);
      expect(kept).toEqual(bytes.subarray(0, 4));
      expect(first.equals(kept)).toBe(false);
    } finally {
      await window.close();
    }
  });
});
