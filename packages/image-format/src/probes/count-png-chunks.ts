import type { FileWindow } from './file-window.js';
import { STOP, walkRecords } from './walk-records.js';

const CHUNK_HEADER_BYTES = 8;
/** length, type and CRC around each chunk's data */
const CHUNK_OVERHEAD_BYTES = 12;
const IEND = 0x49454e44; // 'IEND' as a big-endian number: no allocation per chunk

/**
 * How many chunks a PNG has up to IEND (or the end of the file), counting no further than
 * `stopAfter`. A hostile file of empty chunks has hundreds of thousands in 10 MiB, so they
 * are walked window by window (see walkRecords).
 */
export async function countPngChunks(file: FileWindow, stopAfter: number): Promise<number> {
  let chunks = 0;
  await walkRecords(file, 8, CHUNK_HEADER_BYTES, (bytes, at) => {
    if (chunks >= stopAfter || bytes.length - at < CHUNK_HEADER_BYTES) return STOP;
    chunks++;
    if (bytes.readUInt32BE(at + 4) === IEND) return STOP;
    return CHUNK_OVERHEAD_BYTES + bytes.readUInt32BE(at);
  });
  return chunks;
}
