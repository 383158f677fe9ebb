/** The two states of a storage server that change what the tracker answers. */
export type StorageState = 'ACTIVE' | 'OFFLINE';

export interface StorageStatusOptions {
  /**
   * How often the tracker checks heartbeats, and how old the last one may be: a storage
   * server silent for longer is marked OFFLINE at the next check. The real tracker's
   * `check_active_interval` (120 s in the real test config).
   */
  checkActiveIntervalMs: number;
  now?: () => number;
}

/**
 * The tracker's view of its one storage server, kept as the real tracker keeps it
 * (`tracker_mem.c`): the storage joins and is ACTIVE; its connection to the tracker closing
 * (a clean stop, or a kill, whose sockets the kernel closes) makes it OFFLINE at once; a
 * storage that stays connected but stops beating (a frozen process, a lost host) stays
 * ACTIVE until a heartbeat check finds its last beat too old.
 */
export class StorageStatus {
  private current: StorageState = 'OFFLINE';
  private lastBeatAt = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: StorageStatusOptions) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.check(), options.checkActiveIntervalMs);
    this.timer.unref();
  }

  get state(): StorageState {
    return this.current;
  }

  /** The storage server joined (or came back): ACTIVE from now. */
  join(): void {
    this.current = 'ACTIVE';
    this.lastBeatAt = this.now();
  }

  beat(): void {
    this.lastBeatAt = this.now();
  }

  /** The storage server's connection to the tracker closed. */
  leave(): void {
    this.current = 'OFFLINE';
  }

  /** One heartbeat check, as `tracker_mem_check_alive` runs it. */
  check(): void {
    if (this.current === 'ACTIVE' && this.now() - this.lastBeatAt > this.options.checkActiveIntervalMs) this.current = 'OFFLINE';
  }

  close(): void {
    clearInterval(this.timer);
  }
}
