import type { StorageAddress } from '../codec/responses.js';

interface Entry {
  address: StorageAddress;
  expiresAt: number;
}

/**
 * Remembers, for a short while, the trackers' answers to "where do I store" (per group) and
 * "where is this master" (per master file), so a burst of uploads, or a master followed by
 * its slaves, costs one tracker round trip instead of one per file. An answer is dropped on
 * expiry and as soon as a request to that storage fails, so failover is not delayed.
 */
export class StorageAssignmentCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 256,
  ) {}

  get(key: string): StorageAddress | undefined {
    if (this.ttlMs <= 0) return undefined;
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= performance.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.address;
  }

  set(key: string, address: StorageAddress): void {
    if (this.ttlMs <= 0) return;
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { address, expiresAt: performance.now() + this.ttlMs });
  }

  /** Forgets every answer naming this storage server. */
  forget(address: Pick<StorageAddress, 'host' | 'port'>): void {
    for (const [key, entry] of this.entries) {
      if (entry.address.host === address.host && entry.address.port === address.port) this.entries.delete(key);
    }
  }
}
