import { isValidRemoteName } from '../file-id.js';
import { FastdfsError } from '../errors/fastdfs-error.js';
import { GROUP_NAME_SIZE, INT64_SIZE, IP_FIELD_SIZE_LONG, IP_FIELD_SIZE_SHORT } from '../protocol/sizes.js';
import { readFixedString } from './fixed-string.js';
import { readInt64 } from './int64.js';

export interface StorageAddress {
  group: string;
  host: string;
  port: number;
  /** Present in answers to "query store" (101/104); the store path to upload into. */
  storePathIndex: number;
}

export interface UploadedName {
  group: string;
  remoteName: string;
}

export interface FileInfo {
  size: number;
  createdAt: Date;
  crc32: number;
  sourceIp: string;
}

function malformed(command: number, what: string): FastdfsError {
  return new FastdfsError('protocol', `malformed response to command ${command}: ${what}`, { command });
}

/**
 * Decodes a tracker's answer to "query store" (101/104): group 16 + ip + port 8 + store
 * path index 1. The IP field is 15 or 45 bytes, told apart by the body length.
 */
export function decodeStoreAnswer(command: number, body: Buffer): StorageAddress {
  return decodeStorageAddress(command, body, 1);
}

/** Decodes a tracker's answer to "query fetch / update" (102/103): group 16 + ip + port 8. */
export function decodeFileLocation(command: number, body: Buffer): StorageAddress {
  return decodeStorageAddress(command, body, 0);
}

function decodeStorageAddress(command: number, body: Buffer, pathIndexBytes: 0 | 1): StorageAddress {
  const fixed = GROUP_NAME_SIZE + INT64_SIZE + pathIndexBytes;
  let ipSize: number;
  if (body.length === fixed + IP_FIELD_SIZE_SHORT) ipSize = IP_FIELD_SIZE_SHORT;
  else if (body.length === fixed + IP_FIELD_SIZE_LONG) ipSize = IP_FIELD_SIZE_LONG;
  else throw malformed(command, `storage address body of ${body.length} bytes`);
  const group = readFixedString(body, 0, GROUP_NAME_SIZE);
  const host = readFixedString(body, GROUP_NAME_SIZE, ipSize);
  const port = readInt64(body, GROUP_NAME_SIZE + ipSize);
  if (host.length === 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw malformed(command, `storage address ${JSON.stringify(host)}:${port}`);
  }
  const storePathIndex = pathIndexBytes === 1 ? (body[fixed + ipSize - 1] ?? 0) : 0;
  return { group, host, port, storePathIndex };
}

/** Decodes an upload answer: group 16 + remote name (no NUL). */
export function decodeUploadedName(command: number, body: Buffer): UploadedName {
  const group = readFixedString(body, 0, GROUP_NAME_SIZE);
  const remoteName = body.toString('latin1', GROUP_NAME_SIZE);
  if (group.length === 0 || body.length <= GROUP_NAME_SIZE || !isValidRemoteName(remoteName)) {
    throw malformed(command, `uploaded name ${JSON.stringify(remoteName)}`);
  }
  return { group, remoteName };
}

/**
 * Decodes file info: size 8 + create time 8 + crc32 8 + source ip 16/46. The crc32
 * arrives sign-extended, so only its low 32 bits are the checksum.
 */
export function decodeFileInfo(command: number, body: Buffer): FileInfo {
  const fixed = INT64_SIZE * 3;
  if (body.length !== fixed + IP_FIELD_SIZE_SHORT + 1 && body.length !== fixed + IP_FIELD_SIZE_LONG + 1) {
    throw malformed(command, `file info body of ${body.length} bytes`);
  }
  const size = readInt64(body, 0);
  const seconds = readInt64(body, INT64_SIZE);
  if (size < 0 || seconds < 0) throw malformed(command, 'negative size or time');
  return {
    size,
    createdAt: new Date(seconds * 1000),
    crc32: body.readUInt32BE(INT64_SIZE * 2 + 4),
    sourceIp: readFixedString(body, fixed, body.length - fixed),
  };
}
