import { Status } from '../protocol/commands.js';

export type FastdfsErrorKind = 'status' | 'connect' | 'timeout' | 'protocol' | 'aborted' | 'closed' | 'invalid_argument';

export interface FastdfsErrorOptions {
  /** The command that failed; 0 when the failure came before any command was chosen. */
  command?: number;
  status?: number;
  cause?: unknown;
}

/** Server statuses worth retrying: the same request may succeed later or elsewhere. */
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
  2: 'ENOENT (no such file)',
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
    const name = STATUS_NAMES[status] ?? `errno ${status}`;
    return new FastdfsError('status', `FastDFS command ${command} failed: ${name}`, { command, status });
  }

  /**
   * Whether retrying the same operation later may succeed. Network trouble and busy or
   * full servers are transient; a missing file, a rejected request or an abort are not.
   */
  get transient(): boolean {
    switch (this.kind) {
      case 'connect':
      case 'timeout':
      case 'protocol':
      case 'closed':
        return true;
      case 'status':
        return this.status !== undefined && TRANSIENT_STATUSES.has(this.status);
      default:
        return false;
    }
  }

  /** True when the server said the file (or group) does not exist. */
  get notFound(): boolean {
    return this.kind === 'status' && this.status === Status.ENOENT;
  }
}

export function invalidArgument(message: string, command = 0): FastdfsError {
  return new FastdfsError('invalid_argument', message, { command });
}
