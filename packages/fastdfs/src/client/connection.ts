import { connect as netConnect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { FastdfsError } from '../errors/fastdfs-error.js';
import { Command, Status } from '../protocol/commands.js';
import { encodeHeader } from '../protocol/header.js';
import { HEADER_SIZE } from '../protocol/sizes.js';
import { type Endpoint, endpointKey } from './endpoint.js';

/** Receives one response. Exactly one of `complete` or `fail` is called, once. */
export interface ResponseHandler {
  /** The request's command, named in errors. */
  readonly command: number;
  /** A larger declared body is a protocol error: the connection is closed, never read from. */
  readonly maxBodyLength: number;
  /** The header arrived with status 0. */
  header(bodyLength: number, connection: Connection): void;
  /**
   * Body bytes `source[start..end)`. They are only valid during the call (the read buffer
   * is reused): copy what you keep.
   */
  body(source: Buffer, start: number, end: number): void;
  /** Called right after the last `body` call, in the same tick: its bytes are still valid. */
  complete(): void;
  fail(error: FastdfsError): void;
}

const READ_BUFFER_SIZE = 64 * 1024;
/** An error body is never useful; anything longer than this is a broken stream. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * One socket to one tracker or storage server, carrying one request/response at a time.
 * It parses the response as bytes arrive and hands them to the current handler; anything
 * out of place (unsolicited bytes, wrong command, oversized body, a socket error or
 * timeout) destroys the socket and fails the handler, so a caller never hangs and a
 * broken socket is never reused.
 */
export class Connection {
  readonly key: string;
  /** How many requests this connection carried; 0 means it was freshly opened. */
  uses = 0;
  /** Epoch ms; starts as a time, not 0, so the field keeps one number representation (no map change, no deopt). */
  lastUsedAt = Date.now();

  private handler: ResponseHandler | undefined;
  private readonly headerBuffer = Buffer.allocUnsafe(HEADER_SIZE);
  private headerFilled = 0;
  /** Body bytes still expected; -1 while the header is being read. */
  private remaining = -1;
  private status = 0;
  private requestSent = true;
  private poisoned = false;
  private dead = false;
  private pausedForConsumer = false;
  private responseStarted = false;

  private constructor(
    private readonly socket: Socket,
    private readonly networkTimeoutMs: number,
    private readonly onDead: (connection: Connection) => void,
  ) {
    this.key = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setTimeout(networkTimeoutMs);
    socket.on('error', (error: Error) => this.destroy(new FastdfsError('closed', `connection to ${this.key} failed: ${error.message}`, { command: this.handler?.command ?? 0, cause: error })));
    socket.on('close', () => this.destroy(new FastdfsError('closed', `connection to ${this.key} closed by the server`, { command: this.handler?.command ?? 0 })));
    socket.on('timeout', () => {
      // The timeout only matters while waiting for the server, not while idle in the pool
      // or while a download's consumer is slow.
      if (this.handler !== undefined && !this.pausedForConsumer) {
        this.destroy(new FastdfsError('timeout', `no answer from ${this.key} within ${this.networkTimeoutMs} ms`, { command: this.handler.command }));
      }
    });
  }

  /** Opens a connection, bounded by `connectTimeoutMs` and `signal`. */
  static open(
    endpoint: Endpoint,
    settings: { connectTimeoutMs: number; networkTimeoutMs: number },
    onDead: (connection: Connection) => void,
    signal?: AbortSignal,
  ): Promise<Connection> {
    const key = endpointKey(endpoint);
    return new Promise<Connection>((resolve, reject) => {
      // Reads land in one buffer per connection instead of a fresh 64 KiB allocation per
      // read: less garbage and less CPU per response. Handlers copy what they keep.
      let connection: Connection | undefined;
      const readBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
      const onRead = (bytes: number): boolean => {
        if (connection === undefined) socket.destroy(); // bytes before any request: not FastDFS
        else connection.onData(readBuffer, bytes);
        return true;
      };
      const socket = netConnect({ host: endpoint.host, port: endpoint.port, noDelay: true, onread: { buffer: readBuffer, callback: onRead } });
      /** Connected (no error), or failed to. */
      const settle = (error?: FastdfsError): void => {
        clearTimeout(timer);
        socket.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
        if (error) {
          socket.destroy();
          reject(error);
        } else {
          connection = new Connection(socket, settings.networkTimeoutMs, onDead);
          resolve(connection);
        }
      };
      const onError = (error: Error): void => settle(new FastdfsError('connect', `cannot connect to ${key}: ${error.message}`, { cause: error }));
      const onAbort = (): void => settle(new FastdfsError('aborted', `connecting to ${key} was aborted`));
      const timer = setTimeout(() => settle(new FastdfsError('connect', `connecting to ${key} timed out after ${settings.connectTimeoutMs} ms`)), settings.connectTimeoutMs);
      socket.once('error', onError);
      socket.once('connect', () => settle());
      if (signal) {
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Whether the connection is in step with the server and may carry another request. */
  get reusable(): boolean {
    return !this.dead && !this.poisoned && this.handler === undefined && this.requestSent;
  }

  /** True once any byte of the current response arrived (a retry could then duplicate effects). */
  get responseHasStarted(): boolean {
    return this.responseStarted;
  }

  /**
   * Sends a whole request (the packet, and its content when that is a buffer) and routes
   * the response to `handler`.
   */
  start(handler: ResponseHandler, packet: Buffer, content?: Buffer): void {
    if (!this.begin(handler)) return;
    this.requestSent = true;
    if (content !== undefined && content.length > 0) {
      this.socket.cork();
      this.socket.write(packet);
      this.socket.write(content);
      this.socket.uncork();
    } else {
      this.socket.write(packet);
    }
  }

  /**
   * Sends the packet of a request whose content follows with {@link pump}, and routes the
   * response to `handler`. Until the content is all sent, the connection is not reusable.
   */
  startStreamed(handler: ResponseHandler, packet: Buffer): void {
    if (!this.begin(handler)) return;
    this.requestSent = false;
    this.socket.write(packet);
  }

  /**
   * Streams `size` bytes of `source` as the rest of the request body, with backpressure.
   * Stops early if the server answered already (it rejected the request). A source that
   * is longer or shorter than declared destroys the connection: the frame is unusable.
   */
  async pump(source: Readable | NodeJS.ReadableStream, size: number, command: number): Promise<void> {
    let sent = 0;
    try {
      for await (const piece of source as AsyncIterable<Buffer | string>) {
        if (this.handler === undefined || this.dead) return;
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
        sent += chunk.length;
        if (sent > size) throw new FastdfsError('invalid_argument', `content stream is longer than the declared size ${size}`, { command });
        if (!this.socket.write(chunk)) await this.drained();
      }
    } catch (error) {
      if (error instanceof FastdfsError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new FastdfsError('aborted', `content stream failed: ${message}`, { command, cause: error });
    }
    if (this.handler === undefined || this.dead) return;
    if (sent !== size) throw new FastdfsError('invalid_argument', `content stream ended after ${sent} of ${size} declared bytes`, { command });
    this.requestSent = true;
  }

  /** Stops reading from the socket until {@link resumeForConsumer}: a download's reader is behind. */
  pauseForConsumer(): void {
    if (this.pausedForConsumer || this.dead) return;
    this.pausedForConsumer = true;
    this.socket.pause();
  }

  resumeForConsumer(): void {
    if (!this.pausedForConsumer || this.dead) return;
    this.pausedForConsumer = false;
    // Re-arm the inactivity timer: it may have fired, ignored, while we were paused.
    this.socket.setTimeout(this.networkTimeoutMs);
    this.socket.resume();
  }

  /** Closes the socket; a request in progress fails with `error` (or "closed"). */
  destroy(error?: FastdfsError): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    const handler = this.handler;
    this.handler = undefined;
    this.onDead(this);
    if (handler) handler.fail(error ?? new FastdfsError('closed', `connection to ${this.key} was closed`, { command: handler.command }));
  }

  /** Sends "quit" so the server can close its end cleanly, then closes. */
  quit(): void {
    if (this.dead) return;
    if (this.handler === undefined) {
      this.socket.end(encodeHeader({ bodyLength: 0, command: Command.QUIT }));
    }
    this.destroy();
  }

  /** Makes `handler` the current one; false (and `handler` failed) when the connection is closed. */
  private begin(handler: ResponseHandler): boolean {
    if (this.dead) {
      handler.fail(new FastdfsError('closed', `connection to ${this.key} is closed`, { command: handler.command }));
      return false;
    }
    this.uses++;
    this.handler = handler;
    this.headerFilled = 0;
    this.remaining = -1;
    this.responseStarted = false;
    return true;
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private protocolError(message: string): void {
    this.destroy(new FastdfsError('protocol', `${message} from ${this.key}`, { command: this.handler?.command ?? 0 }));
  }

  /** Called with each read: `length` bytes at the start of the reused read buffer. */
  private onData(chunk: Buffer, length: number): void {
    const handler = this.handler;
    if (handler === undefined) {
      this.protocolError('unexpected bytes');
      return;
    }
    this.responseStarted = true;
    let offset = 0;
    if (this.remaining < 0) {
      const need = HEADER_SIZE - this.headerFilled;
      if (length < need) {
        chunk.copy(this.headerBuffer, this.headerFilled, 0, length);
        this.headerFilled += length;
        return;
      }
      const header = this.headerFilled === 0 ? chunk : this.headerBuffer;
      if (this.headerFilled > 0) chunk.copy(this.headerBuffer, this.headerFilled, 0, need);
      offset = need;
      const high = header.readUInt32BE(0);
      const bodyLength = high > 0x1f_ffff ? -1 : high * 0x1_0000_0000 + header.readUInt32BE(4);
      const command = header[8];
      this.status = header[9] ?? 0;
      if (command !== Command.RESPONSE) {
        this.protocolError(`response command ${String(command)} instead of ${Command.RESPONSE}`);
        return;
      }
      const limit = this.status === Status.OK ? handler.maxBodyLength : MAX_ERROR_BODY;
      if (bodyLength < 0 || bodyLength > limit) {
        this.protocolError(`response body of ${bodyLength} bytes (at most ${limit} expected) to command ${handler.command}`);
        return;
      }
      this.remaining = bodyLength;
      if (this.status === Status.OK) {
        handler.header(bodyLength, this);
        if (this.handler !== handler) return; // the header handler gave up on the response
      }
    }
    const available = length - offset;
    if (available > this.remaining) {
      this.protocolError(`${available - this.remaining} bytes beyond the response`);
      return;
    }
    if (available > 0) {
      this.remaining -= available;
      if (this.status === Status.OK) handler.body(chunk, offset, length);
    }
    if (this.remaining === 0 && this.handler === handler) this.finish(handler);
  }

  private finish(handler: ResponseHandler): void {
    this.handler = undefined;
    // The last body chunk may have filled the reader's buffer; the next response must flow.
    if (this.pausedForConsumer) {
      this.pausedForConsumer = false;
      this.socket.resume();
    }
    if (this.status === Status.OK) {
      handler.complete();
      return;
    }
    // The storage server closes the connection after EINVAL; do not wait to find out.
    if (this.status === Status.EINVAL) this.poisoned = true;
    handler.fail(FastdfsError.fromStatus(handler.command, this.status));
  }
}
