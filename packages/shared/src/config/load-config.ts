import { createHmac } from 'node:crypto';
import path from 'node:path';
import { ConfigError, type DevServerEnvSettings, readDevServerEnv } from '@avatar/fastdfs/config';
import { envSchema, type ParsedEnv } from './config-schema.js';

export { ConfigError };

/** Development-only secrets: production refuses to start without real ones. */
const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me';
const DEV_ADMIN_PASSWORD = 'dev-admin';

export interface Config {
  env: ParsedEnv['NODE_ENV'];
  logLevel: ParsedEnv['LOG_LEVEL'];
  http: {
    host: string;
    port: number;
    trustProxy: boolean;
    bodyTimeoutMs: number;
    /** how long a client may take to send its request headers (slowloris) */
    headersTimeoutMs: number;
  };
  databaseUrl: string;
  databasePoolMax: number;
  /** Where LISTEN connects: a direct connection, never through a transaction-pooling proxy. */
  databaseListenUrl: string;
  redis: {
    /** the single server; unused when `cluster` is set */
    url: string;
    /** REDIS_CLUSTER_NODES: seed nodes of a Redis Cluster, used instead of `url` */
    cluster: Array<{ host: string; port: number }> | undefined;
    /** REDIS_PREFIX, in braces on a cluster (`{avatar}`) so every key hashes to one slot */
    prefix: string;
  };
  fastdfs: {
    /** FDFS_TRACKERS, or the embedded dev server's tracker on loopback when unset */
    trackers: string[];
    /** true when FDFS_TRACKERS is unset: `pnpm start` runs the embedded dev server */
    embedded: boolean;
    publicUrl: string;
    poolSize: number;
    /** FDFS_GROUP: the group avatars are stored in; the tracker chooses when unset */
    group: string | undefined;
    /** FDFS_DEV_*: where `pnpm start` runs the embedded dev server */
    dev: DevServerEnvSettings;
  };
  stagingDir: string;
  /** Where accepted originals wait for a worker: `stagingDir` (one shared disk) or FastDFS (`stagingDir` is then only the API's own temp). */
  stagingBackend: ParsedEnv['STAGING_BACKEND'];
  limits: { maxUploadBytes: number; maxInputPixels: number; maxImageSide: number; maxImageFrames: number; maxJpegScans: number };
  avatar: { sizes: number[]; format: ParsedEnv['AVATAR_FORMAT'] };
  worker: {
    concurrency: number;
    attempts: number;
    backoffMs: number;
    shutdownGraceMs: number;
    metricsPort: number | undefined;
    /** one render (decode and encode) may take this long; sharp counts whole seconds */
    renderTimeoutSeconds: number;
  };
  sweeper: { intervalMs: number; graceMs: number; outboxGraceMs: number };
  auth: {
    jwtSecret: string | undefined;
    jwtPublicKey: string | undefined;
    jwtIssuer: string | undefined;
    adminPassword: string;
    /** how long an operator console login lasts */
    adminSessionTtlSeconds: number;
  };
  /** how long a failed upload keeps its staged original for an operator's retry (failures that were the system's fault only) */
  failedOriginalRetentionMs: number;
  /** exact origins allowed to call /v1 from a browser; empty = same origin only (no CORS headers) */
  cors: { origins: string[] };
  /** short-lived tokens scoped to one upload's status and events (EventSource cannot send Authorization) */
  uploadTokens: { secret: string; ttlSeconds: number };
  rateLimit: {
    uploadsPerUser: number;
    uploadsPerIp: number;
    /** refused bearer authentications a minute per address (0 = no limit) */
    authFailuresPerIp: number;
    /** refused admin logins a minute per address, after which the address is locked out for the rest of the minute */
    adminAuthFailuresPerIp: number;
    /** event streams and long polls one user may hold open at once in one API process (0 = no limit) */
    heldConnectionsPerUser: number;
    /** the same for one upload's token (0 = no limit) */
    heldConnectionsPerUploadToken: number;
  };
  tables: { users: string; userDetail: string };
}

/**
 * Validates the environment once and returns the typed config that is passed to every
 * component. Throws ConfigError naming each bad variable; callers exit on it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  const problems: string[] = [];
  const devServer = readDevServerSettings(env, problems);
  if (!result.success) {
    throw new ConfigError([...result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`), ...problems]);
  }
  const e = result.data;
  const production = e.NODE_ENV === 'production';
  if (production && !e.JWT_SECRET && !e.JWT_PUBLIC_KEY) problems.push('JWT_SECRET: required in production (or JWT_PUBLIC_KEY)');
  if (production && !e.ADMIN_PASSWORD) problems.push('ADMIN_PASSWORD: required in production');
  if (production && e.JWT_SECRET === DEV_JWT_SECRET) problems.push('JWT_SECRET: the development secret cannot be used in production');
  if (e.JWT_SECRET && e.JWT_PUBLIC_KEY) problems.push('JWT_SECRET: set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS/ES/EdDSA), not both');
  if (e.UPLOAD_TOKEN_SECRET && e.UPLOAD_TOKEN_SECRET === e.JWT_SECRET) problems.push('UPLOAD_TOKEN_SECRET: must differ from JWT_SECRET');
  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) problems.push('REDIS_CLUSTER_NODES: set either REDIS_URL (one server) or REDIS_CLUSTER_NODES (a cluster), not both');
  if (e.FDFS_TRACKERS && !e.FDFS_PUBLIC_URL) problems.push('FDFS_PUBLIC_URL: required when FDFS_TRACKERS is set');
  // Node caps the header wait at the whole-request timeout (body timeout + 15 s): a longer value would be silently cut
  if (e.HEADERS_TIMEOUT_MS > e.UPLOAD_BODY_TIMEOUT_MS + 15_000) problems.push(`HEADERS_TIMEOUT_MS: at most UPLOAD_BODY_TIMEOUT_MS + 15000 (${e.UPLOAD_BODY_TIMEOUT_MS + 15_000})`);

  const jwtSecret = e.JWT_SECRET ?? (e.JWT_PUBLIC_KEY ? undefined : DEV_JWT_SECRET);
  // With a public key there is no secret of ours to derive the upload-token key from; falling
  // back to the development secret, which ships in the repository, would let anyone sign them.
  const uploadTokenSecret = e.UPLOAD_TOKEN_SECRET ?? (jwtSecret === undefined ? undefined : deriveUploadTokenSecret(jwtSecret));
  if (uploadTokenSecret === undefined) problems.push('UPLOAD_TOKEN_SECRET: required with JWT_PUBLIC_KEY (upload tokens are signed here, with a key of their own)');
  if (problems.length > 0 || uploadTokenSecret === undefined || devServer === undefined) throw new ConfigError(problems);
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: { host: e.HOST, port: e.PORT, trustProxy: e.TRUST_PROXY, bodyTimeoutMs: e.UPLOAD_BODY_TIMEOUT_MS, headersTimeoutMs: e.HEADERS_TIMEOUT_MS },
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    databaseListenUrl: e.DATABASE_LISTEN_URL ?? e.DATABASE_URL,
    redis: {
      url: e.REDIS_URL ?? 'redis://127.0.0.1:6379',
      cluster: e.REDIS_CLUSTER_NODES,
      // BullMQ's scripts and MULTIs touch several keys of a queue at once; a cluster only runs
      // them when all hash to one slot, which the braces (a hash tag) make them do
      prefix: e.REDIS_CLUSTER_NODES ? `{${e.REDIS_PREFIX}}` : e.REDIS_PREFIX,
    },
    fastdfs: {
      trackers: e.FDFS_TRACKERS ?? [`127.0.0.1:${devServer.trackerPort}`],
      embedded: e.FDFS_TRACKERS === undefined,
      publicUrl: withTrailingSlash(e.FDFS_PUBLIC_URL ?? `http://127.0.0.1:${devServer.httpPort}/`),
      poolSize: e.FDFS_POOL_SIZE,
      group: e.FDFS_GROUP,
      dev: devServer,
    },
    stagingDir: path.resolve(e.STAGING_DIR),
    stagingBackend: e.STAGING_BACKEND,
    limits: { maxUploadBytes: e.MAX_UPLOAD_BYTES, maxInputPixels: e.MAX_INPUT_PIXELS, maxImageSide: e.MAX_IMAGE_SIDE, maxImageFrames: e.MAX_IMAGE_FRAMES, maxJpegScans: e.MAX_JPEG_SCANS },
    avatar: { sizes: e.AVATAR_SIZES, format: e.AVATAR_FORMAT },
    worker: { concurrency: e.WORKER_CONCURRENCY, attempts: e.JOB_ATTEMPTS, backoffMs: e.JOB_BACKOFF_MS, shutdownGraceMs: e.SHUTDOWN_GRACE_MS, metricsPort: e.WORKER_METRICS_PORT, renderTimeoutSeconds: e.RENDER_TIMEOUT_SECONDS },
    sweeper: { intervalMs: e.SWEEP_INTERVAL_MS, graceMs: e.SWEEP_GRACE_MS, outboxGraceMs: e.OUTBOX_GRACE_MS },
    auth: { jwtSecret, jwtPublicKey: e.JWT_PUBLIC_KEY, jwtIssuer: e.JWT_ISSUER, adminPassword: e.ADMIN_PASSWORD ?? DEV_ADMIN_PASSWORD, adminSessionTtlSeconds: e.ADMIN_SESSION_TTL_SECONDS },
    failedOriginalRetentionMs: e.FAILED_ORIGINAL_RETENTION_MS,
    cors: { origins: e.CORS_ORIGINS },
    uploadTokens: { secret: uploadTokenSecret, ttlSeconds: e.UPLOAD_TOKEN_TTL_SECONDS },
    rateLimit: {
      uploadsPerUser: e.RATE_LIMIT_UPLOADS_PER_USER,
      uploadsPerIp: e.RATE_LIMIT_UPLOADS_PER_IP,
      authFailuresPerIp: e.RATE_LIMIT_AUTH_FAILURES_PER_IP,
      adminAuthFailuresPerIp: e.RATE_LIMIT_ADMIN_AUTH_FAILURES_PER_IP,
      heldConnectionsPerUser: e.HELD_CONNECTIONS_PER_USER,
      heldConnectionsPerUploadToken: e.HELD_CONNECTIONS_PER_UPLOAD_TOKEN,
    },
    tables: { users: e.USERS_TABLE, userDetail: e.USER_DETAIL_TABLE },
  };
}

/** The embedded dev server's `FDFS_DEV_*` settings, or undefined with their problems added to `problems`. */
function readDevServerSettings(env: NodeJS.ProcessEnv, problems: string[]): DevServerEnvSettings | undefined {
  try {
    return readDevServerEnv(env, process.cwd());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}

/** A key of its own for upload tokens, so one can never verify as a bearer token (nor the reverse). */
function deriveUploadTokenSecret(jwtSecret: string): string {
  return createHmac('sha256', jwtSecret).update('avatar upload-token key').digest('base64url');
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
