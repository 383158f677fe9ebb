import type { FileWindow } from './file-window.js';
import { STOP, walkRecords } from './walk-records.js';

/**
 * Counting a JPEG's scans. A progressive JPEG may repeat scans at will and the decoder
 * re-walks every coefficient of the image for each one, so the scan count, not the byte
 * count, is what a small hostile file multiplies: 1,000 scans of a flat 5000×5000 image fit
 * in 113 KB and cost 1.4 s of CPU to decode.
 */

/** A marker's two bytes and its segment's length field. */
const MARKER_AND_LENGTH_BYTES = 4;
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const TEM = 0x01;

/** Markers that stand alone, without a length field: TEM, RST0–7, SOI. */
function hasNoLength(code: number): boolean {
  return code === TEM || code === SOI || (code >= 0xd0 && code <= 0xd7);
}

/** Where the search for a marker in `bytes` from `from` ended: at a marker's 0xFF, or where to resume it. */
type Search = { marker: number } | { resume: number };

/**
 * The next marker that opens a segment, found as libjpeg finds it: bytes that are not 0xFF
 * are skipped (entropy-coded data, or garbage libjpeg only warns about), as are fill bytes
 * (0xFF 0xFF), stuffed zeros (0xFF 0x00) and the length-less markers (restart markers inside
 * scan data).
 */
function findMarker(bytes: Buffer, from: number): Search {
  let at = from;
  while (at < bytes.length - 1) {
    const ff = bytes.indexOf(0xff, at);
    if (ff < 0) return { resume: bytes.length };
    if (ff === bytes.length - 1) return { resume: ff }; // its code byte is in the next window
    const code = bytes[ff + 1] ?? 0;
    if (code === 0xff) at = ff + 1;
    else if (code === 0x00 || hasNoLength(code)) at = ff + 2;
    else return { marker: ff };
  }
  return { resume: at };
}

/**
 * How many scans (SOS segments) a JPEG has before its end (EOI, or the end of the file),
 * counting no further than `stopAfter`. Segments are skipped by their length, so an SOS
 * byte pair inside EXIF or ICC data is not a scan; inside scan data only a 0xFF followed by
 * a byte other than 0x00, 0xFF or a restart marker ends it. A hostile file holds millions of
 * empty segments, so they are walked window by window (see walkRecords).
 */
export async function countJpegScans(file: FileWindow, stopAfter: number): Promise<number> {
  let scans = 0;
  await walkRecords(file, 2, MARKER_AND_LENGTH_BYTES, (bytes, at) => {
    const found = findMarker(bytes, at);
    if ('resume' in found) return found.resume > at ? found.resume - at : STOP;
    const ff = found.marker;
    if (bytes[ff + 1] === EOI) return STOP;
    // the length field is in the next window, or the file ends before it
    if (bytes.length - ff < MARKER_AND_LENGTH_BYTES) return ff > at ? ff - at : STOP;
    if (bytes[ff + 1] === SOS && ++scans >= stopAfter) return STOP;
    // a length under 2 is corrupt; libjpeg fails on it, so stepping past the field is enough
    return ff + 2 + Math.max(bytes.readUInt16BE(ff + 2), 2) - at;
  });
  return scans;
}
