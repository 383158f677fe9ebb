import { invalidArgument } from '../errors/fastdfs-error.js';
import { METADATA_FIELD_SEPARATOR, METADATA_RECORD_SEPARATOR } from '../protocol/sizes.js';

function hasSeparator(text: string): boolean {
  return text.includes('\x01') || text.includes('\x02');
}

/**
 * Packs metadata as `key 0x02 value` records joined by `0x01` (UTF-8). Keys and values
 * containing a separator would corrupt the record list, so they are refused.
 */
export function encodeMetadata(metadata: Readonly<Record<string, string>>, command = 0): Buffer {
  const records: string[] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw invalidArgument(`metadata value of ${JSON.stringify(key)} must be a string`, command);
    if (key.length === 0) throw invalidArgument('metadata keys must not be empty', command);
    if (hasSeparator(key) || hasSeparator(value)) {
      throw invalidArgument(`metadata ${JSON.stringify(key)} contains a 0x01/0x02 separator byte`, command);
    }
    records.push(`${key}\x02${value}`);
  }
  return Buffer.from(records.join('\x01'), 'utf8');
}

/** Unpacks metadata; records without a field separator get an empty value. */
export function decodeMetadata(packed: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  let start = 0;
  while (start < packed.length) {
    let end = packed.indexOf(METADATA_RECORD_SEPARATOR, start);
    if (end < 0) end = packed.length;
    if (end > start) {
      const field = packed.indexOf(METADATA_FIELD_SEPARATOR, start);
      if (field >= 0 && field < end) {
        result[packed.toString('utf8', start, field)] = packed.toString('utf8', field + 1, end);
      } else {
        result[packed.toString('utf8', start, end)] = '';
      }
    }
    start = end + 1;
  }
  return result;
}
