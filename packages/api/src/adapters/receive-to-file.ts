import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, removeIfPresent } from '@avatar/shared';
import type { ReceiveOptions, StagedFile } from './staging-store.js';

/** Bytes kept from the start of the file: enough for file-type's sniffing. */
const HEAD_BYTES = 4100;

/**
 * Bytes gathered before each write to the staging file. The parser hands over socket-sized
 * pieces (about 64 KiB), and each write is a trip through libuv's thread pool that costs more
 * than copying the piece: a ~600 KB photo takes 3 writes instead of about 10. Bounded, so 64
 * bodies at once hold at most 16 MiB here.
 */
const WRITE_BATCH_BYTES = 256 * 1024;

/**
 * Hashes, counts and keeps the head of the bytes passing through, and passes them on in
 * batches of WRITE_BATCH_BYTES; fails as soon as the limit is passed.
 */
class MeasuringTransform extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  private readonly headChunks: Buffer[] = [];
  private headSize = 0;
  private batch: Buffer[] = [];
  private batchSize = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  get head(): Buffer {
    return Buffer.concat(this.headChunks, this.headSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
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
    if (this.batchSize >= WRITE_BATCH_BYTES) this.push(this.takeBatch());
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.batchSize > 0) this.push(this.takeBatch());
    callback();
  }

  private takeBatch(): Buffer {
    const bytes = this.batch.length === 1 ? (this.batch[0] as Buffer) : Buffer.concat(this.batch, this.batchSize);
    this.batch = [];
    this.batchSize = 0;
    return bytes;
  }
}

/**
 * Streams `source` to a new file in `dir` (a generated name: nothing a client sends becomes
 * part of a path), never holding it in memory, measuring size and sha256 on the way. On any
 * failure (limit passed, client gone, timeout) the partial file is removed before the error
 * is rethrown.
 */
export async function receiveToFile(dir: string, source: Readable, options: ReceiveOptions): Promise<StagedFile> {
  const filePath = path.join(dir, `${randomUUID()}.upload`);
  const measure = new MeasuringTransform(options.maxBytes);
  try {
    await pipeline(source, measure, createWriteStream(filePath, { flags: 'wx', mode: 0o600 }), { signal: options.signal });
  } catch (error) {
    await removeIfPresent(filePath);
    throw translateStreamError(error, options);
  }
  return { path: filePath, sizeBytes: measure.size, sha256: measure.hash.digest('hex'), head: measure.head };
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
