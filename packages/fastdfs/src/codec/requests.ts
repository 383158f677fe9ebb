import type { RemoteFile, SlaveName } from '../file-id.js';
import { Command } from '../protocol/commands.js';
import { writeHeader } from '../protocol/header.js';
import { EXT_NAME_SIZE, GROUP_NAME_SIZE, HEADER_SIZE, INT64_SIZE, PREFIX_SIZE } from '../protocol/sizes.js';
import { writeFixedString } from './fixed-string.js';
import { writeInt64 } from './int64.js';

/**
 * Request encoders. Each returns one buffer holding the header and every fixed part of
 * the body, so a request costs one allocation and one write; file content, when there is
 * any, is sent after it and already counted in the header's body length.
 */

/** The bytes of a download: from `offset`, `length` of them (0 = to the end of the file). */
export interface ByteRange {
  offset: number;
  length: number;
}

/** A slave upload: the master it belongs to, how it is named, and how many content bytes follow. */
export interface SlaveUpload extends SlaveName {
  masterRemoteName: string;
  size: number;
}

export function encodeEmptyRequest(command: number): Buffer {
  const packet = Buffer.allocUnsafe(HEADER_SIZE);
  writeHeader(packet, 0, { bodyLength: 0, command });
  return packet;
}

/** Tracker 101 (any group, when `group` is not given) or 104 (in `group`). */
export function encodeQueryStore(group?: string): Buffer {
  if (group === undefined) return encodeEmptyRequest(Command.TRACKER_QUERY_STORE_WITHOUT_GROUP_ONE);
  const packet = Buffer.allocUnsafe(HEADER_SIZE + GROUP_NAME_SIZE);
  writeHeader(packet, 0, { bodyLength: GROUP_NAME_SIZE, command: Command.TRACKER_QUERY_STORE_WITH_GROUP_ONE });
  writeFixedString(packet, HEADER_SIZE, GROUP_NAME_SIZE, group);
  return packet;
}

/** group 16 + remote name: tracker 102/103/105 and storage 12/15/22 share this body. */
export function encodeGroupAndName(command: number, file: RemoteFile): Buffer {
  const nameLength = Buffer.byteLength(file.remoteName, 'latin1');
  const bodyLength = GROUP_NAME_SIZE + nameLength;
  const packet = Buffer.allocUnsafe(HEADER_SIZE + bodyLength);
  writeHeader(packet, 0, { bodyLength, command });
  writeFixedString(packet, HEADER_SIZE, GROUP_NAME_SIZE, file.group);
  packet.write(file.remoteName, HEADER_SIZE + GROUP_NAME_SIZE, 'latin1');
  return packet;
}

/** Storage 11: path index 1 + size 8 + ext 6, then `size` bytes of content. */
export function encodeUpload(storePathIndex: number, size: number, ext: string): Buffer {
  const fixed = 1 + INT64_SIZE + EXT_NAME_SIZE;
  const packet = Buffer.allocUnsafe(HEADER_SIZE + fixed);
  writeHeader(packet, 0, { bodyLength: fixed + size, command: Command.STORAGE_UPLOAD_FILE });
  packet[HEADER_SIZE] = storePathIndex;
  writeInt64(packet, HEADER_SIZE + 1, size);
  writeFixedString(packet, HEADER_SIZE + 1 + INT64_SIZE, EXT_NAME_SIZE, ext);
  return packet;
}

/** Storage 21: master name length 8 + size 8 + prefix 16 + ext 6 + master name, then content. */
export function encodeUploadSlave(slave: SlaveUpload): Buffer {
  const nameLength = Buffer.byteLength(slave.masterRemoteName, 'latin1');
  const fixed = INT64_SIZE * 2 + PREFIX_SIZE + EXT_NAME_SIZE + nameLength;
  const packet = Buffer.allocUnsafe(HEADER_SIZE + fixed);
  writeHeader(packet, 0, { bodyLength: fixed + slave.size, command: Command.STORAGE_UPLOAD_SLAVE_FILE });
  let offset = HEADER_SIZE;
  writeInt64(packet, offset, nameLength);
  offset += INT64_SIZE;
  writeInt64(packet, offset, slave.size);
  offset += INT64_SIZE;
  writeFixedString(packet, offset, PREFIX_SIZE, slave.prefix);
  offset += PREFIX_SIZE;
  writeFixedString(packet, offset, EXT_NAME_SIZE, slave.ext);
  offset += EXT_NAME_SIZE;
  packet.write(slave.masterRemoteName, offset, 'latin1');
  return packet;
}

/** Storage 14: offset 8 + byte count 8 (0 = to the end) + group 16 + name. */
export function encodeDownload(file: RemoteFile, range: ByteRange): Buffer {
  const nameLength = Buffer.byteLength(file.remoteName, 'latin1');
  const bodyLength = INT64_SIZE * 2 + GROUP_NAME_SIZE + nameLength;
  const packet = Buffer.allocUnsafe(HEADER_SIZE + bodyLength);
  writeHeader(packet, 0, { bodyLength, command: Command.STORAGE_DOWNLOAD_FILE });
  writeInt64(packet, HEADER_SIZE, range.offset);
  writeInt64(packet, HEADER_SIZE + INT64_SIZE, range.length);
  writeFixedString(packet, HEADER_SIZE + INT64_SIZE * 2, GROUP_NAME_SIZE, file.group);
  packet.write(file.remoteName, HEADER_SIZE + INT64_SIZE * 2 + GROUP_NAME_SIZE, 'latin1');
  return packet;
}

/** Storage 13: name length 8 + metadata length 8 + flag 1 + group 16 + name + metadata. */
export function encodeSetMetadata(file: RemoteFile, packedMetadata: Buffer, flag: number): Buffer {
  const nameLength = Buffer.byteLength(file.remoteName, 'latin1');
  const bodyLength = INT64_SIZE * 2 + 1 + GROUP_NAME_SIZE + nameLength + packedMetadata.length;
  const packet = Buffer.allocUnsafe(HEADER_SIZE + bodyLength);
  writeHeader(packet, 0, { bodyLength, command: Command.STORAGE_SET_METADATA });
  let offset = HEADER_SIZE;
  writeInt64(packet, offset, nameLength);
  offset += INT64_SIZE;
  writeInt64(packet, offset, packedMetadata.length);
  offset += INT64_SIZE;
  packet[offset] = flag;
  offset += 1;
  writeFixedString(packet, offset, GROUP_NAME_SIZE, file.group);
  offset += GROUP_NAME_SIZE;
  offset += packet.write(file.remoteName, offset, 'latin1');
  packedMetadata.copy(packet, offset);
  return packet;
}
