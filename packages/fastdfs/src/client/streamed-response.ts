import { Readable } from 'node:stream';
import { FastdfsError } from '../errors/fastdfs-error.js';
import type { Connection, ResponseHandler } from './connection.js';

/**
 * Hands a response body to a Readable as it arrives, pausing the socket while the
 * reader is behind, so a large download never sits in memory. `ready` settles when the
 * header arrives: a server error rejects it, success resolves it with the stream.
 */
export class StreamedResponse implements ResponseHandler {
  readonly ready: Promise<Readable>;
  private resolve!: (stream: Readable) => void;
  private reject!: (error: FastdfsError) => void;
  private stream: Readable | undefined;
  private finished = false;
  private connection: Connection | undefined;

  constructor(
    readonly command: number,
    readonly maxBodyLength: number,
    private readonly onFinished: () => void,
  ) {
    this.ready = new Promise<Readable>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  header(_bodyLength: number, connection: Connection): void {
    this.connection = connection;
    this.stream = new Readable({
      read: () => connection.resumeForConsumer(),
      destroy: (error, callback) => {
        // A reader that gives up mid-body leaves the socket out of step: close it.
        if (!this.finished) connection.destroy(new FastdfsError('aborted', 'download stream was destroyed before its end', { command: this.command }));
        callback(error);
      },
    });
    this.resolve(this.stream);
  }

  body(source: Buffer, start: number, end: number): void {
    if (!this.stream) return;
    // The bytes live in the connection's reused read buffer: the reader gets a copy.
    const chunk = Buffer.allocUnsafe(end - start);
    source.copy(chunk, 0, start, end);
    // push() returns false once the reader's buffer is full; read() resumes the socket.
    if (!this.stream.push(chunk)) this.connection?.pauseForConsumer();
  }

  complete(): void {
    this.finished = true;
    this.stream?.push(null);
    this.onFinished();
  }

  fail(error: FastdfsError): void {
    this.finished = true;
    if (this.stream) this.stream.destroy(error);
    else this.reject(error);
    this.onFinished();
  }
}
