import type { FileWindow } from './file-window.js';

const WINDOW_BYTES = 64 * 1024;
const CHUNK_HEADER_BYTES = 8;
/** length, type and CRC around each chunk's data */
const CHUNK_OVERHEAD_BYTES = 12;
const IEND = 0x49454e44; // 'IEND' as a big-endian number: no allocation per chunk

/**
 * How many chunks a PNG has up to IEND (or the end of the file), counting no further than
 * `stopAfter`. Each window is walked synchronously: a hostile file of empty chunks has
 * hundreds of thousands in 10 MiB.
 */
export async function countPngChunks(file: FileWindow, stopAfter: number): Promise<number> {
  let chunks = 0;
  let position = 8; // after the signature
  while (chunks < stopAfter) {
    const window = await file.read(position, WINDOW_BYTES);
    let at = 0;
    while (chunks < stopAfter && at + CHUNK_HEADER_BYTES <= window.length) {
      chunks++;
      if (window.readUInt32BE(at + 4) === IEND) return chunks;
      at += CHUNK_OVERHEAD_BYTES + window.readUInt32BE(at);
    }
    if (chunks >= stopAfter || position + window.length >= file.size) break;
    position += at;
  }
  return chunks;
}
