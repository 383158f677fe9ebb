import { randomInt } from 'node:crypto';
import { parseRemoteName } from '../file-id.js';
import { EXT_NAME_SIZE, FILE_NAME_BASE64_LENGTH } from '../protocol/sizes.js';

/**
 * Remote file names as the real storage server builds them:
 * `M00/XX/YY/<27 base64 chars><7-char tail>`. The 27 characters are 20 bytes in
 * unpadded base64 with the `A–Z a–z 0–9 - _` alphabet (Node's base64url): source IPv4 (4),
 * upload time (4), a size field (8) and the content's crc32 (4).
 */

/** Bit 31 of the size field's high word marks a normal (< 4 GiB) file with random bits. */
const SIZE_FIELD_MARK = 0x8000_0000;
const RANDOM_BITS_MASK = 0x7f_ffff;
const FOUR_GIB = 0x1_0000_0000;

export interface FileNameFields {
  /** Source IPv4 address, dotted. */
  sourceIp: string;
  /** Unix time of the upload, in seconds. */
  timestamp: number;
  size: number;
  crc32: number;
  /** The 23 random bits of the size field; random when omitted. */
  randomBits?: number;
}

export interface RemoteFileNameParts extends FileNameFields {
  storePathIndex: number;
  /** Sub-folders, 0–255 each. */
  high: number;
  low: number;
  /** Extension without the dot, `''` for none. */
  ext: string;
  /** The random digits of the tail; random when omitted. */
  tailDigits?: string;
}

export interface DecodedFileName {
  storePathIndex: number;
  sourceIp: string;
  timestamp: number;
  /** The size recorded in the name. */
  size: number;
  crc32: number;
  /** A slave file's name is longer than its master's; its fields are the master's. */
  slave: boolean;
  ext: string;
}

function ipToUint32(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) return 0x7f00_0001;
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function uint32ToIp(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/** The 20 bytes behind the base64 part of a name. */
export function encodeFileNameBytes(fields: FileNameFields): Buffer {
  const bytes = Buffer.alloc(20);
  bytes.writeUInt32BE(ipToUint32(fields.sourceIp), 0);
  bytes.writeUInt32BE(fields.timestamp >>> 0, 4);
  const random = (fields.randomBits ?? randomInt(RANDOM_BITS_MASK + 1)) & RANDOM_BITS_MASK;
  if (fields.size >= FOUR_GIB) {
    bytes.writeUInt32BE(Math.floor(fields.size / FOUR_GIB), 8);
    bytes.writeUInt32BE(fields.size >>> 0, 12);
  } else {
    bytes.writeUInt32BE((SIZE_FIELD_MARK | random) >>> 0, 8);
    bytes.writeUInt32BE(fields.size, 12);
  }
  bytes.writeUInt32BE(fields.crc32 >>> 0, 16);
  return bytes;
}

/** Random digits then `.ext`: always 7 characters, or 7 digits when there is no extension. */
export function formatTail(ext: string, digits?: string): string {
  const count = ext.length === 0 ? EXT_NAME_SIZE + 1 : EXT_NAME_SIZE - ext.length;
  let pad = digits ?? '';
  while (pad.length < count) pad += String(randomInt(10));
  pad = pad.slice(0, count);
  return ext.length === 0 ? pad : `${pad}.${ext}`;
}

/** Two upper-case hex digits, as storage names its path index and sub-folders. */
export function hex2(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}

/** Builds a remote name such as `M00/00/00/fwAAAW…AAAA634.jpg`. */
export function buildRemoteFileName(parts: RemoteFileNameParts): string {
  const base = encodeFileNameBytes(parts).toString('base64url');
  return `M${hex2(parts.storePathIndex)}/${hex2(parts.high)}/${hex2(parts.low)}/${base}${formatTail(parts.ext, parts.tailDigits)}`;
}

/** Reads back the fields of a remote name, or undefined if it is not one. */
export function decodeRemoteFileName(remoteName: string): DecodedFileName | undefined {
  const parsed = parseRemoteName(remoteName);
  if (!parsed) return undefined;
  const bytes = Buffer.from(parsed.fileName.slice(0, FILE_NAME_BASE64_LENGTH), 'base64url');
  if (bytes.length !== 20) return undefined;
  const high = bytes.readUInt32BE(8);
  const low = bytes.readUInt32BE(12);
  const marked = (high & SIZE_FIELD_MARK) !== 0;
  const size = marked ? low : high * FOUR_GIB + low;
  return {
    storePathIndex: parsed.storePathIndex,
    sourceIp: uint32ToIp(bytes.readUInt32BE(0)),
    timestamp: bytes.readUInt32BE(4),
    size,
    crc32: bytes.readUInt32BE(16),
    slave: parsed.fileName.length > FILE_NAME_BASE64_LENGTH + EXT_NAME_SIZE + 1,
    ext: parsed.ext,
  };
}
