import { Command, Status } from '../protocol/commands.js';

export type FastdfsErrorKind = 'status' | 'connect' | 'timeout' | 'protocol' | 'aborted' | 'closed' | 'invalid_argument';

/** Which server gave the answer: the same status means different things from each. */
export type FastdfsErrorSource = 'tracker' | 'storage' | 'client';

export interface FastdfsErrorOptions {
  /** The command that failed; 0 when the failure came before any command was chosen. */
  command?: number;
  status?: number;
  cause?: unknown;
}

/** Tracker queries: "where do I store / read / update". Their ENOENT means "no storage server available". */
const TRACKER_QUERIES: ReadonlySet<number> = new Set<number>([
  Command.TRACKER_QUERY_STORE_WITHOUT_GROUP_ONE,
  Command.TRACKER_QUERY_FETCH_ONE,
  Command.TRACKER_QUERY_UPDATE,
  Command.TRACKER_QUERY_STORE_WITH_GROUP_ONE,
  Command.TRACKER_QUERY_FETCH_ALL,
  Command.TRACKER_QUERY_STORE_WITHOUT_GROUP_ALL,
  Command.TRACKER_QUERY_STORE_WITH_GROUP_ALL,
]);

/**
 * Statuses worth retrying whichever server sent them: the same request may succeed later or
 * elsewhere. The full decision per command, with the reasons, is in the package README.
 */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set<number>([
  Status.EIO,
  Status.EAGAIN,
  Status.ENOMEM,
  Status.EBUSY,
  Status.ENFILE,
  Status.EMFILE,
  Status.ENOSPC,
  Status.ECONNRESET,
  Status.ETIMEDOUT,
  Status.ECONNREFUSED,
  Status.EALREADY,
]);

const STATUS_NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM',
  2: 'ENOENT',
  5: 'EIO',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  16: 'EBUSY',
  17: 'EEXIST (file exists)',
  21: 'EISDIR',
  22: 'EINVAL (invalid request)',
  23: 'ENFILE',
  24: 'EMFILE',
  28: 'ENOSPC (no space)',
  36: 'ENAMETOOLONG',
  95: 'EOPNOTSUPP',
  104: 'ECONNRESET',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  114: 'EALREADY',
};

/** What a status means coming from this command's server, for messages a person reads. */
function describeStatus(command: number, status: number): string {
  if (status === Status.ENOENT) return TRACKER_QUERIES.has(command) ? 'ENOENT (no storage server available)' : 'ENOENT (no such file)';
  return STATUS_NAMES[status] ?? `errno ${status}`;
}

/** The one error type of this package: what failed (`kind`), on which command, with which server status. */
export class FastdfsError extends Error {
  readonly command: number;
  readonly status: number | undefined;
  readonly kind: FastdfsErrorKind;

  constructor(kind: FastdfsErrorKind, message: string, options: FastdfsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FastdfsError';
    this.kind = kind;
    this.command = options.command ?? 0;
    this.status = options.status;
  }

  /** Builds the error for a non-zero status in a response header. */
  static fromStatus(command: number, status: number): FastdfsError {
    return new FastdfsError('status', `FastDFS command ${command} failed: ${describeStatus(command, status)}`, { command, status });
  }

  /** The server whose answer this is: tracker queries go to a tracker, file commands to a storage server. */
  get source(): FastdfsErrorSource {
    if (this.command === 0 || this.kind === 'invalid_argument' || this.kind === 'aborted') return 'client';
    return TRACKER_QUERIES.has(this.command) || this.command === Command.ACTIVE_TEST ? 'tracker' : 'storage';
  }

  /**
   * Whether retrying the same operation later may succeed. Network trouble and busy or full
   * servers are transient, and so is a tracker's ENOENT: the tracker has no ACTIVE storage
   * server for the group right now (one stopped cleanly, or has not joined yet). A storage
   * server's ENOENT (the file is missing), a rejected request or an abort are not.
   */
  get transient(): boolean {
    switch (this.kind) {
      case 'connect':
      case 'timeout':
      case 'protocol':
      case 'closed':
        return true;
      case 'status':
        if (this.status === undefined) return false;
        return TRANSIENT_STATUSES.has(this.status) || this.noStorageAvailable;
      default:
        return false;
    }
  }

  /** True when a tracker said no storage server can take this request now (ENOENT to a query). */
  get noStorageAvailable(): boolean {
    return this.kind === 'status' && this.status === Status.ENOENT && TRACKER_QUERIES.has(this.command);
  }

  /** True when a storage server said the file does not exist; a tracker's ENOENT never means this. */
  get notFound(): boolean {
    return this.kind === 'status' && this.status === Status.ENOENT && !TRACKER_QUERIES.has(this.command);
  }
}

export function invalidArgument(message: string, command = 0): FastdfsError {
  return new FastdfsError('invalid_argument', message, { command });
}
