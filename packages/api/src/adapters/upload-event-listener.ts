import pg from 'pg';
import { UPLOAD_EVENTS_CHANNEL, type Logger } from '@avatar/shared';

type Wake = () => void;

/**
 * Wakes long-polling requests when PostgreSQL announces a committed event for their upload
 * (LISTEN on one dedicated connection, reconnecting by itself). Callers still re-read the
 * table after each wake or time slice, so a missed notification costs latency, not events.
 */
export class UploadEventListener {
  private client: pg.Client | undefined;
  private readonly waiters = new Map<string, Set<Wake>>();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.connect().catch((error: unknown) => {
      this.logger.warn({ err: error }, 'event listener could not connect yet; retrying');
      this.scheduleReconnect();
    });
  }

  /** Resolves when an event for `uploadId` is announced, after `timeoutMs`, or when `signal` aborts. */
  waitFor(uploadId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const set = this.waiters.get(uploadId) ?? new Set<Wake>();
      this.waiters.set(uploadId, set);
      const wake: Wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(uploadId);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      signal?.addEventListener('abort', wake, { once: true });
      set.add(wake);
    });
  }

  /** Releases every waiter (they answer with what they have) and closes the connection; once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 3_000, keepAlive: true });
    client.on('notification', (message) => {
      const uploadId = message.payload?.split(':')[0];
      const set = uploadId ? this.waiters.get(uploadId) : undefined;
      if (set) for (const wake of [...set]) wake();
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'event listener connection lost');
      this.scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${UPLOAD_EVENTS_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    // closed while connecting: this connection would keep the process alive
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  /** True while notifications can arrive; waiters then need the table far less often. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const old = this.client;
    this.client = undefined;
    void old?.end().catch(() => undefined);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch(() => this.scheduleReconnect());
    }, 1_000);
  }
}
