/** Writes a non-negative integer (< 2^53) as a big-endian 64-bit field. */
export function writeInt64(target: Buffer, offset: number, value: number): void {
  target.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  target.writeUInt32BE(value >>> 0, offset + 4);
}

/**
 * Reads a big-endian signed 64-bit field as a number. Values beyond ±2^53 come back
 * inexact, which callers treat as invalid anyway.
 */
export function readInt64(source: Buffer, offset: number): number {
  return source.readInt32BE(offset) * 0x1_0000_0000 + source.readUInt32BE(offset + 4);
}

/** Writes a 32-bit value sign-extended into 64 bits, as the storage server sends a crc32. */
export function writeSignExtended32(target: Buffer, offset: number, value: number): void {
  target.writeInt32BE((value | 0) < 0 ? -1 : 0, offset);
  target.writeUInt32BE(value >>> 0, offset + 4);
}
