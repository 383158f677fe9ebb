import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { startRealFastdfs, type RealFastdfs } from '@avatar/fastdfs/testing';
import { AVATAR_QUEUE, CLEANUP_QUEUE, type Db, type Repositories } from '@avatar/shared';
import { createTestDatabase, createTestRedis, startRedisCluster, type TestDatabase, type TestRedisCluster } from '@avatar/shared/testing';
import { killHard, sparePort, startEntry, startProcess, waitFor, type ChildProcessHandle } from './processes.js';

export const JWT_SECRET = 'fault-tests-secret-0123456789';

export interface JobCounts {
  active: number;
  waiting: number;
  delayed: number;
  completed: number;
  failed: number;
}

export interface FaultSystemOptions {
  /** Users 1..n exist (default 10). */
  users?: number;
  /** Run a test-owned redis-server with AOF (appendfsync always) on a spare port, so the test may stop it. */
  ownRedis?: boolean;
  /** Run a test-owned 3-master Redis Cluster (`startRedisCluster`): processes get REDIS_CLUSTER_NODES, no REDIS_URL. */
  redisCluster?: boolean;
  /** Extra settings for every API and worker process. */
  env?: Record<string, string>;
  /**
   * `dev` (default): the project's FastDFS dev server, started by `startStorage()`. `real`: a
   * real FastDFS tracker + storage (`startRealFastdfs`), running once this resolves and closed by
   * `cleanup()`; it has no HTTP, so avatar URLs are not served and `dataDir` stays empty.
   */
  fastdfs?: 'dev' | 'real';
}

export interface FaultSystem {
  root: string;
  db: Db;
  /** The repositories on `db`, for reading what the processes recorded. */
  repos: Repositories;
  dbName: string;
  apiUrl: string;
  /** The FastDFS dev server's folder: files live under `<dataDir>/data/XX/YY/`. */
  dataDir: string;
  /** The real FastDFS (`fastdfs: 'real'`), to stop, kill and start its servers. */
  realFastdfs: RealFastdfs | undefined;
  stagingDir: string;
  /** One server's URL; with `redisCluster`, the first node's (processes get REDIS_CLUSTER_NODES). */
  redisUrl: string;
  redisCluster: TestRedisCluster | undefined;
  redisPrefix: string;
  /** The environment every API and worker process gets. */
  env: Record<string, string>;
  token(userId: number): string;
  /** Dev server only: starts (or restarts, same ports and folder) the FastDFS dev server. */
  startStorage(): Promise<ChildProcessHandle>;
  /** `extra` may set another PORT (and STAGING_DIR) to run several APIs side by side. */
  startApi(extra?: Record<string, string>): Promise<ChildProcessHandle>;
  startWorker(extra?: Record<string, string>): Promise<ChildProcessHandle>;
  /** Own redis only: starts (or restarts, same folder and port) the test's redis-server. */
  startRedis(): Promise<ChildProcessHandle>;
  /** BullMQ job counts for the avatar and cleanup queues under the test's prefix. */
  jobCounts(queue?: 'avatar' | 'cleanup'): Promise<JobCounts>;
  /** Kills every process it started (and closes the real FastDFS and the Redis Cluster), drops the database, deletes Redis keys and the temp folder. */
  cleanup(): Promise<void>;
}

/**
 * One test's system of real processes: its own database, Redis prefix (or redis-server),
 * staging folder, FastDFS (the dev server with fixed spare ports and data folder, or a real
 * FastDFS), and any number of API and worker processes started exactly as `pnpm start:api` /
 * `start:worker`.
 */
export async function createFaultSystem(options: FaultSystemOptions & { fastdfs: 'real' }): Promise<FaultSystem & { realFastdfs: RealFastdfs }>;
export async function createFaultSystem(options?: FaultSystemOptions): Promise<FaultSystem>;
export async function createFaultSystem(options: FaultSystemOptions = {}): Promise<FaultSystem> {
  const handles: ChildProcessHandle[] = [];
  const root = await mkdtemp(path.join(tmpdir(), 'avatar-fault-'));
  const stagingDir = path.join(root, 'staging');
  const dataDir = path.join(root, 'fastdfs');
  const logDir = path.join(root, 'logs');
  await Promise.all([mkdir(stagingDir), mkdir(dataDir), mkdir(logDir)]);
  let tdb: TestDatabase | undefined;
  let redisKeysCleanup: (() => Promise<void>) | undefined;
  let realFastdfs: RealFastdfs | undefined;
  let redisCluster: TestRedisCluster | undefined;
  try {
    tdb = await createTestDatabase();
    const users = Array.from({ length: options.users ?? 10 }, (_, i) => ({ id: i + 1, username: `fault${i + 1}` }));
    await tdb.repos.userDetail.ensureUsers(users);
    if (options.fastdfs === 'real') realFastdfs = await startRealFastdfs();
    if (options.redisCluster) redisCluster = await startRedisCluster();
  } catch (error) {
    await realFastdfs?.close();
    await tdb?.drop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw error;
  }

  const [apiPort, trackerPort, storagePort, httpPort] = [await sparePort(), await sparePort(), await sparePort(), await sparePort()];
  let redisUrl: string;
  let redisPrefix: string;
  let redisPort: number | undefined;
  const redisDir = path.join(root, 'redis');
  if (redisCluster) {
    redisUrl = `redis://${redisCluster.nodes.split(',')[0]}`;
    redisPrefix = 'fault';
  } else if (options.ownRedis) {
    redisPort = await sparePort();
    await mkdir(redisDir);
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    redisPrefix = 'fault';
  } else {
    const testRedis = createTestRedis();
    redisUrl = testRedis.url;
    redisPrefix = testRedis.prefix;
    redisKeysCleanup = () => testRedis.cleanup();
  }

  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    DATABASE_URL: tdb.url,
    ...(redisCluster ? { REDIS_CLUSTER_NODES: redisCluster.nodes } : { REDIS_URL: redisUrl }),
    REDIS_PREFIX: redisPrefix,
    FDFS_TRACKERS: realFastdfs?.trackers ?? `127.0.0.1:${trackerPort}`,
    // the real server has no HTTP: the URL only goes into the recorded avatar URLs
    FDFS_PUBLIC_URL: `http://127.0.0.1:${httpPort}/`,
    ...(realFastdfs
      ? {}
      : { FDFS_DEV_TRACKER_PORT: String(trackerPort), FDFS_DEV_STORAGE_PORT: String(storagePort), FDFS_DEV_HTTP_PORT: String(httpPort), FDFS_DEV_DATA_DIR: dataDir }),
    STAGING_DIR: stagingDir,
    JWT_SECRET,
    RATE_LIMIT_UPLOADS_PER_USER: '0',
    RATE_LIMIT_UPLOADS_PER_IP: '0',
    WORKER_CONCURRENCY: '4',
    JOB_BACKOFF_MS: '300',
    SWEEP_INTERVAL_MS: '1000',
    OUTBOX_GRACE_MS: '2000',
    SHUTDOWN_GRACE_MS: '10000',
    AVATAR_SIZES: '256,128,64',
    ...options.env,
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  let counter = 0;
  const logFile = (name: string): string => path.join(logDir, `${String(++counter).padStart(2, '0')}-${name}.log`);

  const system: FaultSystem = {
    root,
    db: tdb.db,
    repos: tdb.repos,
    dbName: tdb.name,
    apiUrl,
    dataDir,
    realFastdfs,
    stagingDir,
    redisUrl,
    redisCluster,
    redisPrefix,
    env,
    token: (userId) => signToken(userId),
    async startStorage() {
      if (realFastdfs) throw new Error('the real FastDFS is already running: stop and start its servers through realFastdfs');
      const handle = startEntry('fastdfs', 'packages/fastdfs/src/cli/dev-server.ts', env, logFile('fastdfs'));
      handles.push(handle);
      await waitFor('the FastDFS dev server', 30_000, async () => {
        if (!handle.isRunning()) throw new Error(`fastdfs dev server exited: ${await handle.log()}`);
        return (await handle.log()).includes('listening on');
      });
      return handle;
    },
    async startApi(extra = {}) {
      const processEnv = { ...env, ...extra };
      const handle = startEntry('api', 'packages/api/src/start/api.ts', processEnv, logFile('api'));
      handles.push(handle);
      await waitFor('the API', 30_000, async () => {
        if (!handle.isRunning()) throw new Error(`api exited: ${(await handle.log()).slice(-2000)}`);
        const response = await fetch(`http://127.0.0.1:${processEnv.PORT}/health/live`, { signal: AbortSignal.timeout(2_000) });
        return response.status === 200;
      });
      return handle;
    },
    async startWorker(extra = {}) {
      const handle = startEntry('worker', 'packages/worker/src/start/worker.ts', { ...env, ...extra }, logFile('worker'));
      handles.push(handle);
      await waitFor('the worker', 30_000, async () => {
        if (!handle.isRunning()) throw new Error(`worker exited: ${(await handle.log()).slice(-2000)}`);
        return (await handle.log()).includes('"worker started"');
      });
      return handle;
    },
    async startRedis() {
      if (redisPort === undefined) throw new Error('startRedis needs ownRedis');
      const handle = startProcess(
        'redis',
        'redis-server',
        ['--port', String(redisPort), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir, '--save', '', '--daemonize', 'no'],
        undefined,
        logFile('redis'),
      );
      handles.push(handle);
      await waitFor('redis-server', 15_000, async () => {
        if (!handle.isRunning()) throw new Error(`redis-server exited: ${await handle.log()}`);
        const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        // refused while it starts: connect() rejects, and the event must not go unhandled
        client.on('error', () => undefined);
        try {
          await client.connect();
          return (await client.ping()) === 'PONG';
        } finally {
          client.disconnect();
        }
      });
      return handle;
    },
    async jobCounts(queue = 'avatar') {
      const connection = redisCluster
        ? new Cluster(redisCluster.ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { maxRetriesPerRequest: null } })
        : new Redis(redisUrl, { maxRetriesPerRequest: null });
      // the product's cluster prefix is a hash tag (see load-config)
      const q = new Queue(queue === 'avatar' ? AVATAR_QUEUE : CLEANUP_QUEUE, { connection, prefix: redisCluster ? `{${redisPrefix}}` : redisPrefix });
      try {
        const c = await q.getJobCounts('active', 'waiting', 'delayed', 'completed', 'failed', 'prioritized');
        return { active: c.active ?? 0, waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
      } finally {
        await q.close();
        connection.disconnect();
      }
    },
    async cleanup() {
      await Promise.all(handles.map((h) => killHard(h)));
      await realFastdfs?.close();
      await redisCluster?.close();
      await tdb?.drop().catch((error: unknown) => console.error('could not drop the test database', error));
      await redisKeysCleanup?.().catch((error: unknown) => console.error('could not delete the test Redis keys', error));
      if (process.env.KEEP_FAULT_LOGS) console.error(`fault logs kept in ${logDir}`);
      else await rm(root, { recursive: true, force: true });
    },
  };
  return system;
}

/** An HS256 bearer token as `pnpm token` makes it (sub = user id, 1 h). */
export function signToken(userId: number): string {
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: String(userId), role: 'user', iat: now, exp: now + 3600 })}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

/** Every file the FastDFS dev server holds, as file ids (`group1/M00/XX/YY/name`); metadata and temporary files aside. */
export async function storedFileIds(dataDir: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const base = path.join(dataDir, 'data');
  for (const high of await readdir(base).catch(() => [])) {
    for (const low of await readdir(path.join(base, high)).catch(() => [])) {
      for (const name of await readdir(path.join(base, high, low)).catch(() => [])) {
        if (name.startsWith('.tmp-') || name.endsWith('-m')) continue;
        ids.add(`group1/M00/${high}/${low}/${name}`);
      }
    }
  }
  return ids;
}
