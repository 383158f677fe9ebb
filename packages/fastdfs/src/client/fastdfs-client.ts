import { constants as bufferConstants } from 'node:buffer';
import type { Readable } from 'node:stream';
import { checkExt, checkGroup, checkPrefix } from '../codec/field-rules.js';
import { decodeMetadata, encodeMetadata } from '../codec/metadata.js';
import {
  type ByteRange,
  encodeDownload,
  encodeEmptyRequest,
  encodeGroupAndName,
  encodeQueryStore,
  encodeSetMetadata,
  encodeUpload,
  encodeUploadSlave,
} from '../codec/requests.js';
import { type FileInfo, type StorageAddress, decodeFileInfo, decodeFileLocation, decodeStoreAnswer, decodeUploadedName } from '../codec/responses.js';
import { FastdfsError, invalidArgument } from '../errors/fastdfs-error.js';
import { type RemoteFile, parseFileId } from '../file-id.js';
import { Command, MetadataFlag } from '../protocol/commands.js';
import { GROUP_NAME_SIZE, INT64_SIZE, IP_FIELD_SIZE_LONG, REMOTE_NAME_MAX_LENGTH } from '../protocol/sizes.js';
import { BufferedResponse } from './buffered-response.js';
import type { Connection } from './connection.js';
import { ConnectionPool } from './connection-pool.js';
import { type Endpoint, endpointKey } from './endpoint.js';
import { type FastdfsClientOptions, type ResolvedClientOptions, resolveClientOptions } from './options.js';
import { StorageAssignmentCache } from './storage-assignment-cache.js';
import { StreamedResponse } from './streamed-response.js';
import { TrackerSelector } from './tracker-selector.js';

/** A buffer, or a stream whose exact length is known up front (the protocol sends it first). */
export type FileContent = Buffer | { stream: NodeJS.ReadableStream | Readable; size: number };

export interface SignalOption {
  signal?: AbortSignal;
}
export interface UploadOptions extends SignalOption {
  /** Extension without the dot (a leading dot is ignored), at most 6 of `A-Z a-z 0-9 . _ -`; `''` for none. */
  ext: string;
  /** Upload into this group; by default the tracker picks one. */
  group?: string;
}
export interface UploadSlaveOptions extends SignalOption {
  ext: string;
}
export interface DownloadOptions extends SignalOption {
  /** First byte to read. Default 0. */
  offset?: number;
  /** Bytes to read; default to the end of the file. A count past the end is clamped by the server. */
  length?: number;
}
export type MetadataMode = 'overwrite' | 'merge';
export interface SetMetadataOptions extends SignalOption {
  /** `overwrite` (default) replaces every key of the file; `merge` adds and changes keys, keeping the others. */
  mode?: MetadataMode;
}
export type { FileInfo };

/** Largest tracker answer: group 16 + 45-byte IP + port 8 + path index 1. */
const MAX_STORE_ANSWER = GROUP_NAME_SIZE + IP_FIELD_SIZE_LONG + INT64_SIZE + 1;
const MAX_UPLOAD_ANSWER = GROUP_NAME_SIZE + REMOTE_NAME_MAX_LENGTH;
const MAX_FILE_INFO_ANSWER = INT64_SIZE * 3 + IP_FIELD_SIZE_LONG + 1;
const MAX_METADATA_ANSWER = 16 * 1024 * 1024;
/** Pools found by a linear scan before falling back to the keyed map. */
const MAX_LISTED_POOLS = 32;
/** "Query store, any group" has no variable part: one packet serves every upload (writes never modify it). */
const QUERY_STORE_ANY_GROUP = encodeQueryStore();

function isNetworkFailure(error: unknown): error is FastdfsError {
  return error instanceof FastdfsError && (error.kind === 'connect' || error.kind === 'timeout' || error.kind === 'closed' || error.kind === 'protocol');
}

/** Reads and checks a caller's content; returns its size. */
function contentSize(content: FileContent, command: number): number {
  if (Buffer.isBuffer(content)) return content.length;
  if (content === null || typeof content !== 'object' || typeof content.stream !== 'object' || content.stream === null) {
    throw invalidArgument('content must be a Buffer or { stream, size }', command);
  }
  if (!Number.isSafeInteger(content.size) || content.size < 0) {
    throw invalidArgument(`content size must be a non-negative integer, got ${String(content.size)}`, command);
  }
  return content.size;
}

/**
 * One request and the answer it expects, as {@link FastdfsClient.request} sends it on a
 * pooled connection.
 */
interface Exchange<T> {
  /** Header and fixed part of the body, ready to write. */
  packet: Buffer;
  /** The request's command: named in errors, and it decides what a status means. */
  command: number;
  /** The longest answer body accepted; a longer one is a protocol error. */
  maxAnswerBytes: number;
  /** File content that follows the packet (uploads). */
  content?: FileContent;
  signal: AbortSignal | undefined;
  /**
   * Whether sending it twice is harmless: only then is it sent again when a reused
   * connection turns out to have been closed by the server while idle.
   */
  idempotent: boolean;
  /** Turns the answer's body into the result; without it the body itself is the result. */
  decode?: (body: Buffer) => T;
}

/** A query to the trackers: always idempotent, never with content, always decoded. */
type TrackerQuery<T> = Omit<Exchange<T>, 'content' | 'idempotent' | 'decode'> & { decode: (body: Buffer) => T };

function checkRange(options: DownloadOptions | undefined): ByteRange {
  const offset = options?.offset ?? 0;
  const length = options?.length;
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`download offset must be a non-negative integer, got ${String(offset)}`, Command.STORAGE_DOWNLOAD_FILE);
  if (length !== undefined && (!Number.isSafeInteger(length) || length <= 0)) {
    throw invalidArgument(`download length must be a positive integer, got ${String(length)}`, Command.STORAGE_DOWNLOAD_FILE);
  }
  return { offset, length: length ?? 0 };
}

function throwIfAborted(signal: AbortSignal | undefined, command: number): void {
  if (signal?.aborted) throw new FastdfsError('aborted', `command ${command} was aborted before it started`, { command });
}

/** Makes `signal` close the connection (the only way to stop a frame mid-way); returns the detach function. */
function watchAbort(signal: AbortSignal | undefined, connection: Connection, command: number): (() => void) | undefined {
  if (!signal) return undefined;
  const onAbort = (): void => connection.destroy(new FastdfsError('aborted', `command ${command} was aborted`, { command, cause: signal.reason }));
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/**
 * A FastDFS client: trackers round robin with failover and cool-down, a connection pool
 * per tracker and per storage server, streamed uploads and downloads, typed errors.
 * One instance is meant to be long-lived and shared by concurrent callers.
 */
export class FastdfsClient {
  private readonly settings: ResolvedClientOptions;
  private readonly trackers: TrackerSelector;
  private readonly pools = new Map<string, ConnectionPool>();
  /** The pools again, for a lookup by host and port that builds no key string. */
  private readonly poolList: ConnectionPool[] = [];
  private closed = false;
  private readonly storeAssignments: StorageAssignmentCache;
  private readonly masterLocations: StorageAssignmentCache;

  constructor(options: FastdfsClientOptions) {
    this.settings = resolveClientOptions(options);
    this.trackers = new TrackerSelector(this.settings.trackers, this.settings.trackerCooldownMs);
    this.storeAssignments = new StorageAssignmentCache(this.settings.storageAssignmentTtlMs);
    this.masterLocations = new StorageAssignmentCache(this.settings.storageAssignmentTtlMs);
  }

  /** TCP connections opened so far, over all pools (to watch pooling at work). */
  get connectionsOpened(): number {
    let total = 0;
    for (const pool of this.pools.values()) total += pool.opened;
    return total;
  }

  /** Stores `content` and returns its file id, e.g. `group1/M00/00/00/wKgB….webp`. */
  async upload(content: FileContent, options: UploadOptions): Promise<string> {
    const command = Command.STORAGE_UPLOAD_FILE;
    const ext = checkExt(options.ext, command);
    const group = options.group === undefined ? undefined : checkGroup(options.group, command);
    const size = contentSize(content, command);
    throwIfAborted(options.signal, command);
    const assignmentKey = group ?? '';
    const remembered = this.storeAssignments.get(assignmentKey);
    const store = remembered ?? (await this.queryStore(group, options.signal));
    try {
      const uploaded = await this.sendFile(store, { packet: encodeUpload(store.storePathIndex, size, ext), command, content, signal: options.signal });
      // only a fresh answer starts the TTL: renewing it on every success would mean a steady
      // stream never asks the tracker again, and never sees a storage go or a new one come
      if (remembered === undefined) this.storeAssignments.set(assignmentKey, store);
      // the slaves that usually follow go to the storage that holds this master
      this.masterLocations.set(`${uploaded.group}/${uploaded.remoteName}`, store);
      return `${uploaded.group}/${uploaded.remoteName}`;
    } catch (error) {
      this.forgetStorage(store);
      throw error;
    }
  }

  /**
   * Stores a slave of `masterFileId` (on the storage that holds the master) and returns
   * its id: the master's name with `prefix` and `.ext`, see {@link slaveFileId}.
   */
  async uploadSlave(masterFileId: string, prefix: string, content: FileContent, options: UploadSlaveOptions): Promise<string> {
    const command = Command.STORAGE_UPLOAD_SLAVE_FILE;
    const master = parseFileId(masterFileId);
    const checkedPrefix = checkPrefix(prefix, command);
    const ext = checkExt(options.ext, command);
    const size = contentSize(content, command);
    throwIfAborted(options.signal, command);
    const remembered = this.masterLocations.get(masterFileId);
    const storage = remembered ?? (await this.queryFileLocation(Command.TRACKER_QUERY_UPDATE, master, options.signal));
    const packet = encodeUploadSlave({ masterRemoteName: master.remoteName, size, prefix: checkedPrefix, ext });
    try {
      const uploaded = await this.sendFile(storage, { packet, command, content, signal: options.signal });
      if (remembered === undefined) this.masterLocations.set(masterFileId, storage);
      return `${uploaded.group}/${uploaded.remoteName}`;
    } catch (error) {
      this.forgetStorage(storage);
      throw error;
    }
  }

  /** Reads a file (or a range of it) into memory. */
  async download(fileId: string, options?: DownloadOptions): Promise<Buffer> {
    const command = Command.STORAGE_DOWNLOAD_FILE;
    const file = parseFileId(fileId);
    const range = checkRange(options);
    throwIfAborted(options?.signal, command);
    const storage = await this.queryFileLocation(Command.TRACKER_QUERY_FETCH_ONE, file, options?.signal);
    return this.request(storage, {
      packet: encodeDownload(file, range),
      command,
      maxAnswerBytes: range.length > 0 ? range.length : bufferConstants.MAX_LENGTH,
      signal: options?.signal,
      idempotent: true,
    });
  }

  /**
   * Reads a file (or a range of it) as a stream, never holding it in memory. Resolves
   * once the storage server accepted the request; server errors (such as ENOENT) reject.
   */
  async downloadStream(fileId: string, options?: DownloadOptions): Promise<Readable> {
    const command = Command.STORAGE_DOWNLOAD_FILE;
    const file = parseFileId(fileId);
    const range = checkRange(options);
    const signal = options?.signal;
    throwIfAborted(signal, command);
    const storage = await this.queryFileLocation(Command.TRACKER_QUERY_FETCH_ONE, file, signal);
    const pool = this.pool(storage);
    const packet = encodeDownload(file, range);
    const maxBody = range.length > 0 ? range.length : Number.MAX_SAFE_INTEGER;
    for (let attempt = 0; ; attempt++) {
      const connection = await pool.acquire(signal);
      const reused = connection.uses > 0;
      const detach = watchAbort(signal, connection, command);
      const response = new StreamedResponse(command, maxBody, () => {
        detach?.();
        pool.release(connection);
      });
      connection.start(response, packet);
      try {
        return await response.ready;
      } catch (error) {
        if (attempt === 0 && reused && this.isStaleConnection(error, connection)) continue;
        throw error;
      }
    }
  }

  async delete(fileId: string, options?: SignalOption): Promise<void> {
    const command = Command.STORAGE_DELETE_FILE;
    const file = parseFileId(fileId);
    throwIfAborted(options?.signal, command);
    const storage = await this.queryFileLocation(Command.TRACKER_QUERY_UPDATE, file, options?.signal);
    await this.request(storage, { packet: encodeGroupAndName(command, file), command, maxAnswerBytes: 0, signal: options?.signal, idempotent: false });
  }

  /** Size, creation time, crc32 (unsigned) and source IP, as the storage server records them. */
  async fileInfo(fileId: string, options?: SignalOption): Promise<FileInfo> {
    const command = Command.STORAGE_QUERY_FILE_INFO;
    const file = parseFileId(fileId);
    throwIfAborted(options?.signal, command);
    const storage = await this.queryFileLocation(Command.TRACKER_QUERY_FETCH_ONE, file, options?.signal);
    return this.request(storage, {
      packet: encodeGroupAndName(command, file),
      command,
      maxAnswerBytes: MAX_FILE_INFO_ANSWER,
      signal: options?.signal,
      idempotent: true,
      decode: (body) => decodeFileInfo(command, body),
    });
  }

  /** Replaces (`mode: 'overwrite'`, default) or merges (`mode: 'merge'`) the file's metadata. */
  async setMetadata(fileId: string, metadata: Record<string, string>, options?: SetMetadataOptions): Promise<void> {
    const command = Command.STORAGE_SET_METADATA;
    const file = parseFileId(fileId);
    const mode = options?.mode ?? 'overwrite';
    if (mode !== 'overwrite' && mode !== 'merge') throw invalidArgument(`metadata mode must be "overwrite" or "merge", got ${String(mode)}`, command);
    const packed = encodeMetadata(metadata, command);
    throwIfAborted(options?.signal, command);
    const storage = await this.queryFileLocation(Command.TRACKER_QUERY_UPDATE, file, options?.signal);
    const packet = encodeSetMetadata(file, packed, MetadataFlag[mode]);
    await this.request(storage, { packet, command, maxAnswerBytes: 0, signal: options?.signal, idempotent: false });
  }

  /**
   * The file's metadata; `{}` when it has none. The storage server answers ENOENT both
   * for a missing file and for a file without metadata, so the two read the same here.
   */
  async getMetadata(fileId: string, options?: SignalOption): Promise<Record<string, string>> {
    const command = Command.STORAGE_GET_METADATA;
    const file = parseFileId(fileId);
    throwIfAborted(options?.signal, command);
    const storage = await this.queryFileLocation(Command.TRACKER_QUERY_FETCH_ONE, file, options?.signal);
    try {
      return await this.request(storage, {
        packet: encodeGroupAndName(command, file),
        command,
        maxAnswerBytes: MAX_METADATA_ANSWER,
        signal: options?.signal,
        idempotent: true,
        decode: decodeMetadata,
      });
    } catch (error) {
      if (error instanceof FastdfsError && error.notFound) return {};
      throw error;
    }
  }

  /** Resolves when at least one tracker answers "active test"; rejects with the last failure otherwise. */
  async activeTest(options?: SignalOption): Promise<void> {
    const command = Command.ACTIVE_TEST;
    throwIfAborted(options?.signal, command);
    await this.onTracker({ packet: encodeEmptyRequest(command), command, maxAnswerBytes: 0, signal: options?.signal, decode: () => undefined });
  }

  /**
   * Resolves when a tracker would assign an upload (to `group`, or any group) to an ACTIVE
   * storage server right now; stores nothing. Rejects with the tracker's ENOENT
   * (`noStorageAvailable`) when none is, or with the network failure when no tracker answers.
   * A stopped or killed storage is OFFLINE at once (its connection to the tracker drops); only
   * a frozen one (SIGSTOP, a lost host) stays ACTIVE until the tracker's heartbeat check, which
   * this cannot see; uploads to it time out and are retried.
   */
  async checkStorageAvailable(options?: SignalOption & { group?: string }): Promise<void> {
    const group = options?.group === undefined ? undefined : checkGroup(options.group, Command.TRACKER_QUERY_STORE_WITH_GROUP_ONE);
    throwIfAborted(options?.signal, Command.TRACKER_QUERY_STORE_WITHOUT_GROUP_ONE);
    await this.queryStore(group, options?.signal);
  }

  /** Closes every pooled socket; requests in progress reject with kind `closed`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
    this.poolList.length = 0;
  }

  /** After any failure on a storage, ask the trackers again rather than trust a remembered answer. */
  private forgetStorage(storage: StorageAddress): void {
    this.storeAssignments.forget(storage);
    this.masterLocations.forget(storage);
  }

  private queryStore(group: string | undefined, signal: AbortSignal | undefined): Promise<StorageAddress> {
    const packet = group === undefined ? QUERY_STORE_ANY_GROUP : encodeQueryStore(group);
    const command = packet[8] ?? 0;
    return this.onTracker({ packet, command, maxAnswerBytes: MAX_STORE_ANSWER, signal, decode: (body) => decodeStoreAnswer(command, body) });
  }

  /** Asks the trackers which storage server holds `file`: to read it (102) or to change it (103). */
  private queryFileLocation(command: number, file: RemoteFile, signal: AbortSignal | undefined): Promise<StorageAddress> {
    const packet = encodeGroupAndName(command, file);
    return this.onTracker({ packet, command, maxAnswerBytes: MAX_STORE_ANSWER, signal, decode: (body) => decodeFileLocation(command, body) });
  }

  /** Sends a query to the trackers in turn until one answers; network failures start a tracker's cool-down. */
  private async onTracker<T>(query: TrackerQuery<T>): Promise<T> {
    const exchange = { packet: query.packet, command: query.command, maxAnswerBytes: query.maxAnswerBytes, signal: query.signal, idempotent: true, decode: query.decode };
    let lastError: unknown;
    for (const tracker of this.trackers.candidates()) {
      try {
        const answer = await this.request(tracker, exchange);
        this.trackers.markHealthy(tracker);
        return answer;
      } catch (error) {
        if (!isNetworkFailure(error)) throw error;
        this.trackers.markFailed(tracker);
        lastError = error;
      }
    }
    throw lastError;
  }

  /** Sends a file (a master or a slave) to a storage; never resent: a second copy would be a second file. */
  private sendFile(storage: Endpoint, file: { packet: Buffer; command: number; content: FileContent; signal: AbortSignal | undefined }) {
    return this.request(storage, {
      ...file,
      maxAnswerBytes: MAX_UPLOAD_ANSWER,
      idempotent: false,
      decode: (body) => decodeUploadedName(file.command, body),
    });
  }

  /**
   * One request/response on a pooled connection to `endpoint`. An idempotent request that
   * failed because a reused connection turned out to be closed (the server dropped it
   * while idle) is sent once more on another connection. Without `decode` the answer is
   * the body itself.
   */
  private request(endpoint: Endpoint, exchange: Exchange<Buffer> & { decode?: undefined }): Promise<Buffer>;
  private request<T>(endpoint: Endpoint, exchange: Exchange<T> & { decode: (body: Buffer) => T }): Promise<T>;
  private async request<T>(endpoint: Endpoint, exchange: Exchange<T>): Promise<T> {
    const pool = this.pool(endpoint);
    for (let attempt = 0; ; attempt++) {
      // An idle pooled connection is taken at once, without a round through the microtask queue.
      const connection = pool.tryAcquire(exchange.signal) ?? (await pool.acquire(exchange.signal));
      const reused = connection.uses > 0;
      try {
        return await this.exchange(connection, exchange);
      } catch (error) {
        // A body that does not decode means the peer is not speaking the protocol: never reuse it.
        if (error instanceof FastdfsError && error.kind === 'protocol') connection.destroy();
        if (exchange.idempotent && attempt === 0 && reused && this.isStaleConnection(error, connection)) continue;
        throw error;
      } finally {
        pool.release(connection);
      }
    }
  }

  private exchange<T>(connection: Connection, exchange: Exchange<T>): Promise<T> {
    const { command, content, signal } = exchange;
    const response = new BufferedResponse<T>(command, exchange.maxAnswerBytes, exchange.decode);
    const detach = watchAbort(signal, connection, command);
    if (content === undefined || Buffer.isBuffer(content)) {
      connection.start(response, exchange.packet, content);
    } else {
      connection.startStreamed(response, exchange.packet);
      // A failing source fails the exchange through the connection, which is then unusable.
      connection.pump(content.stream, content.size, command).catch((error: unknown) => {
        connection.destroy(error instanceof FastdfsError ? error : new FastdfsError('aborted', String(error), { command, cause: error }));
      });
    }
    return detach ? response.promise.finally(detach) : response.promise;
  }

  private isStaleConnection(error: unknown, connection: Connection): boolean {
    return !this.closed && error instanceof FastdfsError && error.kind === 'closed' && !connection.responseHasStarted;
  }

  private pool(endpoint: Endpoint): ConnectionPool {
    if (this.closed) throw new FastdfsError('closed', 'the client was closed');
    // A handful of pools (trackers and storages): comparing host and port beats building a key.
    const list = this.poolList;
    for (let i = 0; i < list.length; i++) {
      const candidate = list[i] as ConnectionPool;
      if (candidate.endpoint === endpoint || (candidate.endpoint.port === endpoint.port && candidate.endpoint.host === endpoint.host)) return candidate;
    }
    const key = endpointKey(endpoint);
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = new ConnectionPool(endpoint, {
        maxSize: this.settings.poolSize,
        idleTimeoutMs: this.settings.idleTimeoutMs,
        connectTimeoutMs: this.settings.connectTimeoutMs,
        networkTimeoutMs: this.settings.networkTimeoutMs,
      });
      this.pools.set(key, pool);
      if (list.length < MAX_LISTED_POOLS) list.push(pool);
    }
    return pool;
  }
}
