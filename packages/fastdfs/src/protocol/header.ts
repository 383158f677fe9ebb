import { HEADER_SIZE } from './sizes.js';

/** The 10 bytes before every body: body length 8, command 1, status 1. */
export interface PacketHeader {
  bodyLength: number;
  command: number;
  status: number;
}

/** What a header is built from; a request's status is 0 unless it says otherwise. */
export type HeaderFields = Omit<PacketHeader, 'status'> & { status?: number };

/** Writes a 10-byte header at `offset` of `target` (used to build a packet in one buffer). */
export function writeHeader(target: Buffer, offset: number, header: HeaderFields): void {
  target.writeUInt32BE(Math.floor(header.bodyLength / 0x1_0000_0000), offset);
  target.writeUInt32BE(header.bodyLength >>> 0, offset + 4);
  target[offset + 8] = header.command;
  target[offset + 9] = header.status ?? 0;
}

export function encodeHeader(header: HeaderFields): Buffer {
  const packet = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(packet, 0, header);
  return packet;
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
