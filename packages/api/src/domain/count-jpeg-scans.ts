import type { FileWindow } from './file-window.js';

/**
 * Counting a JPEG's scans. A progressive JPEG may repeat scans at will and the decoder
 * re-walks every coefficient of the image for each one, so the scan count, not the byte
 * count, is what a small hostile file multiplies: 1,000 scans of a flat 5000×5000 image fit
 * in 113 KB and cost 1.4 s of CPU to decode.
 */

const WINDOW_BYTES = 64 * 1024;
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const TEM = 0x01;

/** Markers that stand alone, without a length field: TEM, RST0–7, SOI. */
function hasNoLength(code: number): boolean {
  return code === TEM || code === SOI || (code >= 0xd0 && code <= 0xd7);
}

interface Marker {
  code: number;
  /** Offset just after the two marker bytes (where a segment's length field starts). */
  after: number;
}

/**
 * The next marker that opens a segment, from `from` on, found as libjpeg finds it: bytes that
 * are not 0xFF are skipped (entropy-coded data, or garbage libjpeg only warns about), as are
 * fill bytes (0xFF 0xFF), stuffed zeros (0xFF 0x00) and the length-less markers (restart
 * markers inside scan data). Each window is searched synchronously: a hostile file can hold
 * millions of them. Undefined at the end of the file.
 */
async function nextMarker(file: FileWindow, from: number): Promise<Marker | undefined> {
  let position = from;
  for (;;) {
    const window = await file.read(position, WINDOW_BYTES);
    if (window.length < 2) return undefined;
    let at = 0;
    while (at < window.length - 1) {
      const ff = window.indexOf(0xff, at);
      if (ff < 0) {
        at = window.length;
        break;
      }
      if (ff === window.length - 1) {
        at = ff; // its code byte is in the next window
        break;
      }
      const code = window[ff + 1] ?? 0;
      if (code === 0xff) at = ff + 1;
      else if (code === 0x00 || hasNoLength(code)) at = ff + 2;
      else return { code, after: position + ff + 2 };
    }
    if (position + window.length >= file.size) return undefined;
    position += at;
  }
}

/**
 * How many scans (SOS segments) a JPEG has before its end (EOI, or the end of the file),
 * counting no further than `stopAfter`. Segments are skipped by their length, so an SOS
 * byte pair inside EXIF or ICC data is not a scan; inside scan data only a 0xFF followed by
 * a byte other than 0x00, 0xFF or a restart marker ends it.
 */
export async function countJpegScans(file: FileWindow, stopAfter: number): Promise<number> {
  let scans = 0;
  let position = 2; // after SOI
  while (scans < stopAfter) {
    const marker = await nextMarker(file, position);
    if (!marker || marker.code === EOI) break;
    const lengthField = await file.read(marker.after, 2);
    if (lengthField.length < 2) break;
    if (marker.code === SOS) scans++;
    // a length under 2 is corrupt; libjpeg fails on it, so stepping past the field is enough
    position = marker.after + Math.max(lengthField.readUInt16BE(0), 2);
  }
  return scans;
}
