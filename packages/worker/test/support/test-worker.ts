import { FastdfsClient } from '@avatar/fastdfs';
import { createLogger, loadConfig, type DeleteFilesJob } from '@avatar/shared';
import type { TestDatabase, TestRedis } from '@avatar/shared/testing';
import type { Registry } from 'prom-client';
import type { RenderedVariant } from '../../src/pipeline/render-avatar.js';
import { buildWorkerContext, type WorkerAdapters, type WorkerContext } from '../../src/runtime/build-worker-context.js';

export interface TestWorkerOptions {
  database: TestDatabase;
  redis: TestRedis;
  stagingDir: string;
  /** Settings on top of the test defaults (sizes 256 and 128, 3 attempts, 1 ms backoff). */
  env?: Record<string, string>;
  /** Adapters in place of the configured ones (a render or a store double); the rest are the real ones. */
  adapters?: Partial<WorkerAdapters>;
  /** Where the job stage histogram goes. */
  metrics?: Registry;
}

/**
 * A worker's parts as production builds them (buildWorkerContext), on the test's database,
 * Redis prefix and staging folder. FastDFS points nowhere: tests that store pass a `files`
 * double. `close()` also closes the FastDFS client.
 */
export function testWorkerContext(options: TestWorkerOptions): WorkerContext {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: options.database.url,
    REDIS_URL: options.redis.url,
    REDIS_PREFIX: options.redis.prefix,
    FDFS_TRACKERS: '127.0.0.1:9',
    FDFS_PUBLIC_URL: 'http://files.invalid/',
    STAGING_DIR: options.stagingDir,
    AVATAR_SIZES: '256,128',
    JOB_ATTEMPTS: '3',
    JOB_BACKOFF_MS: '1',
    WORKER_CONCURRENCY: '2',
    ...options.env,
  });
  const fastdfs = new FastdfsClient({ trackers: config.fastdfs.trackers.join(',') });
  // TEST_WORKER_LOG_LEVEL=debug shows what the worker did, when a test fails
  const logger = createLogger({ level: process.env.TEST_WORKER_LOG_LEVEL === 'debug' ? 'debug' : 'silent', name: 'test-worker' });
  const context = buildWorkerContext(config, logger, fastdfs, { adapters: options.adapters, metrics: options.metrics });
  return {
    ...context,
    async close() {
      await context.close();
      await fastdfs.close();
    },
  };
}

/** The deletions scheduled on the context's cleanup queue (no worker takes them in these tests). */
export async function scheduledDeletions(context: WorkerContext): Promise<DeleteFilesJob[]> {
  const jobs = await context.queues.cleanup.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
  return jobs.map((job) => job.data);
}

/** What a render double returns for the test sizes (256, 128): bytes that name `label` and the size, not images. */
export function fakeVariants(label = 'img'): RenderedVariant[] {
  return [256, 128].map((size) => ({ size, ext: 'webp', data: Buffer.from(`${label}${size}`) }) as RenderedVariant);
}
