import type { FastdfsError } from '../errors/fastdfs-error.js';
import type { ResponseHandler } from './connection.js';

const EMPTY = Buffer.alloc(0);

/** Collects a whole response body into one buffer of the declared size. */
export class BufferedResponse implements ResponseHandler {
  readonly promise: Promise<Buffer>;
  private resolve!: (body: Buffer) => void;
  private reject!: (error: FastdfsError) => void;
  private expected = 0;
  private buffer: Buffer | undefined;
  private filled = 0;

  constructor(
    readonly command: number,
    readonly maxBodyLength: number,
  ) {
    this.promise = new Promise<Buffer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  header(bodyLength: number): void {
    this.expected = bodyLength;
  }

  body(chunk: Buffer): void {
    // The chunk lives in the connection's reused read buffer, so it is always copied.
    this.buffer ??= Buffer.allocUnsafe(this.expected);
    chunk.copy(this.buffer, this.filled);
    this.filled += chunk.length;
  }

  complete(): void {
    this.resolve(this.buffer ?? EMPTY);
  }

  fail(error: FastdfsError): void {
    this.reject(error);
  }
}
