import { createServer, type Server, type Socket } from 'node:net';
import { Command, Status } from '../protocol/commands.js';
import { type PacketHeader, decodeHeader, writeHeader } from '../protocol/header.js';
import { HEADER_SIZE } from '../protocol/sizes.js';
import { SocketReader } from './socket-reader.js';
import { listen } from './listen.js';

export interface FrameContext {
  readonly header: PacketHeader;
  readonly reader: SocketReader;
  readonly socket: Socket;
}

/** After a request: keep serving the connection, or close it. */
export type AfterFrame = 'keep' | 'close';
export type FrameHandler = (context: FrameContext) => Promise<AfterFrame>;

/** Sends one response: header (command 100) and body in one write. */
export function writeResponse(socket: Socket, status: number, body?: Buffer): void {
  if (socket.destroyed) return;
  const length = body?.length ?? 0;
  const packet = Buffer.allocUnsafe(HEADER_SIZE + length);
  writeHeader(packet, 0, { bodyLength: length, command: Command.RESPONSE, status });
  body?.copy(packet, HEADER_SIZE);
  socket.write(packet);
}

/** Turns a thrown error into the errno a real server would answer with. */
export function statusOf(error: unknown): number {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return Status.ENOENT;
    case 'EEXIST':
      return Status.EEXIST;
    case 'ENOSPC':
      return Status.ENOSPC;
    case 'EACCES':
    case 'EPERM':
      return Status.EACCES;
    case 'EISDIR':
      return Status.EISDIR;
    default:
      return Status.EIO;
  }
}

/**
 * A TCP server speaking FastDFS framing: reads a header, lets the handler consume the
 * body and answer, and loops while the handler says "keep". A malformed header, a peer
 * that disappears mid-frame or a handler failure only ever closes that one connection.
 */
export class FrameServer {
  /** Connections accepted since start (the bench counts them). */
  accepted = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Set while frozen: requests are read but wait here unanswered. */
  private frozen: { gate: Promise<void>; open: () => void } | undefined;

  constructor(private readonly handle: FrameHandler) {
    this.server = createServer({ noDelay: true }, (socket) => this.serve(socket));
  }

  listen(host: string, port: number): Promise<number> {
    return listen(this.server, host, port);
  }

  /**
   * Stops listening and closes every connection: politely first (FIN, which clients such
   * as fdfs-client survive), then forcibly after a short grace period.
   */
  async close(graceMs = 200): Promise<void> {
    this.thaw();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.end();
    const force = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(force);
  }

  /** Stops listening and drops every connection at once, mid-frame or not, as a killed process would. */
  async kill(): Promise<void> {
    this.thaw();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /**
   * Keeps accepting connections and reading requests but answers none, as a stopped
   * (SIGSTOP) or unreachable process looks to its clients, until `thaw`.
   */
  freeze(): void {
    if (this.frozen) return;
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    this.frozen = { gate, open };
  }

  thaw(): void {
    this.frozen?.open();
    this.frozen = undefined;
  }

  private serve(socket: Socket): void {
    this.accepted++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    void this.loop(socket);
  }

  private async loop(socket: Socket): Promise<void> {
    const reader = new SocketReader(socket);
    let after: AfterFrame = 'keep';
    while (after === 'keep' && !socket.destroyed) {
      const raw = await reader.read(HEADER_SIZE);
      if (raw === undefined) break;
      const header = decodeHeader(raw);
      if (header.bodyLength < 0) break;
      if (this.frozen) await this.frozen.gate;
      try {
        after = await this.handle({ header, reader, socket });
      } catch (error) {
        // The body may be half read, so the stream is out of step: answer, then close.
        writeResponse(socket, statusOf(error));
        after = 'close';
      }
    }
    socket.end();
  }
}
