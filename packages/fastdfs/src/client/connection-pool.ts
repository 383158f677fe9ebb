import { FastdfsError } from '../errors/fastdfs-error.js';
import { Connection } from './connection.js';
import { type Endpoint, endpointKey } from './endpoint.js';

export interface PoolSettings {
  maxSize: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  networkTimeoutMs: number;
}

interface Waiter {
  resolve: (connection: Connection) => void;
  reject: (error: FastdfsError) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Connections to one endpoint: at most `maxSize` open, idle ones reused most-recent
 * first and closed after `idleTimeoutMs`, callers queued when all are busy. A connection
 * that broke, timed out, got EINVAL or was left mid-frame is dropped, never reused.
 */
export class ConnectionPool {
  readonly key: string;
  /** Connections this pool ever opened (for the bench and tests). */
  opened = 0;

  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiters: Waiter[] = [];
  /** Open connections plus connects in progress. */
  private size = 0;
  private closed = false;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    readonly endpoint: Endpoint,
    private readonly settings: PoolSettings,
  ) {
    this.key = endpointKey(endpoint);
    this.sweeper = setInterval(() => this.sweep(), Math.max(100, Math.min(settings.idleTimeoutMs / 2, 5_000)));
    this.sweeper.unref();
  }

  get openCount(): number {
    return this.size;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /** An idle connection if one is ready now (and the pool is open and `signal` not aborted); otherwise use {@link acquire}. */
  tryAcquire(signal?: AbortSignal): Connection | undefined {
    if (this.closed || signal?.aborted === true) return undefined;
    return this.idle.pop();
  }

  acquire(signal?: AbortSignal): Promise<Connection> {
    if (this.closed) return Promise.reject(this.closedError());
    if (signal?.aborted) return Promise.reject(new FastdfsError('aborted', `waiting for a connection to ${this.key} was aborted`));
    const connection = this.idle.pop();
    if (connection !== undefined) return Promise.resolve(connection);
    if (this.size < this.settings.maxSize) return this.openConnection(signal);
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(new FastdfsError('aborted', `waiting for a connection to ${this.key} was aborted`));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  /** Gives a connection back after a request; one that is not in a clean state is closed. */
  release(connection: Connection): void {
    if (!connection.alive) return; // already accounted for by onDead
    if (this.closed || !connection.reusable) {
      connection.destroy();
      return;
    }
    connection.lastUsedAt = Date.now();
    const waiter = this.waiters.shift();
    if (waiter) {
      this.settleWaiter(waiter);
      waiter.resolve(connection);
      return;
    }
    this.idle.push(connection);
  }

  /** Closes every connection; requests in progress and queued callers fail with "closed". */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const waiter of this.waiters.splice(0)) {
      this.settleWaiter(waiter);
      waiter.reject(this.closedError());
    }
    for (const connection of [...this.all]) {
      if (this.idle.includes(connection)) connection.quit();
      else connection.destroy(this.closedError());
    }
    this.idle.length = 0;
  }

  private closedError(): FastdfsError {
    return new FastdfsError('closed', `the client was closed (pool ${this.key})`);
  }

  private settleWaiter(waiter: Waiter): void {
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
  }

  private async openConnection(signal: AbortSignal | undefined): Promise<Connection> {
    this.size++;
    let connection: Connection;
    try {
      connection = await Connection.open(this.endpoint, this.settings, (dead) => this.onDead(dead), signal);
    } catch (error) {
      this.size--;
      this.serveWaiters();
      throw error;
    }
    this.opened++;
    this.all.add(connection);
    if (this.closed) {
      connection.destroy(); // onDead gives the slot back
      throw this.closedError();
    }
    return connection;
  }

  private onDead(connection: Connection): void {
    if (!this.all.delete(connection)) return;
    this.size--;
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    this.serveWaiters();
  }

  /** A slot freed up: open a connection for the first queued caller. */
  private serveWaiters(): void {
    if (this.closed || this.waiters.length === 0 || this.size >= this.settings.maxSize) return;
    const waiter = this.waiters.shift();
    if (!waiter) return;
    this.settleWaiter(waiter);
    this.openConnection(waiter.signal).then(waiter.resolve, waiter.reject);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.settings.idleTimeoutMs;
    // The idle list is most-recent last, so the stale ones are at the front.
    while (this.idle.length > 0 && (this.idle[0]?.lastUsedAt ?? 0) < cutoff) {
      this.idle.shift()?.quit();
    }
  }
}
