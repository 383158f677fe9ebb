import { FastdfsError } from '../errors/fastdfs-error.js';
import type { ResponseHandler } from './connection.js';

const EMPTY = Buffer.alloc(0);

/**
 * Collects a whole response body and settles `promise` with `decode(body)`. A body that
 * arrives in one read is decoded straight from the connection's read buffer (decoders
 * copy what they keep into strings and numbers); otherwise, or without a decoder, it is
 * copied into one buffer of the declared size.
 */
export class BufferedResponse<T = Buffer> implements ResponseHandler {
  readonly promise: Promise<T>;
  private resolve!: (value: T) => void;
  private reject!: (error: FastdfsError) => void;
  private expected = 0;
  private buffer: Buffer | undefined;
  private filled = 0;
  /** The whole body, still inside the read buffer: valid until `complete` returns. */
  private view: Buffer | undefined;

  constructor(
    readonly command: number,
    readonly maxBodyLength: number,
    private readonly decode: ((body: Buffer) => T) | undefined,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  header(bodyLength: number): void {
    this.expected = bodyLength;
  }

  body(source: Buffer, start: number, end: number): void {
    if (this.decode !== undefined && this.filled === 0 && end - start === this.expected) {
      this.view = source.subarray(start, end);
      this.filled = this.expected;
      return;
    }
    // The bytes live in the connection's reused read buffer, so they are copied.
    this.buffer ??= Buffer.allocUnsafe(this.expected);
    source.copy(this.buffer, this.filled, start, end);
    this.filled += end - start;
  }

  complete(): void {
    const body = this.view ?? this.buffer ?? EMPTY;
    this.view = undefined;
    if (this.decode === undefined) {
      this.resolve(body as T);
      return;
    }
    let value: T;
    try {
      value = this.decode(body);
    } catch (error) {
      this.reject(error instanceof FastdfsError ? error : new FastdfsError('protocol', `undecodable response to command ${this.command}`, { command: this.command, cause: error }));
      return;
    }
    this.resolve(value);
  }

  fail(error: FastdfsError): void {
    this.reject(error);
  }
}
