import type { Queue } from 'bullmq';
import type { Config, Db, DeleteFilesJob, Logger, ProcessAvatarJob, RedisClient } from '@avatar/shared';
import type { Registry } from 'prom-client';
import type { StagingStore } from './adapters/staging-store.js';
import type { UploadEventListener } from './adapters/upload-event-listener.js';

/** Everything the HTTP app needs from outside; the entry file builds these, tests build their own. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Db;
  /** Producer-role connection: fails fast while Redis is down. */
  redis: RedisClient;
  avatarQueue: Queue<ProcessAvatarJob>;
  cleanupQueue: Queue<DeleteFilesJob>;
  staging: StagingStore;
  events: UploadEventListener;
  /** Proves a FastDFS tracker answers (for /health/ready). */
  checkFileStorage: (signal: AbortSignal) => Promise<void>;
  metrics: Registry;
}
