import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSigner } from 'fast-jwt';
import { FastdfsClient, startDevServer, type DevServer } from '@avatar/fastdfs';
import { createLogger, demoUsers, loadConfig, type Config, type Db, type Repositories } from '@avatar/shared';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import { startWorkerRuntime, type WorkerRuntime } from '@avatar/worker';
import { startApiRuntime, type ApiRuntime } from '../../src/api-runtime.js';

export const TEST_JWT_SECRET = 'test-secret-0123456789abcdef';

export interface TestSystem {
  config: Config;
  url: string;
  db: Db;
  /** The repositories on the test database, for arranging and checking rows as the product writes them. */
  repos: Repositories;
  devServer: DevServer;
  fastdfs: FastdfsClient;
  api: ApiRuntime;
  worker: WorkerRuntime | undefined;
  stagingDir: string;
  /** Where the dev server keeps stored files (count them to prove none was left). */
  fastdfsDataDir: string;
  token(userId: number, options?: { admin?: boolean; expiresInMs?: number }): string;
  startWorker(): Promise<WorkerRuntime>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The whole product in this process, on its own database, Redis prefix, staging folder and
 * FastDFS dev server (ports picked by the OS), so test files run side by side.
 */
export async function startTestSystem(options: { worker?: boolean; stagingBackend?: 'local' | 'fastdfs'; env?: Record<string, string> } = {}): Promise<TestSystem> {
  const tdb: TestDatabase = await createTestDatabase();
  const redis: TestRedis = createTestRedis();
  const root = await mkdtemp(path.join(tmpdir(), 'avatar-test-'));
  const stagingDir = path.join(root, 'staging');
  const fastdfsDataDir = path.join(root, 'fastdfs');
  const started: Array<() => Promise<unknown>> = [];
  // a system that fails to start (say, a config the test means to be refused) still leaves nothing behind
  const undo = async (): Promise<void> => {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    await tdb.drop();
    await redis.cleanup();
    await rm(root, { recursive: true, force: true });
  };
  let devServer: DevServer;
  let config: Config;
  let fastdfs: FastdfsClient;
  let api: ApiRuntime;
  let worker: WorkerRuntime | undefined;
  let logger: ReturnType<typeof createLogger>;
  try {
    devServer = await startDevServer({ trackerPort: 0, storagePort: 0, httpPort: 0, dataDir: fastdfsDataDir });
    const server = devServer;
    started.push(() => server.close());
    config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      PORT: '0',
      DATABASE_URL: tdb.url,
      // a test on a Redis Cluster passes REDIS_CLUSTER_NODES in `env`, which refuses REDIS_URL beside it
      ...(options.env?.REDIS_CLUSTER_NODES ? {} : { REDIS_URL: redis.url }),
      REDIS_PREFIX: redis.prefix,
      FDFS_TRACKERS: devServer.trackers,
      FDFS_PUBLIC_URL: devServer.publicUrl,
      STAGING_DIR: stagingDir,
      JWT_SECRET: TEST_JWT_SECRET,
      RATE_LIMIT_UPLOADS_PER_USER: '0',
      RATE_LIMIT_UPLOADS_PER_IP: '0',
      // the hostile-token and wrong-password tests refuse many requests from one address; the limits on
      // refusals have their own tests
      RATE_LIMIT_AUTH_FAILURES_PER_IP: '0',
      RATE_LIMIT_ADMIN_AUTH_FAILURES_PER_IP: '0',
      // the hostile-client tests hold hundreds of long polls for one user; event-streams.test.ts tests these limits
      HELD_CONNECTIONS_PER_USER: '0',
      HELD_CONNECTIONS_PER_UPLOAD_TOKEN: '0',
      JOB_BACKOFF_MS: '200',
      WORKER_CONCURRENCY: '2',
      SWEEP_INTERVAL_MS: '60000',
      STAGING_BACKEND: options.stagingBackend ?? 'local',
      ...options.env,
    });
    logger = createLogger({ level: config.logLevel, name: 'test' });
    await tdb.repos.userDetail.ensureUsers(demoUsers);
    const client = new FastdfsClient({ trackers: devServer.trackers, poolSize: 8 });
    fastdfs = client;
    started.push(() => client.close());
    const apiRuntime = await startApiRuntime(config, logger, fastdfs);
    api = apiRuntime;
    started.push(() => apiRuntime.close());
    worker = options.worker === false ? undefined : await startWorkerRuntime(config, logger, fastdfs);
  } catch (error) {
    await undo();
    throw error;
  }

  const system: TestSystem = {
    config,
    url: api.url,
    db: tdb.db,
    repos: tdb.repos,
    devServer,
    fastdfs,
    api,
    worker,
    stagingDir,
    fastdfsDataDir,
    token(userId, tokenOptions = {}) {
      const sign = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', expiresIn: tokenOptions.expiresInMs ?? 3_600_000 });
      return sign({ sub: String(userId), role: tokenOptions.admin ? 'admin' : 'user' });
    },
    async startWorker() {
      worker ??= await startWorkerRuntime(config, logger, fastdfs);
      system.worker = worker;
      return worker;
    },
    async stopWorker() {
      await worker?.close(5_000);
      worker = undefined;
      system.worker = undefined;
    },
    async close() {
      await api.close();
      await worker?.close(5_000);
      await fastdfs.close();
      await devServer.close();
      await tdb.drop();
      await redis.cleanup();
      await rm(root, { recursive: true, force: true });
    },
  };
  return system;
}
