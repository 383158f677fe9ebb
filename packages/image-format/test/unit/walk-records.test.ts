import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileWindow } from '../../src/probes/file-window.js';
import { walkRecords } from '../../src/probes/walk-records.js';

const HEAD_BYTES = 8;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'walk-records-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Opens a 200 KB file, then cuts it to `length` bytes: the window still believes the old size. */
async function openThenTruncate(name: string, length: number): Promise<FileWindow> {
  const file = path.join(dir, name);
  await writeFile(file, Buffer.alloc(200_000, 1));
  const window = await FileWindow.open(file);
  await truncate(file, length);
  return window;
}

describe('walkRecords on a file cut short after it was opened', () => {
  it.each([
    ['to nothing', 0],
    ['mid-window, leaving a tail shorter than a record head', 70_000],
  ])('ends the walk instead of reading the same spot forever (%s)', async (_case, length) => {
    const window = await openThenTruncate(`cut-${length}`, length);
    let visited = 0;
    try {
      const ended = await walkRecords(window, 0, HEAD_BYTES, () => {
        visited++;
        return 1;
      });
      expect(ended).toBeLessThanOrEqual(length);
      expect(visited).toBe(ended);
    } finally {
      await window.close();
    }
  }, 5_000);
});
