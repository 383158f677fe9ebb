import { readFixedString, writeFixedString } from '../codec/fixed-string.js';
import { writeInt64 } from '../codec/int64.js';
import { Command, Status } from '../protocol/commands.js';
import { GROUP_NAME_SIZE, INT64_SIZE, type IpFieldSize } from '../protocol/sizes.js';
import { type AfterFrame, type FrameContext, FrameServer, writeResponse } from './frame-server.js';
import type { StorageStatus } from './storage-status.js';

export interface TrackerServerSettings {
  group: string;
  /** Address clients should use to reach the storage server. */
  storageIp: string;
  storagePort: () => number;
  ipFieldSize: IpFieldSize;
  /** Whether the storage server is ACTIVE: only then is it handed out. */
  storageStatus: StorageStatus;
}

/** Tracker request bodies are tiny; a larger declared body is a broken peer. */
const MAX_BODY = 64 * 1024;
/** Bounds of a "group + file name" body, as the real tracker checks them. */
const MIN_FILE_BODY = 38;
const MAX_FILE_BODY = 144;

/**
 * The tracker half of the dev server: one group with one storage server. It answers
 * every query the client and FastDFS's C tools send (store one/all, with or without
 * group; fetch one/all; update; active test; quit) and, like the real tracker, keeps the
 * connection after an error status. Every query answers ENOENT while the storage server is
 * not ACTIVE (`tracker_deal_service_query_storage`, `tracker_mem_get_storage_by_filename`).
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
    const { status, answer } = this.answer(header.command, body);
    writeResponse(socket, status, answer);
    return 'keep';
  }

  private answer(command: number, body: Buffer): { status: number; answer?: Buffer } {
    switch (command) {
      case Command.ACTIVE_TEST:
        return body.length === 0 ? { status: Status.OK } : { status: Status.EINVAL };
      case Command.TRACKER_QUERY_STORE_WITHOUT_GROUP_ONE:
      case Command.TRACKER_QUERY_STORE_WITHOUT_GROUP_ALL:
        if (body.length !== 0) return { status: Status.EINVAL };
        return this.available() ? { status: Status.OK, answer: this.addressAnswer(true) } : { status: Status.ENOENT };
      case Command.TRACKER_QUERY_STORE_WITH_GROUP_ONE:
      case Command.TRACKER_QUERY_STORE_WITH_GROUP_ALL:
        if (body.length !== GROUP_NAME_SIZE) return { status: Status.EINVAL };
        return this.available(body) ? { status: Status.OK, answer: this.addressAnswer(true) } : { status: Status.ENOENT };
      case Command.TRACKER_QUERY_FETCH_ONE:
      case Command.TRACKER_QUERY_UPDATE:
      case Command.TRACKER_QUERY_FETCH_ALL:
        if (body.length < MIN_FILE_BODY || body.length >= MAX_FILE_BODY) return { status: Status.EINVAL };
        return this.available(body) ? { status: Status.OK, answer: this.addressAnswer() } : { status: Status.ENOENT };
      default:
        return { status: Status.EINVAL };
    }
  }

  /**
   * group 16 + ip + port 8, the answer to fetch/update queries; a store answer adds the path
   * index. With one storage server, "store all" (n = 1) has the same layout as "store one".
   */
  private addressAnswer(withPathIndex = false): Buffer {
    const { ipFieldSize } = this.settings;
    const answer = Buffer.alloc(GROUP_NAME_SIZE + ipFieldSize + INT64_SIZE + (withPathIndex ? 1 : 0));
    writeFixedString(answer, 0, GROUP_NAME_SIZE, this.settings.group);
    writeFixedString(answer, GROUP_NAME_SIZE, ipFieldSize, this.settings.storageIp);
    writeInt64(answer, GROUP_NAME_SIZE + ipFieldSize, this.settings.storagePort());
    return answer; // the path index, when present, stays 0: one store path
  }

  /** Our group (when the body names one) with its storage server ACTIVE. */
  private available(groupBody?: Buffer): boolean {
    if (groupBody !== undefined && readFixedString(groupBody, 0, GROUP_NAME_SIZE) !== this.settings.group) return false;
    return this.settings.storageStatus.state === 'ACTIVE';
  }
}
