import type { Queue } from 'bullmq';
import type { Config, DeleteFilesJob, Logger, ProcessAvatarJob, RedisClient, Repositories } from '@avatar/shared';
import type { Registry } from 'prom-client';
import type { StagingStore } from './adapters/staging-store.js';
import type { UploadEventListener } from './adapters/upload-event-listener.js';
import type { UploadTokens } from './domain/upload-token.js';
import type { AdminSessionStore } from './plugins/app/admin-session.js';

/**
 * Everything the HTTP app needs from outside, built once by `createApiDeps` (api-runtime.ts)
 * and handed down: routes and plugins take the parts they use and construct nothing.
 */
export interface AppDeps {
  config: Config;
  logger: Logger;
  /** Every repository and the upload journal, on the process's one knex pool. */
  repos: Repositories;
  /** Producer-role connection: fails fast while Redis is down. */
  redis: RedisClient;
  avatarQueue: Queue<ProcessAvatarJob>;
  cleanupQueue: Queue<DeleteFilesJob>;
  staging: StagingStore;
  /** Wakes long polls and event streams when an upload's event is committed. */
  eventListener: UploadEventListener;
  uploadTokens: UploadTokens;
  adminSessions: AdminSessionStore;
  /** Proves a FastDFS tracker answers (for /health/ready). */
  checkFileStorage: (signal: AbortSignal) => Promise<void>;
  metrics: Registry;
}
