import { readFixedString, writeFixedString } from '../codec/fixed-string.js';
import { writeInt64 } from '../codec/int64.js';
import { Command, Status } from '../protocol/commands.js';
import { GROUP_NAME_SIZE, INT64_SIZE, type IpFieldSize } from '../protocol/sizes.js';
import { type AfterFrame, type FrameContext, FrameServer, writeResponse } from './frame-server.js';
import type { RosterEntry, StorageRoster } from './storage-roster.js';

export interface TrackerServerSettings {
  /** Address clients should use to reach every storage server (they differ by port). */
  storageIp: string;
  ipFieldSize: IpFieldSize;
  /** The storage servers, their groups and states: only ACTIVE ones are handed out. */
  roster: StorageRoster;
}

/** Tracker request bodies are tiny; a larger declared body is a broken peer. */
const MAX_BODY = 64 * 1024;
/** Bounds of a "group + file name" body, as the real tracker checks them. */
const MIN_FILE_BODY = 38;
const MAX_FILE_BODY = 144;

/**
 * The tracker half of the dev server: one or more groups of storage servers (see
 * `StorageRoster` for how it chooses). It answers every query the client and FastDFS's C
 * tools send (store one/all, with or without group; fetch one/all; update; active test;
 * quit) and, like the real tracker, keeps the connection after an error status. A query
 * with no ACTIVE storage to answer with gets ENOENT (`tracker_deal_service_query_storage`,
 * `tracker_mem_get_storage_by_filename`).
 */
export class TrackerServer {
  readonly frames: FrameServer;

  constructor(private readonly settings: TrackerServerSettings) {
    if (settings.storageIp.length > settings.ipFieldSize) {
      throw new Error(`storage address ${settings.storageIp} does not fit a ${settings.ipFieldSize}-byte IP field`);
    }
    this.frames = new FrameServer((context) => this.handle(context));
  }

  private async handle({ header, reader, socket }: FrameContext): Promise<AfterFrame> {
    if (header.command === Command.QUIT) return 'close';
    if (header.bodyLength > MAX_BODY) return 'close';
    const body = await reader.read(header.bodyLength);
    if (body === undefined) return 'close';
    const { status, answer } = await this.answer(header.command, body);
    writeResponse(socket, status, answer);
    return 'keep';
  }

  private async answer(command: number, body: Buffer): Promise<{ status: number; answer?: Buffer }> {
    switch (command) {
      case Command.ACTIVE_TEST:
        return body.length === 0 ? { status: Status.OK } : { status: Status.EINVAL };
      case Command.TRACKER_QUERY_STORE_WITHOUT_GROUP_ONE:
      case Command.TRACKER_QUERY_STORE_WITHOUT_GROUP_ALL:
        if (body.length !== 0) return { status: Status.EINVAL };
        return this.storeAnswer(command);
      case Command.TRACKER_QUERY_STORE_WITH_GROUP_ONE:
      case Command.TRACKER_QUERY_STORE_WITH_GROUP_ALL:
        if (body.length !== GROUP_NAME_SIZE) return { status: Status.EINVAL };
        return this.storeAnswer(command, readFixedString(body, 0, GROUP_NAME_SIZE));
      case Command.TRACKER_QUERY_FETCH_ONE:
      case Command.TRACKER_QUERY_UPDATE:
      case Command.TRACKER_QUERY_FETCH_ALL: {
        if (body.length < MIN_FILE_BODY || body.length >= MAX_FILE_BODY) return { status: Status.EINVAL };
        const group = readFixedString(body, 0, GROUP_NAME_SIZE);
        const holder = await this.settings.roster.locate(group, body.toString('latin1', GROUP_NAME_SIZE));
        // no replication here, so "fetch all" names the one storage that holds the file
        return holder === undefined ? { status: Status.ENOENT } : { status: Status.OK, answer: this.addressAnswer(group, [holder], { withPathIndex: false }) };
      }
      default:
        return { status: Status.EINVAL };
    }
  }

  /** "Store one" names the next storage of the group; "store all" every ACTIVE one. */
  private storeAnswer(command: number, requested?: string): { status: number; answer?: Buffer } {
    const roster = this.settings.roster;
    const group = roster.groupForStore(requested);
    if (group === undefined) return { status: Status.ENOENT };
    const all = command === Command.TRACKER_QUERY_STORE_WITHOUT_GROUP_ALL || command === Command.TRACKER_QUERY_STORE_WITH_GROUP_ALL;
    const chosen = all ? roster.activeIn(group) : [roster.pickForStore(group)].filter((entry) => entry !== undefined);
    return { status: Status.OK, answer: this.addressAnswer(group, chosen, { withPathIndex: true }) };
  }

  /**
   * group 16 + (ip + port 8) per storage, the answer to fetch/update queries; a store answer
   * adds the path index, which stays 0: one store path per storage.
   */
  private addressAnswer(group: string, storages: RosterEntry[], { withPathIndex }: { withPathIndex: boolean }): Buffer {
    const { ipFieldSize, storageIp } = this.settings;
    const entrySize = ipFieldSize + INT64_SIZE;
    const answer = Buffer.alloc(GROUP_NAME_SIZE + entrySize * storages.length + (withPathIndex ? 1 : 0));
    writeFixedString(answer, 0, GROUP_NAME_SIZE, group);
    storages.forEach((storage, index) => {
      const at = GROUP_NAME_SIZE + entrySize * index;
      writeFixedString(answer, at, ipFieldSize, storageIp);
      writeInt64(answer, at + ipFieldSize, storage.port());
    });
    return answer;
  }
}
