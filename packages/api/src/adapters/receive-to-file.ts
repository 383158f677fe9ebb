import { createHash, randomUUID } from 'node:crypto';
import { close, open, writev } from 'node:fs';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, removeIfPresent } from '@avatar/shared';
import type { ReceiveOptions, StagedFile } from './staging-store.js';

/** Bytes kept from the start of the file: enough for file-type's sniffing. */
const HEAD_BYTES = 4100;

/**
 * Bytes gathered before each write to the staging file. The parser hands over socket-sized
 * pieces (up to 64 KiB), and each write is a trip through libuv's thread pool that costs more
 * than the piece: a ~600 KB photo takes about 5 writes instead of 10. Not more: a piece waits
 * here until its batch is full, and with 64 large bodies trickling in at once, 256 KiB
 * batches kept the pieces alive past V8's young-generation collections (API peak RSS +20 MB).
 */
const WRITE_BATCH_BYTES = 128 * 1024;

type Callback = (error?: Error | null) => void;

/**
 * The staging file's writer: hashes, counts and keeps the head of the bytes passing through,
 * and writes them in batches of WRITE_BATCH_BYTES, each one `writev` of the pieces as they
 * came. Joining a batch into one buffer first copied every body once more, and those copies
 * stayed in memory until V8's next collection (tens of MB with 64 large bodies streaming).
 * Fails as soon as the limit is passed.
 */
class StagingFileWriter extends Writable {
  readonly hash = createHash('sha256');
  size = 0;
  private fd: number | undefined;
  private readonly headChunks: Buffer[] = [];
  private headSize = 0;
  private batch: Buffer[] = [];
  private batchSize = 0;
  /** Set while a write is in flight: closing the descriptor then could let the write land in a file opened after it. */
  private whenWritten: (() => void) | undefined;

  constructor(
    private readonly filePath: string,
    private readonly maxBytes: number,
  ) {
    super();
  }

  get head(): Buffer {
    return Buffer.concat(this.headChunks, this.headSize);
  }

  override _construct(callback: Callback): void {
    open(this.filePath, 'wx', 0o600, (error, fd) => {
      this.fd = fd;
      callback(error);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    if (chunk.length === 0) {
      callback();
      return;
    }
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      callback(new AppError('file_too_large', `The file is larger than ${this.maxBytes} bytes`, { extra: { limit: this.maxBytes } }));
      return;
    }
    if (this.headSize < HEAD_BYTES) {
      const take = chunk.subarray(0, HEAD_BYTES - this.headSize);
      this.headChunks.push(Buffer.from(take));
      this.headSize += take.length;
    }
    this.hash.update(chunk);
    this.batch.push(chunk);
    this.batchSize += chunk.length;
    if (this.batchSize >= WRITE_BATCH_BYTES) this.writeBatch(callback);
    else callback();
  }

  override _final(callback: Callback): void {
    if (this.batchSize > 0) this.writeBatch(callback);
    else callback();
  }

  override _destroy(error: Error | null, callback: Callback): void {
    const closeFile = (): void => {
      const fd = this.fd;
      this.fd = undefined;
      if (fd === undefined) callback(error);
      else close(fd, (closeError) => callback(error ?? closeError));
    };
    if (this.whenWritten) this.whenWritten = closeFile;
    else closeFile();
  }

  private writeBatch(callback: Callback): void {
    const pieces = this.batch;
    this.batch = [];
    this.batchSize = 0;
    this.whenWritten = () => undefined;
    writeAll(this.fd as number, pieces, (error) => {
      const then = this.whenWritten;
      this.whenWritten = undefined;
      then?.();
      callback(error);
    });
  }
}

/** Writes every piece, going on after a short write (the kernel may take fewer bytes than offered). */
function writeAll(fd: number, pieces: Buffer[], callback: Callback): void {
  if (pieces.length === 0) {
    callback();
    return;
  }
  writev(fd, pieces, (error, written) => {
    if (error || written === 0) {
      callback(error ?? new Error('the staging file took no bytes'));
      return;
    }
    let rest = written;
    let i = 0;
    while (i < pieces.length && rest >= (pieces[i] as Buffer).length) rest -= (pieces[i++] as Buffer).length;
    writeAll(fd, i < pieces.length ? [(pieces[i] as Buffer).subarray(rest), ...pieces.slice(i + 1)] : [], callback);
  });
}

/**
 * Streams `source` to a new file in `dir` (a generated name: nothing a client sends becomes
 * part of a path), never holding it in memory, measuring size and sha256 on the way. On any
 * failure (limit passed, client gone, timeout) the partial file is removed before the error
 * is rethrown.
 */
export async function receiveToFile(dir: string, source: Readable, options: ReceiveOptions): Promise<StagedFile> {
  const filePath = path.join(dir, `${randomUUID()}.upload`);
  const writer = new StagingFileWriter(filePath, options.maxBytes);
  try {
    await pipeline(source, writer, { signal: options.signal });
  } catch (error) {
    await removeIfPresent(filePath);
    throw translateStreamError(error, options);
  }
  return { path: filePath, sizeBytes: writer.size, sha256: writer.hash.digest('hex'), head: writer.head };
}

function translateStreamError(error: unknown, options: ReceiveOptions): unknown {
  if (error instanceof AppError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'FST_REQ_FILE_TOO_LARGE') {
    return new AppError('file_too_large', `The file is larger than ${options.maxBytes} bytes`, { extra: { limit: options.maxBytes }, cause: error });
  }
  if (options.signal.aborted) {
    return new AppError('request_timeout', 'The upload was not received in time', { cause: error });
  }
  return error;
}
