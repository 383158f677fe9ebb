import { undecodable } from '../errors.js';
import type { FileWindow } from './file-window.js';

/** Real files have a few dozen segments before the frame header; this bounds hostile ones. */
const MAX_MARKERS = 10_000;

/** SOF markers: C0–CF less DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Reads a JPEG's dimensions from its frame header by walking the marker segments, however
 * large the EXIF/ICC/XMP segments before it are. Stops at the first SOF; a scan (SOS) or the
 * end of the file before any SOF means the header is unusable.
 */
export async function readJpegSize(file: FileWindow): Promise<{ width: number; height: number }> {
  let position = 2; // after SOI
  for (let seen = 0; seen < MAX_MARKERS; seen++) {
    const marker = await file.read(position, 4);
    if (marker.length < 2 || marker[0] !== 0xff) break;
    const code = marker[1] ?? 0;
    if (code === 0xff) {
      position += 1; // fill byte before a marker
      continue;
    }
    if (code === 0x01 || (code >= 0xd0 && code <= 0xd7)) {
      position += 2; // markers without a length
      continue;
    }
    if (code === 0xd9 || code === 0xda) break;
    if (marker.length < 4) break;
    if (isStartOfFrame(code)) {
      const frame = await file.read(position + 4, 5);
      if (frame.length < 5) break;
      // height 0 would defer to a DNL marker after the first scan, which nothing here supports
      return { height: frame.readUInt16BE(1), width: frame.readUInt16BE(3) };
    }
    const length = marker.readUInt16BE(2);
    if (length < 2) break;
    position += 2 + length;
  }
  throw undecodable('JPEG has no readable frame header');
}
