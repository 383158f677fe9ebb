import { connect, type Socket } from 'node:net';
import { decodeHeader, encodeHeader } from '../../src/protocol/header.js';

export interface RawReply {
  status: number | undefined;
  body: Buffer;
  /** True when the server closed the connection. */
  closed: boolean;
}

/** A raw client socket for sending hand-made (and broken) frames. */
export class RawSocket {
  private data = Buffer.alloc(0);
  private closed = false;
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(new RawSocket(socket)));
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a frame: header with the given (possibly lying) length, then the body. */
  frame(command: number, body: Buffer = Buffer.alloc(0), declaredLength = body.length): void {
    this.send(Buffer.concat([encodeHeader({ bodyLength: declaredLength, command }), body]));
  }

  /** Waits for one full response or for the server to close, whichever comes first. */
  async reply(timeoutMs = 3_000): Promise<RawReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.data.length >= 10) {
        const header = decodeHeader(this.data);
        if (this.data.length >= 10 + header.bodyLength) {
          const body = this.data.subarray(10, 10 + header.bodyLength);
          this.data = this.data.subarray(10 + header.bodyLength);
          // Give a closing server a moment so `closed` reflects what it does after answering.
          await this.settle(100);
          return { status: header.status, body, closed: this.closed };
        }
      }
      if (this.closed) return { status: undefined, body: Buffer.alloc(0), closed: true };
      if (Date.now() > deadline) throw new Error('no reply and no close from the server');
      await this.settle(deadline - Date.now());
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private settle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
