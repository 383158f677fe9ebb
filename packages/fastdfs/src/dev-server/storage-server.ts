import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import { isValidExt, isValidPrefix } from '../codec/field-rules.js';
import { readFixedString, writeFixedString } from '../codec/fixed-string.js';
import { readInt64, writeInt64, writeSignExtended32 } from '../codec/int64.js';
import { slaveRemoteName } from '../file-id.js';
import { Command, MetadataFlag, Status } from '../protocol/commands.js';
import { writeHeader } from '../protocol/header.js';
import {
  EXT_NAME_SIZE,
  GROUP_NAME_SIZE,
  HEADER_SIZE,
  INT64_SIZE,
  type IpFieldSize,
  METADATA_FIELD_SEPARATOR,
  METADATA_KEY_MAX_BYTES,
  METADATA_RECORD_SEPARATOR,
  METADATA_VALUE_MAX_BYTES,
  PREFIX_SIZE,
  REMOTE_NAME_MAX_LENGTH,
  STORE_PATH_INDEX_ANY,
} from '../protocol/sizes.js';
import type { DiskStore, PendingFile } from './disk-store.js';
import { buildRemoteFileName, decodeRemoteFileName } from './file-name.js';
import { type AfterFrame, type FrameContext, FrameServer, writeResponse } from './frame-server.js';
import type { SocketReader } from './socket-reader.js';

export interface StorageServerSettings {
  group: string;
  /** IPv4 written into generated names and reported as the source IP. */
  sourceIp: string;
  ipFieldSize: IpFieldSize;
  store: DiskStore;
}

/** Bodies of commands other than uploads are small; a larger one is a broken client. */
const MAX_SMALL_BODY = 1024 * 1024;
/** Content read in pieces of at most this size, so memory stays flat for any file size. */
const PIECE = 256 * 1024;
/** Files up to this size are answered with one read and one write. */
const SMALL_FILE = 1024 * 1024;

/** A request refused with a status; `close` when the stream is out of step afterwards. */
class Refusal {
  constructor(
    readonly status: number,
    readonly close: boolean,
  ) {}
}

const invalid = (): Refusal => new Refusal(Status.EINVAL, true);
const notFound = (): Refusal => new Refusal(Status.ENOENT, false);

/**
 * The storage half of the dev server: upload (normal and slave), download with ranges,
 * delete, file info, metadata, active test and quit, answering as FastDFS 6.16's storage
 * does, including closing the connection after EINVAL. Appender files are not served: the
 * client never creates one, so their commands get EINVAL like any other unknown command.
 */
export class StorageServer {
  readonly frames: FrameServer;

  constructor(private readonly settings: StorageServerSettings) {
    this.frames = new FrameServer((context) => this.handle(context));
  }

  private async handle(context: FrameContext): Promise<AfterFrame> {
    try {
      return await this.dispatch(context);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      writeResponse(context.socket, error.status);
      return error.close || error.status === Status.EINVAL ? 'close' : 'keep';
    }
  }

  private async dispatch({ header, reader, socket }: FrameContext): Promise<AfterFrame> {
    const { bodyLength } = header;
    switch (header.command) {
      case Command.STORAGE_UPLOAD_FILE:
        return this.upload(reader, socket, bodyLength);
      case Command.STORAGE_UPLOAD_SLAVE_FILE:
        return this.uploadSlave(reader, socket, bodyLength);
      case Command.QUIT:
        return 'close';
      default:
        break;
    }
    // Everything else has a small body, read whole before it is looked at.
    if (bodyLength > MAX_SMALL_BODY) return 'close';
    const body = await reader.read(bodyLength);
    if (body === undefined) return 'close';
    switch (header.command) {
      case Command.ACTIVE_TEST:
        if (bodyLength !== 0) throw invalid();
        writeResponse(socket, Status.OK);
        return 'keep';
      case Command.STORAGE_DOWNLOAD_FILE:
        return this.download(socket, body);
      case Command.STORAGE_DELETE_FILE:
        await this.delete(body);
        writeResponse(socket, Status.OK);
        return 'keep';
      case Command.STORAGE_QUERY_FILE_INFO:
        writeResponse(socket, Status.OK, await this.fileInfo(body, header.status));
        return 'keep';
      case Command.STORAGE_SET_METADATA:
        await this.setMetadata(body);
        writeResponse(socket, Status.OK);
        return 'keep';
      case Command.STORAGE_GET_METADATA:
        writeResponse(socket, Status.OK, await this.getMetadata(body));
        return 'keep';
      default:
        throw invalid();
    }
  }

  /** group 16 + remote name, with the group checked against ours and the name validated. */
  private fileFromBody(body: Buffer, offset = 0): { remoteName: string; path: string } {
    if (body.length <= offset + GROUP_NAME_SIZE) throw invalid();
    const group = readFixedString(body, offset, GROUP_NAME_SIZE);
    const remoteName = body.toString('latin1', offset + GROUP_NAME_SIZE);
    return this.checkFile(group, remoteName);
  }

  private checkFile(group: string, remoteName: string): { remoteName: string; path: string } {
    if (group !== this.settings.group) throw invalid();
    const path = this.settings.store.pathOf(remoteName);
    if (path === undefined) throw invalid();
    return { remoteName, path };
  }

  private async statFile(path: string): Promise<{ size: number; mtimeMs: number }> {
    try {
      const info = await stat(path);
      if (!info.isFile()) throw notFound();
      return info;
    } catch (error) {
      if (error instanceof Refusal) throw error;
      throw notFound();
    }
  }

  private answerName(socket: Socket, remoteName: string): void {
    const body = Buffer.alloc(GROUP_NAME_SIZE + remoteName.length);
    writeFixedString(body, 0, GROUP_NAME_SIZE, this.settings.group);
    body.write(remoteName, GROUP_NAME_SIZE, 'latin1');
    writeResponse(socket, Status.OK, body);
  }

  /**
   * Copies `size` bytes from the socket into a temporary file. When the peer leaves
   * mid-way or the disk fails, the temporary file is removed: nothing half-written stays.
   */
  private async receiveOrDiscard(reader: SocketReader, file: PendingFile, size: number): Promise<boolean> {
    const store = this.settings.store;
    try {
      while (file.written < size) {
        const chunk = await reader.readSome(Math.min(PIECE, size - file.written));
        if (chunk === undefined) {
          await store.discard(file);
          return false;
        }
        await store.write(file, chunk);
      }
      return true;
    } catch (error) {
      await store.discard(file);
      throw error;
    }
  }

  /** Command 11: path index 1 + size 8 + ext 6 + content. */
  private async upload(reader: SocketReader, socket: Socket, bodyLength: number): Promise<AfterFrame> {
    const fixed = 1 + INT64_SIZE + EXT_NAME_SIZE;
    if (bodyLength < fixed) throw invalid();
    const head = await reader.read(fixed);
    if (head === undefined) return 'close';
    const pathIndex = head[0];
    const size = readInt64(head, 1);
    const ext = readFixedString(head, 1 + INT64_SIZE, EXT_NAME_SIZE);
    if ((pathIndex !== 0 && pathIndex !== STORE_PATH_INDEX_ANY) || size !== bodyLength - fixed || !isValidExt(ext)) throw invalid();

    const store = this.settings.store;
    const file = await store.begin();
    if (!(await this.receiveOrDiscard(reader, file, size))) return 'close';
    const timestamp = Math.floor(Date.now() / 1000);
    const remoteName = await store.commit(file, () =>
      buildRemoteFileName({
        storePathIndex: 0,
        high: file.folder.high,
        low: file.folder.low,
        sourceIp: this.settings.sourceIp,
        timestamp,
        size,
        crc32: file.crc32,
        ext,
      }),
    );
    this.answerName(socket, remoteName);
    return 'keep';
  }

  /** Command 21: master name length 8 + size 8 + prefix 16 + ext 6 + master name + content. */
  private async uploadSlave(reader: SocketReader, socket: Socket, bodyLength: number): Promise<AfterFrame> {
    const fixed = INT64_SIZE * 2 + PREFIX_SIZE + EXT_NAME_SIZE;
    if (bodyLength < fixed) throw invalid();
    const head = await reader.read(fixed);
    if (head === undefined) return 'close';
    const nameLength = readInt64(head, 0);
    const size = readInt64(head, INT64_SIZE);
    const prefix = readFixedString(head, INT64_SIZE * 2, PREFIX_SIZE);
    const ext = readFixedString(head, INT64_SIZE * 2 + PREFIX_SIZE, EXT_NAME_SIZE);
    if (nameLength <= 0 || nameLength > REMOTE_NAME_MAX_LENGTH || size < 0 || bodyLength !== fixed + nameLength + size) throw invalid();
    if (!isValidPrefix(prefix) || !isValidExt(ext)) throw invalid();
    const nameBytes = await reader.read(nameLength);
    if (nameBytes === undefined) return 'close';
    const masterName = nameBytes.toString('latin1');
    const masterPath = this.settings.store.pathOf(masterName);
    let slaveName: string;
    try {
      slaveName = slaveRemoteName(masterName, { prefix, ext });
    } catch {
      throw invalid();
    }
    const slavePath = this.settings.store.pathOf(slaveName);
    if (masterPath === undefined || slavePath === undefined) throw invalid();

    // Errors found before the content is read are answered after skipping it, so the
    // connection stays usable, as the real server keeps it after statuses other than 22.
    let refusal: Refusal | undefined;
    if (!(await this.settings.store.exists(masterPath))) refusal = notFound();
    else if (await this.settings.store.exists(slavePath)) refusal = new Refusal(Status.EEXIST, false);
    if (refusal) {
      if (!(await reader.skip(size))) return 'close';
      throw refusal;
    }

    const store = this.settings.store;
    const folder = { high: Number.parseInt(masterName.slice(4, 6), 16), low: Number.parseInt(masterName.slice(7, 9), 16) };
    const file = await store.beginIn(folder);
    if (!(await this.receiveOrDiscard(reader, file, size))) return 'close';
    try {
      await store.commit(file, () => slaveName);
    } catch {
      await store.discard(file);
      throw new Refusal(Status.EEXIST, false);
    }
    this.answerName(socket, slaveName);
    return 'keep';
  }

  /** Command 14: offset 8 + count 8 (0 = to the end) + group 16 + name. */
  private async download(socket: Socket, body: Buffer): Promise<AfterFrame> {
    if (body.length <= INT64_SIZE * 2) throw invalid();
    const offset = readInt64(body, 0);
    const count = readInt64(body, INT64_SIZE);
    const { path } = this.fileFromBody(body, INT64_SIZE * 2);
    if (offset < 0 || count < 0) throw invalid();
    const { size } = await this.statFile(path);
    // An offset at or past the end is EINVAL, so a 0-byte file can be stored but not read.
    if (offset >= size) throw invalid();
    const length = count === 0 || offset + count > size ? size - offset : count;
    const handle = await open(path, 'r');
    try {
      const head = Buffer.allocUnsafe(HEADER_SIZE + Math.min(length, SMALL_FILE));
      writeHeader(head, 0, { bodyLength: length, command: Command.RESPONSE, status: Status.OK });
      if (length <= SMALL_FILE) {
        await readFully(handle, head, { at: HEADER_SIZE, length, position: offset });
        socket.write(head);
        return 'keep';
      }
      socket.write(head.subarray(0, HEADER_SIZE));
      let sent = 0;
      while (sent < length) {
        const piece = Buffer.allocUnsafe(Math.min(PIECE, length - sent));
        await readFully(handle, piece, { at: 0, length: piece.length, position: offset + sent });
        sent += piece.length;
        if (!socket.write(piece)) {
          if (!(await drained(socket))) return 'close';
        }
      }
      return 'keep';
    } finally {
      await handle.close();
    }
  }

  private async delete(body: Buffer): Promise<void> {
    const { remoteName, path } = this.fileFromBody(body);
    await this.statFile(path);
    await this.settings.store.remove(remoteName);
  }

  /** Command 22: size 8 + create time 8 + crc32 8 (sign-extended) + source ip 16/46. */
  private async fileInfo(body: Buffer, flags: number): Promise<Buffer> {
    const { remoteName, path } = this.fileFromBody(body);
    const info = await this.statFile(path);
    const decoded = decodeRemoteFileName(remoteName);
    if (decoded === undefined) throw invalid();
    let crc = decoded.crc32;
    let timestamp = decoded.timestamp;
    if (decoded.slave) {
      // Its name carries the master's checksum: compute the real one.
      timestamp = Math.floor(info.mtimeMs / 1000);
      crc = (flags & 1) !== 0 ? 0 : crc32(await readFile(path));
    }
    const ipSize = this.settings.ipFieldSize + 1;
    const answer = Buffer.alloc(INT64_SIZE * 3 + ipSize);
    writeInt64(answer, 0, info.size);
    writeInt64(answer, INT64_SIZE, timestamp);
    // The real server stores the crc in a signed int and sign-extends it on the wire.
    writeSignExtended32(answer, INT64_SIZE * 2, crc);
    writeFixedString(answer, INT64_SIZE * 3, ipSize, decoded.sourceIp);
    return answer;
  }

  /** Command 13: name length 8 + metadata length 8 + flag 1 + group 16 + name + metadata. */
  private async setMetadata(body: Buffer): Promise<void> {
    const fixed = INT64_SIZE * 2 + 1 + GROUP_NAME_SIZE;
    if (body.length < fixed) throw invalid();
    const nameLength = readInt64(body, 0);
    const metaLength = readInt64(body, INT64_SIZE);
    const flag = body[INT64_SIZE * 2];
    if (nameLength <= 0 || metaLength < 0 || body.length !== fixed + nameLength + metaLength) throw invalid();
    if (flag !== MetadataFlag.overwrite && flag !== MetadataFlag.merge) throw invalid();
    const group = readFixedString(body, INT64_SIZE * 2 + 1, GROUP_NAME_SIZE);
    const remoteName = body.toString('latin1', fixed, fixed + nameLength);
    const { path } = this.checkFile(group, remoteName);
    await this.statFile(path);
    const incoming = parseMetadataRecords(body.subarray(fixed + nameLength));
    const merged = flag === MetadataFlag.merge ? parseMetadataRecords((await this.settings.store.readMetadata(remoteName)) ?? Buffer.alloc(0)) : new Map<string, Buffer>();
    for (const [key, value] of incoming) merged.set(key, value);
    await this.settings.store.writeMetadata(remoteName, packMetadataRecords(merged));
  }

  private async getMetadata(body: Buffer): Promise<Buffer> {
    const { remoteName, path } = this.fileFromBody(body);
    await this.statFile(path);
    const packed = await this.settings.store.readMetadata(remoteName);
    if (packed === undefined || packed.length === 0) throw notFound();
    return packed;
  }
}

/** Splits packed metadata, cutting keys to 64 bytes and values to 256 as the real server does. */
function parseMetadataRecords(packed: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let start = 0;
  while (start < packed.length) {
    let end = packed.indexOf(METADATA_RECORD_SEPARATOR, start);
    if (end < 0) end = packed.length;
    const field = packed.indexOf(METADATA_FIELD_SEPARATOR, start);
    if (field >= 0 && field < end) {
      const key = packed.subarray(start, Math.min(field, start + METADATA_KEY_MAX_BYTES)).toString('latin1');
      if (key.length > 0) records.set(key, packed.subarray(field + 1, Math.min(end, field + 1 + METADATA_VALUE_MAX_BYTES)));
    }
    start = end + 1;
  }
  return records;
}

/** Packs records sorted by key, the order the real server stores them in. */
function packMetadataRecords(records: Map<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  const keys = [...records.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
  for (const key of keys) {
    if (parts.length > 0) parts.push(Buffer.from([METADATA_RECORD_SEPARATOR]));
    parts.push(Buffer.from(key, 'latin1'), Buffer.from([METADATA_FIELD_SEPARATOR]), records.get(key) ?? Buffer.alloc(0));
  }
  return Buffer.concat(parts);
}

/** `length` bytes of the file from `position`, into `target` at `at`. */
interface FileSpan {
  at: number;
  length: number;
  position: number;
}

async function readFully(handle: FileHandle, target: Buffer, span: FileSpan): Promise<void> {
  const { at, length, position } = span;
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(target, at + done, length - done, position + done);
    if (bytesRead === 0) throw Object.assign(new Error('file shrank while being read'), { code: 'EIO' });
    done += bytesRead;
  }
}

/** Resolves true on 'drain', false if the socket closed first. */
function drained(socket: Socket): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const finish = (ok: boolean): void => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => finish(true);
    const onClose = (): void => finish(false);
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}
