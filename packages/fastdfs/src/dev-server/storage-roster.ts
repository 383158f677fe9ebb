import type { DiskStore } from './disk-store.js';
import type { StorageStatus } from './storage-status.js';

/** One storage server as the tracker knows it: its group, port, state and store path. */
export interface RosterEntry {
  readonly group: string;
  /** The listening port (read when answering: it is known only once the storage listens). */
  port(): number;
  readonly status: StorageStatus;
  readonly store: DiskStore;
}

/**
 * The tracker's list of storage servers and its two decisions: where to store, and which
 * storage holds a file.
 *
 * Storing: a named group, or else the first group (in the order configured) with an ACTIVE
 * storage, like the real tracker's `store_lookup = 1`; within the group, its ACTIVE storages
 * in turn (`store_server = 0`, round robin).
 *
 * Finding a file: the real tracker decodes the source IP from the file name. Every dev
 * storage shares one IP and differs only by port, so the name cannot tell them apart; the
 * dev tracker instead asks each storage of the group whether the file is on its disk. There
 * is no replication here, so a file whose storage is not ACTIVE is not found (ENOENT), and a
 * name no storage holds goes to an ACTIVE storage of the group, which answers ENOENT itself.
 */
export class StorageRoster {
  private readonly nextIndex = new Map<string, number>();

  constructor(readonly entries: readonly RosterEntry[]) {}

  /** Groups in the order they were configured, each once. */
  get groups(): string[] {
    return [...new Set(this.entries.map((entry) => entry.group))];
  }

  /** The ACTIVE storages of one group, for "store all" answers. */
  activeIn(group: string): RosterEntry[] {
    return this.entries.filter((entry) => entry.group === group && entry.status.state === 'ACTIVE');
  }

  /** The group an upload goes to: `group` if it has an ACTIVE storage, else the first that has one. */
  groupForStore(group: string | undefined): string | undefined {
    const candidates = group === undefined ? this.groups : [group];
    return candidates.find((name) => this.activeIn(name).length > 0);
  }

  /** The next ACTIVE storage of `group` in round robin, or undefined when none is ACTIVE. */
  pickForStore(group: string): RosterEntry | undefined {
    const active = this.activeIn(group);
    if (active.length === 0) return undefined;
    const index = (this.nextIndex.get(group) ?? 0) % active.length;
    this.nextIndex.set(group, index + 1);
    return active[index];
  }

  /** The storage that holds `remoteName` in `group`, when it is ACTIVE; see the class comment. */
  async locate(group: string, remoteName: string): Promise<RosterEntry | undefined> {
    const members = this.entries.filter((entry) => entry.group === group);
    for (const entry of members) {
      const path = entry.store.pathOf(remoteName);
      if (path !== undefined && (await entry.store.exists(path))) return entry.status.state === 'ACTIVE' ? entry : undefined;
    }
    return members.find((entry) => entry.status.state === 'ACTIVE');
  }
}
