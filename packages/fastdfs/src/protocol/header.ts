import { HEADER_SIZE } from './sizes.js';

export interface PacketHeader {
  bodyLength: number;
  command: number;
  status: number;
}

/** Writes a 10-byte header at `offset` of `target` (used to build a packet in one buffer). */
export function writeHeader(target: Buffer, offset: number, bodyLength: number, command: number, status = 0): void {
  target.writeUInt32BE(Math.floor(bodyLength / 0x1_0000_0000), offset);
  target.writeUInt32BE(bodyLength >>> 0, offset + 4);
  target[offset + 8] = command;
  target[offset + 9] = status;
}

export function encodeHeader(bodyLength: number, command: number, status = 0): Buffer {
  const header = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(header, 0, bodyLength, command, status);
  return header;
}

/**
 * Reads a header. The body length is returned as -1 when it is negative or too large to
 * be exact, so callers can treat the frame as malformed.
 */
export function decodeHeader(source: Buffer, offset = 0): PacketHeader {
  const high = source.readUInt32BE(offset);
  const low = source.readUInt32BE(offset + 4);
  const bodyLength = high > 0x1f_ffff ? -1 : high * 0x1_0000_0000 + low;
  return { bodyLength, command: source[offset + 8] ?? 0, status: source[offset + 9] ?? 0 };
}
