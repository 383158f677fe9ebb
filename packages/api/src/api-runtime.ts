import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { FastdfsClient } from '@avatar/fastdfs';
import { Repositories, avatarJobOptions, createAvatarQueue, createCleanupQueue, createDb, createRedis, type Config, type Logger } from '@avatar/shared';
import { FastdfsStagingStore } from './adapters/fastdfs-staging-store.js';
import { LocalStagingStore } from './adapters/local-staging-store.js';
import type { StagingStore } from './adapters/staging-store.js';
import { UploadEventListener } from './adapters/upload-event-listener.js';
import { buildApp } from './app.js';
import type { AppDeps } from './deps.js';
import { createUploadTokens } from './domain/upload-token.js';
import { AdminSessionStore } from './plugins/app/admin-session.js';

/** Longest wait for uploads in flight at shutdown: a body slower than this is cut off (and never answered 202). */
const DRAIN_TIMEOUT_MS = 15_000;

/** A registry with Node's process metrics; one per process (the collectors are per registry). */
export function processMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** What a process hands the API: its config and logger, and the clients it shares with other parts of the process. */
export interface ApiClients {
  config: Config;
  logger: Logger;
  fastdfs: FastdfsClient;
  /** Defaults to a fresh registry with the process metrics. */
  metrics?: Registry;
}

export interface ApiDeps {
  deps: AppDeps;
  /** Closes what `createApiDeps` opened (the event listener, queues, Redis, the pool); the FastDFS client stays the caller's. */
  close(): Promise<void>;
}

function stagingStoreFor(config: Config, fastdfs: FastdfsClient, repos: Repositories): StagingStore {
  if (config.stagingBackend === 'local') return new LocalStagingStore(config.stagingDir);
  return new FastdfsStagingStore({ tempDir: config.stagingDir, client: fastdfs, intents: repos.stagedOriginals, leftoverAgeMs: config.sweeper.graceMs });
}

/**
 * The API's composition root: every dependency of `buildApp`, built once from config and the
 * process's clients. Nothing below it constructs a repository, a queue or a connection.
 */
export async function createApiDeps(clients: ApiClients): Promise<ApiDeps> {
  const { config, logger, fastdfs } = clients;
  const db = createDb({ databaseUrl: config.databaseUrl, poolMax: config.databasePoolMax, acquireTimeoutMs: 3_000 });
  const repos = new Repositories(db, config.tables);
  const redis = createRedis(config.redis, 'producer');
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  const avatarQueue = createAvatarQueue(redis, config.redis.prefix, avatarJobOptions(config.worker.attempts, config.worker.backoffMs));
  const cleanupQueue = createCleanupQueue(redis, config.redis.prefix);
  const staging = stagingStoreFor(config, fastdfs, repos);
  const eventListener = new UploadEventListener(config.databaseListenUrl, logger);
  const close = async (): Promise<void> => {
    await eventListener.close();
    await Promise.all([avatarQueue.close(), cleanupQueue.close()]);
    redis.disconnect();
    await db.destroy();
  };
  try {
    await staging.init();
    await eventListener.start();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    deps: {
      config,
      logger,
      repos,
      redis,
      avatarQueue,
      cleanupQueue,
      staging,
      eventListener,
      uploadTokens: createUploadTokens(config.uploadTokens),
      adminSessions: new AdminSessionStore({ redis, prefix: config.redis.prefix, ttlSeconds: config.auth.adminSessionTtlSeconds }),
      checkFileStorage: (signal) => fastdfs.checkStorageAvailable({ signal }),
      metrics: clients.metrics ?? processMetricsRegistry(),
    },
    close,
  };
}

export interface ApiRuntime {
  app: FastifyInstance;
  url: string;
  /** Stops taking uploads (503), lets requests in flight finish, then closes every connection. */
  close(): Promise<void>;
}

/** Wires the real dependencies, builds the app and listens. Used by `start:api` and `pnpm start`. */
export async function startApiRuntime(config: Config, logger: Logger, fastdfs: FastdfsClient, options: { metrics?: Registry } = {}): Promise<ApiRuntime> {
  const { deps, close } = await createApiDeps({ config, logger, fastdfs, metrics: options.metrics });
  const giveUp = async (error: unknown): Promise<never> => {
    await close();
    throw error;
  };
  const app = await buildApp(deps).catch(giveUp);
  const url = await app.listen({ host: config.http.host, port: config.http.port }).catch(async (error: unknown) => {
    await app.close();
    return giveUp(error);
  });

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
      // long polls waiting on the listener answer now, so app.close() is not held up by them
      await deps.eventListener.close();
      await app.close();
      await close();
    },
  };
}
