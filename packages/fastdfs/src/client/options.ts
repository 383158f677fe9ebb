import { invalidArgument } from '../errors/fastdfs-error.js';
import { type Endpoint, parseTrackers } from './endpoint.js';

export interface FastdfsClientOptions {
  /** `"host:port,host:port"` or a list of endpoints. */
  trackers: string | Array<{ host: string; port: number }>;
  /** Most connections kept per endpoint (each tracker, each storage). Default 8. */
  poolSize?: number;
  /** An unused pooled connection is closed after this long. Default 30 000 ms. */
  idleTimeoutMs?: number;
  /** Default 2 000 ms. */
  connectTimeoutMs?: number;
  /** Longest wait for the server while a request is in progress. Default 10 000 ms. */
  networkTimeoutMs?: number;
  /** A tracker that failed is skipped for this long, then tried again. Default 5 000 ms. */
  trackerCooldownMs?: number;
  /**
   * How long a tracker's answer to "where to store" (per group) or "where is this master"
   * is reused before asking again. Trackers balance per answer, so this coarsens balancing to
   * this window; any failure on that storage drops the answer at once. 0 asks every time.
   * Default 1 000 ms.
   */
  storageAssignmentTtlMs?: number;
}

export interface ResolvedClientOptions {
  trackers: Endpoint[];
  poolSize: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  networkTimeoutMs: number;
  trackerCooldownMs: number;
  storageAssignmentTtlMs: number;
}

/** What a numeric option must be: any positive number, or a positive integer. */
type NumberKind = 'number' | 'integer';

function positive(name: string, value: number | undefined, rule: { fallback: number; kind: NumberKind }): number {
  if (value === undefined) return rule.fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (rule.kind === 'integer' && !Number.isInteger(value))) {
    throw invalidArgument(`option ${name} must be a positive ${rule.kind}, got ${String(value)}`);
  }
  return value;
}

/** Validates options once, at construction, and fills in defaults. */
export function resolveClientOptions(options: FastdfsClientOptions): ResolvedClientOptions {
  return {
    trackers: parseTrackers(options.trackers),
    poolSize: positive('poolSize', options.poolSize, { fallback: 8, kind: 'integer' }),
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs, { fallback: 30_000, kind: 'number' }),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, { fallback: 2_000, kind: 'number' }),
    networkTimeoutMs: positive('networkTimeoutMs', options.networkTimeoutMs, { fallback: 10_000, kind: 'number' }),
    trackerCooldownMs: positive('trackerCooldownMs', options.trackerCooldownMs, { fallback: 5_000, kind: 'number' }),
    storageAssignmentTtlMs:
      options.storageAssignmentTtlMs === 0 ? 0 : positive('storageAssignmentTtlMs', options.storageAssignmentTtlMs, { fallback: 1_000, kind: 'number' }),
  };
}
