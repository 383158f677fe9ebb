import { DEV_SERVER_ENV } from '@avatar/fastdfs/config';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const tableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain SQL identifier');
const emptyAsUndefined = (value: unknown): unknown => (value === '' ? undefined : value);
/** Passed through as text: `readDevServerEnv` parses it (see `loadConfig`). */
const devServerSetting = z.string().optional();

const sizesList = z
  .string()
  .transform((raw) => raw.split(',').map((part) => part.trim()).filter(Boolean).map(Number))
  .pipe(z.array(z.number().int().min(16).max(4096)).min(1).max(8))
  // largest first: the largest is the FastDFS master, the others its slaves
  .transform((sizes) => [...new Set(sizes)].sort((a, b) => b - a));

const trackerList = z
  .string()
  .transform((raw) => raw.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'each tracker must be host:port')).min(1));

/** Redis Cluster seed nodes, `host:port,host:port`; the client discovers the rest. */
const redisNodeList = z
  .string()
  .transform((raw) => raw.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'each node must be host:port')).min(1))
  .transform((nodes) => nodes.map((node) => {
    const at = node.lastIndexOf(':');
    return { host: node.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(node.slice(at + 1)) };
  }));

/** Exact browser origins (`scheme://host[:port]`); `*` is refused: the API is called with an Authorization header. */
const originList = z
  .string()
  .transform((raw) => raw.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(z.string()
    .refine((origin) => origin !== '*', '`*` is not allowed: the API is called with credentials (Authorization); list each origin exactly')
    .refine((origin) => origin === '*' || isOrigin(origin), 'each entry must be an origin such as https://app.example.com (scheme://host[:port], lower case, no path or trailing slash)')));

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * Every environment variable the processes read, with its default. Defaults run on one
 * machine with local Redis and PostgreSQL; production must set the secrets.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/avatars'),
  DATABASE_POOL_MAX: positiveInt.default(10),
  /** The direct connection LISTEN needs (PgBouncer's transaction pooling cannot carry it); DATABASE_URL when unset. */
  DATABASE_LISTEN_URL: z.preprocess(emptyAsUndefined, z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional()),
  // no default here: load-config needs to know whether it was set, to refuse it beside REDIS_CLUSTER_NODES
  REDIS_URL: z.preprocess(emptyAsUndefined, z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional()),
  REDIS_CLUSTER_NODES: z.preprocess(emptyAsUndefined, redisNodeList.optional()),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default('avatar'),
  FDFS_TRACKERS: z.preprocess(emptyAsUndefined, trackerList.optional()),
  FDFS_PUBLIC_URL: z.preprocess(emptyAsUndefined, z.url().optional()),
  FDFS_POOL_SIZE: positiveInt.default(8),
  FDFS_GROUP: z.preprocess(emptyAsUndefined, z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'must be a FastDFS group name: 1 to 16 of A-Z a-z 0-9 _ -').optional()),
  // the embedded dev server's ports and folder: listed here so the schema names every variable,
  // but read, with their defaults, by @avatar/fastdfs (`readDevServerEnv`, shared with its CLI)
  [DEV_SERVER_ENV.trackerPort]: devServerSetting,
  [DEV_SERVER_ENV.storagePort]: devServerSetting,
  [DEV_SERVER_ENV.httpPort]: devServerSetting,
  [DEV_SERVER_ENV.dataDir]: devServerSetting,
  STAGING_DIR: z.string().min(1).default('.data/staging'),
  STAGING_BACKEND: z.enum(['local', 'fastdfs']).default('local'),
  MAX_UPLOAD_BYTES: positiveInt.max(1024 * 1024 * 1024).default(10 * 1024 * 1024),
  MAX_INPUT_PIXELS: positiveInt.default(50_000_000),
  MAX_IMAGE_SIDE: positiveInt.default(20_000),
  MAX_IMAGE_FRAMES: positiveInt.default(1_000),
  MAX_JPEG_SCANS: positiveInt.default(100),
  UPLOAD_BODY_TIMEOUT_MS: positiveInt.default(30_000),
  HEADERS_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
  AVATAR_SIZES: sizesList.default([512, 256, 128, 64]),
  AVATAR_FORMAT: z.enum(['webp', 'jpeg', 'avif']).default('webp'),
  WORKER_METRICS_PORT: z.preprocess(emptyAsUndefined, port.optional()),
  WORKER_CONCURRENCY: positiveInt.max(64).default(4),
  JOB_ATTEMPTS: positiveInt.max(50).default(8),
  JOB_BACKOFF_MS: positiveInt.default(1_000),
  SHUTDOWN_GRACE_MS: positiveInt.default(25_000),
  RENDER_TIMEOUT_SECONDS: positiveInt.max(3_600).default(20),
  SWEEP_INTERVAL_MS: positiveInt.default(30_000),
  SWEEP_GRACE_MS: positiveInt.default(10 * 60_000),
  OUTBOX_GRACE_MS: positiveInt.default(15_000),
  JWT_SECRET: z.preprocess(emptyAsUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  JWT_PUBLIC_KEY: z.preprocess(emptyAsUndefined, z.string().includes('BEGIN PUBLIC KEY', { message: 'must be a PEM public key' }).optional()),
  JWT_ISSUER: z.preprocess(emptyAsUndefined, z.string().optional()),
  ADMIN_PASSWORD: z.preprocess(emptyAsUndefined, z.string().min(8, 'must be at least 8 characters').optional()),
  ADMIN_SESSION_TTL_SECONDS: positiveInt.max(7 * 24 * 3600).default(8 * 3600),
  FAILED_ORIGINAL_RETENTION_MS: nonNegativeInt.default(24 * 3600_000),
  RATE_LIMIT_UPLOADS_PER_USER: nonNegativeInt.default(20),
  RATE_LIMIT_UPLOADS_PER_IP: nonNegativeInt.default(60),
  RATE_LIMIT_AUTH_FAILURES_PER_IP: nonNegativeInt.default(30),
  RATE_LIMIT_ADMIN_AUTH_FAILURES_PER_IP: nonNegativeInt.default(10),
  HELD_CONNECTIONS_PER_USER: nonNegativeInt.default(20),
  HELD_CONNECTIONS_PER_UPLOAD_TOKEN: nonNegativeInt.default(5),
  CORS_ORIGINS: z.preprocess(emptyAsUndefined, originList.default([])),
  UPLOAD_TOKEN_SECRET: z.preprocess(emptyAsUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
  UPLOAD_TOKEN_TTL_SECONDS: positiveInt.max(86_400).default(600),
  TRUST_PROXY: z.preprocess(emptyAsUndefined, z.enum(['true', 'false']).default('false')).transform((v) => v === 'true'),
  USERS_TABLE: tableName.default('users'),
  USER_DETAIL_TABLE: tableName.default('user_detail'),
});

export type RawEnv = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;
