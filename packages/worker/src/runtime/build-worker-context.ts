import type { Queue } from 'bullmq';
import type { Registry } from 'prom-client';
import type { FastdfsClient } from '@avatar/fastdfs';
import {
  Repositories,
  avatarJobOptions,
  createAvatarQueue,
  createCleanupQueue,
  createDb,
  createRedis,
  type Config,
  type DeleteFilesJob,
  type Logger,
  type ProcessAvatarJob,
  type RedisClient,
} from '@avatar/shared';
import { AvatarFileStore } from '../adapters/avatar-file-store.js';
import { FastdfsStagedOriginals } from '../adapters/fastdfs-staged-originals.js';
import { FileDeletionQueue } from '../adapters/file-deletion-queue.js';
import { StagedOriginals, type StagedOriginalStore } from '../adapters/staged-originals.js';
import { jobStageMetrics, untimedStages } from '../ops/job-stage-metrics.js';
import { SharpAvatarRenderer } from '../pipeline/avatar-renderer.js';
import { AvatarWorkflow, type WorkflowAdapters } from '../workflow/avatar-workflow.js';

/** The adapters a worker runs with; tests replace some (a slow render, a failing store) and keep the rest. */
export interface WorkerAdapters extends WorkflowAdapters {
  /** The whole staging store: the staging sweeper lists and releases originals too. */
  staged: StagedOriginalStore;
}

/** Everything one worker process works with, built once. */
export interface WorkerContext {
  config: Config;
  logger: Logger;
  fastdfs: FastdfsClient;
  repos: Repositories;
  /** Fails fast while Redis is away (enqueueing, readiness); BullMQ workers get blocking connections of their own. */
  producer: RedisClient;
  queues: { avatar: Queue<ProcessAvatarJob>; cleanup: Queue<DeleteFilesJob> };
  adapters: WorkerAdapters;
  workflow: AvatarWorkflow;
  /** Closes what it opened (queues, the Redis producer, the database pool); the FastDFS client is the caller's. */
  close(): Promise<void>;
}

export interface WorkerContextOptions {
  /** Adapters to use instead of the configured ones, for tests that inject a fault into an otherwise production-built worker. */
  adapters?: Partial<WorkerAdapters>;
  /** Where the job stage histogram (`avatar_job_stage_seconds`) goes; stages are not timed without one. */
  metrics?: Registry;
}

/**
 * Builds the worker's parts once, from the config: the database pool and its repositories,
 * the Redis producer and queues, the adapters (FastDFS store, staging, renderer, deletion
 * queue) and the workflow over them.
 */
export function buildWorkerContext(config: Config, logger: Logger, fastdfs: FastdfsClient, options: WorkerContextOptions = {}): WorkerContext {
  const overrides = options.adapters ?? {};
  const stages = options.metrics ? jobStageMetrics(options.metrics) : untimedStages;
  const db = createDb({ databaseUrl: config.databaseUrl, poolMax: config.worker.concurrency + 4, acquireTimeoutMs: 10_000 });
  const repos = new Repositories(db, config.tables);
  const producer = createRedis(config.redis, 'producer');
  const queues = {
    avatar: createAvatarQueue(producer, config.redis.prefix, avatarJobOptions(config.worker.attempts, config.worker.backoffMs)),
    cleanup: createCleanupQueue(producer, config.redis.prefix),
  };
  const adapters: WorkerAdapters = {
    files: overrides.files ?? new AvatarFileStore(fastdfs, config.fastdfs.group),
    staged: overrides.staged ?? (config.stagingBackend === 'fastdfs' ? new FastdfsStagedOriginals(fastdfs, repos.stagedOriginals) : new StagedOriginals(config.stagingDir)),
    renderer:
      overrides.renderer ??
      new SharpAvatarRenderer({
        sizes: config.avatar.sizes,
        format: config.avatar.format,
        maxInputPixels: config.limits.maxInputPixels,
        timeoutSeconds: config.worker.renderTimeoutSeconds,
        onPhaseTimed: (phase, seconds) => stages.observe(phase, seconds),
      }),
    deletions: overrides.deletions ?? new FileDeletionQueue(queues.cleanup),
  };
  const workflow = new AvatarWorkflow({
    repos,
    adapters,
    settings: { sizes: config.avatar.sizes, publicUrl: config.fastdfs.publicUrl, backoffMs: config.worker.backoffMs },
    logger,
    stages,
  });
  return {
    config,
    logger,
    fastdfs,
    repos,
    producer,
    queues,
    adapters,
    workflow,
    async close() {
      await Promise.all([queues.avatar.close(), queues.cleanup.close()]);
      producer.disconnect();
      await db.destroy();
    },
  };
}
