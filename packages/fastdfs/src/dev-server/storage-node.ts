import type { StorageServer } from './storage-server.js';
import type { StorageStatus } from './storage-status.js';

/** What the storage server is doing, as an operator (or a fault test) sees it. */
export type StorageRunState = 'running' | 'stopped' | 'frozen';

/**
 * Starts, stops, kills and freezes the dev server's storage server alone, with the tracker
 * finding out the way the real one does. In one process the storage's "connection to the
 * tracker" is the shared `StorageStatus`: joining, beating and leaving are calls, not frames.
 */
export interface StorageControl {
  readonly state: StorageRunState;
  /** Clean stop: the tracker marks it OFFLINE at once; its port is closed. */
  stop(): Promise<void>;
  /**
   * SIGKILL: every connection dropped mid-frame, the port closed. The kernel closes the dead
   * process's connection to the tracker too, so the tracker also marks it OFFLINE at once
   * (measured against FastDFS 6.16.1).
   */
  kill(): Promise<void>;
  /**
   * A frozen process or a lost host: connections are accepted but never answered and
   * heartbeats stop, so the tracker keeps handing it out until its heartbeat check
   * (`checkActiveIntervalMs`) marks it OFFLINE. Clients meanwhile time out.
   */
  freeze(): void;
  /** Starts it again on the same port (or thaws it) and rejoins the tracker: ACTIVE. */
  start(): Promise<void>;
}

export interface StorageNodeSettings {
  server: StorageServer;
  status: StorageStatus;
  host: string;
  heartbeatIntervalMs: number;
}

/** The storage server's life cycle: listening, heartbeats, and what the tracker is told. */
export class StorageNode implements StorageControl {
  private current: StorageRunState = 'stopped';
  private heartbeat: NodeJS.Timeout | undefined;
  private boundPort = 0;

  constructor(private readonly settings: StorageNodeSettings) {}

  get state(): StorageRunState {
    return this.current;
  }

  /** The listening port (kept across restarts: the tracker hands this one out). */
  get port(): number {
    return this.boundPort;
  }

  /** First start, on `port` (0 = a free one). */
  async listen(port: number): Promise<number> {
    this.boundPort = await this.settings.server.frames.listen(this.settings.host, port);
    this.joined();
    return this.boundPort;
  }

  async start(): Promise<void> {
    if (this.current === 'running') return;
    if (this.current === 'frozen') this.settings.server.frames.thaw();
    else await this.settings.server.frames.listen(this.settings.host, this.boundPort);
    this.joined();
  }

  async stop(): Promise<void> {
    if (this.current === 'stopped') return;
    this.left();
    await this.settings.server.frames.close();
  }

  async kill(): Promise<void> {
    if (this.current === 'stopped') return;
    this.left();
    await this.settings.server.frames.kill();
  }

  /** Shuts it down for good (the dev server closing): a clean stop. */
  close(): Promise<void> {
    return this.stop();
  }

  freeze(): void {
    if (this.current !== 'running') return;
    this.stopBeating();
    this.settings.server.frames.freeze();
    this.current = 'frozen';
  }

  private joined(): void {
    this.settings.status.join();
    this.stopBeating();
    this.heartbeat = setInterval(() => this.settings.status.beat(), this.settings.heartbeatIntervalMs);
    this.heartbeat.unref();
    this.current = 'running';
  }

  private left(): void {
    this.stopBeating();
    this.settings.status.leave();
    this.current = 'stopped';
  }

  private stopBeating(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
