import { WINDOW_BYTES, type FileWindow } from './file-window.js';

/** What a visitor returns to end the walk. */
export const STOP = -1;

/**
 * Reads the record (or run of records) starting at `bytes[at]`, which is `position` in the
 * file, and returns how many bytes it covers (at least 1; it may reach past `bytes`), or STOP.
 * `bytes` holds at least `headBytes` bytes from `at` on, fewer only where the file ends.
 */
export type RecordVisitor = (bytes: Buffer, at: number, position: number) => number;

/**
 * Walks a file made of records whose first bytes say how long they are (PNG and RIFF
 * chunks, GIF blocks and sub-blocks) from `start` until the visitor stops or the file ends.
 * The file is read in large windows, each walked synchronously: a hostile file holds
 * millions of tiny records, and a read or an await per record would cost the API's event
 * loop seconds. Returns the position where the walk ended.
 */
export async function walkRecords(file: FileWindow, start: number, headBytes: number, visit: RecordVisitor): Promise<number> {
  let position = start;
  while (position < file.size) {
    const bytes = await file.read(position, WINDOW_BYTES);
    const reachesEnd = position + bytes.length >= file.size;
    let at = 0;
    while (at < bytes.length && (reachesEnd || bytes.length - at >= headBytes)) {
      const length = visit(bytes, at, position + at);
      if (length === STOP) return position + at;
      at += Math.max(length, 1);
    }
    // Nothing walked: the read came back empty or short of a record head before `file.size`,
    // so the file was cut after it was opened. Reading the same spot again would loop forever.
    if (at === 0) break;
    position += at;
  }
  return position;
}
