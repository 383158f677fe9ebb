import type { Socket } from 'node:net';

/**
 * Pull-style reading from a socket for the dev servers' request loops: "give me the next
 * n bytes". The socket is paused while more than `highWaterMark` bytes wait unread, so a
 * large upload flows at the pace the disk takes it.
 */
export class SocketReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly highWaterMark = 1024 * 1024,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered >= this.highWaterMark) socket.pause();
      this.notify();
    });
    const end = (): void => {
      this.ended = true;
      this.notify();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  /** Bytes received and not read yet. */
  get available(): number {
    return this.buffered;
  }

  /** Exactly `length` bytes, or undefined if the peer closed first. */
  async read(length: number): Promise<Buffer | undefined> {
    while (this.buffered < length) {
      if (this.ended) return undefined;
      await this.waitForData();
    }
    return this.take(length);
  }

  /** Between 1 and `max` bytes, or undefined if the peer closed first. */
  async readSome(max: number): Promise<Buffer | undefined> {
    while (this.buffered === 0) {
      if (this.ended) return undefined;
      await this.waitForData();
    }
    return this.take(Math.min(max, this.buffered, this.chunks[0]?.length ?? 0));
  }

  /** Reads and discards `length` bytes; false if the peer closed first. */
  async skip(length: number): Promise<boolean> {
    let left = length;
    while (left > 0) {
      const chunk = await this.readSome(left);
      if (chunk === undefined) return false;
      left -= chunk.length;
    }
    return true;
  }

  private take(length: number): Buffer {
    const first = this.chunks[0];
    let result: Buffer;
    if (first !== undefined && first.length >= length) {
      result = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      result = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const chunk = this.chunks[0];
        if (chunk === undefined) break;
        const used = Math.min(chunk.length, length - filled);
        chunk.copy(result, filled, 0, used);
        filled += used;
        if (used === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(used);
      }
    }
    this.buffered -= length;
    if (this.buffered < this.highWaterMark && this.socket.isPaused()) this.socket.resume();
    return result;
  }

  private waitForData(): Promise<void> {
    if (this.socket.isPaused() && !this.ended) this.socket.resume();
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
