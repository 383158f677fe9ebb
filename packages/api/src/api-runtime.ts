import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { FastdfsClient } from '@avatar/fastdfs';
import { avatarJobOptions, createAvatarQueue, createCleanupQueue, createDb, createRedis, type Config, type Logger } from '@avatar/shared';
import { FastdfsStagingStore } from './adapters/fastdfs-staging-store.js';
import { LocalStagingStore } from './adapters/local-staging-store.js';
import { UploadEventListener } from './adapters/upload-event-listener.js';
import { buildApp } from './app.js';

/** Longest wait for uploads in flight at shutdown: a body slower than this is cut off (and never answered 202). */
const DRAIN_TIMEOUT_MS = 15_000;

/** A registry with Node's process metrics; one per process (the collectors are per registry). */
export function processMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface ApiRuntime {
  app: FastifyInstance;
  url: string;
  /** Stops taking uploads (503), lets requests in flight finish, then closes every connection. */
  close(): Promise<void>;
}

/** Wires the real dependencies, builds the app and listens. Used by `start:api` and `pnpm start`. */
export async function startApiRuntime(config: Config, logger: Logger, fastdfs: FastdfsClient, options: { metrics?: Registry } = {}): Promise<ApiRuntime> {
  const db = createDb({ databaseUrl: config.databaseUrl, poolMax: config.databasePoolMax, acquireTimeoutMs: 3_000 });
  const redis = createRedis(config.redis, 'producer');
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  const avatarQueue = createAvatarQueue(redis, config.redis.prefix, avatarJobOptions(config.worker.attempts, config.worker.backoffMs));
  const cleanupQueue = createCleanupQueue(redis, config.redis.prefix);
  const staging = config.stagingBackend === 'fastdfs'
    ? new FastdfsStagingStore(config.stagingDir, fastdfs, db, config.sweeper.graceMs)
    : new LocalStagingStore(config.stagingDir);
  await staging.init();
  const events = new UploadEventListener(config.databaseListenUrl, logger);
  await events.start();
  const metrics = options.metrics ?? processMetricsRegistry();

  const app = await buildApp({
    config,
    logger,
    db,
    redis,
    avatarQueue,
    cleanupQueue,
    staging,
    events,
    metrics,
    checkFileStorage: (signal) => fastdfs.checkStorageAvailable({ signal }),
  });
  const url = await app.listen({ host: config.http.host, port: config.http.port });

  return {
    app,
    url,
    async close() {
      app.startDraining();
      // No new connections, idle keep-alive ones closed, while the app still answers: a request
      // arriving on a busy connection gets a problem+json 503 `shutting_down` from the drain hook
      // instead of Fastify's bare closing 503. app.close() below tolerates the server being closed.
      app.server.close();
      // uploads in flight finish (and answer 202) before anything they need is closed
      await app.drained(DRAIN_TIMEOUT_MS);
      await events.close();
      await app.close();
      await Promise.all([avatarQueue.close(), cleanupQueue.close()]);
      redis.disconnect();
      await db.destroy();
    },
  };
}
