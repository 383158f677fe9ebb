import { Worker, UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { FastdfsClient } from '@avatar/fastdfs';
import {
  AVATAR_QUEUE,
  CLEANUP_QUEUE,
  avatarJobOptions,
  createAvatarQueue,
  createCleanupQueue,
  createDb,
  createRedis,
  jobNames,
  type Config,
  type DeleteFilesJob,
  type Logger,
} from '@avatar/shared';
import type { Registry } from 'prom-client';
import { AvatarFileStore } from './adapters/avatar-file-store.js';
import { FastdfsStagedOriginals } from './adapters/fastdfs-staged-originals.js';
import { StagedOriginals } from './adapters/staged-originals.js';
import { createDeleteFilesHandler } from './jobs/delete-files-job.js';
import { createProcessAvatarHandler } from './jobs/process-avatar-job.js';
import { observeWorkers } from './ops/worker-metrics.js';
import { renderAvatar } from './pipeline/render-avatar.js';
import { sweepOutbox } from './sweepers/outbox-sweeper.js';
import { runPeriodically } from './sweepers/run-periodically.js';
import { sweepStaging } from './sweepers/staging-sweeper.js';
import { sweepStoredFiles } from './sweepers/stored-files-sweeper.js';

/** What the ops server's /health/ready reports: ready when every check holds. */
export interface WorkerReadiness {
  ready: boolean;
  checks: { workers: boolean; redis: boolean; fastdfs: boolean };
}

/** How long a readiness check may take before it counts as failed. */
const READY_CHECK_TIMEOUT_MS = 2_000;

export interface WorkerRuntime {
  /**
   * Its workers are running, Redis answers, and a FastDFS tracker has an ACTIVE storage server
   * to store in: without one every job it takes only waits in backoff.
   */
  ready(): Promise<WorkerReadiness>;
  /** Stops taking jobs, lets active ones finish within `graceMs`, then hands the rest back (they stall and are retried). */
  close(graceMs?: number): Promise<void>;
}

type Handlers = Record<string, Processor>;

/** Like Immich: refuse to start when a job name has no handler, rather than fail jobs later. */
export function assertEveryJobHasHandler(expected: readonly string[], handlers: Handlers): void {
  const missing = expected.filter((name) => !handlers[name]);
  const unknown = Object.keys(handlers).filter((name) => !expected.includes(name));
  if (missing.length > 0 || unknown.length > 0) {
    throw new Error(`job handlers do not match job names (missing: ${missing.join(', ') || 'none'}; unknown: ${unknown.join(', ') || 'none'})`);
  }
}

function dispatch(handlers: Handlers): Processor {
  return async (job: Job, token?: string) => {
    const handler = handlers[job.name];
    if (!handler) throw new UnrecoverableError(`no handler for job ${job.name}`);
    return handler(job, token);
  };
}

export interface WorkerRuntimeOptions {
  /** Where job metrics go (the ops server's registry when `WORKER_METRICS_PORT` is set; tests pass their own). */
  metrics?: Registry;
}

export async function startWorkerRuntime(config: Config, logger: Logger, fastdfs: FastdfsClient, options: WorkerRuntimeOptions = {}): Promise<WorkerRuntime> {
  const db = createDb({ databaseUrl: config.databaseUrl, poolMax: config.worker.concurrency + 4, acquireTimeoutMs: 10_000 });
  const producer = createRedis(config.redis, 'producer');
  const avatarQueue = createAvatarQueue(producer, config.redis.prefix, avatarJobOptions(config.worker.attempts, config.worker.backoffMs));
  const cleanupQueue = createCleanupQueue(producer, config.redis.prefix);
  const files = new AvatarFileStore(fastdfs, config.fastdfs.group);
  const staged = config.stagingBackend === 'fastdfs' ? new FastdfsStagedOriginals(fastdfs, db) : new StagedOriginals(config.stagingDir);
  const scheduleDeletion = async (job: DeleteFilesJob): Promise<void> => {
    if (!job.uploadId) {
      await cleanupQueue.add(jobNames.deleteFiles, job);
      return;
    }
    // one deletion job per upload; BullMQ ignores an add whose id exists, so a deletion that
    // failed for good (kept for inspection) is retried rather than silently skipped
    const jobId = `delete-${job.uploadId}`;
    const existing = await cleanupQueue.getJob(jobId);
    if (existing && (await existing.isFailed())) await existing.retry();
    else await cleanupQueue.add(jobNames.deleteFiles, job, { jobId });
  };
  const processDeps = {
    db,
    tables: config.tables,
    files,
    staged,
    sizes: config.avatar.sizes,
    render: (input: Buffer) =>
      renderAvatar(input, {
        sizes: config.avatar.sizes,
        format: config.avatar.format,
        maxInputPixels: config.limits.maxInputPixels,
        timeoutSeconds: config.worker.renderTimeoutSeconds,
      }),
    scheduleDeletion,
    publicUrl: config.fastdfs.publicUrl,
    logger,
    backoffMs: config.worker.backoffMs,
  };
  const handlers: Handlers = {
    [jobNames.processAvatar]: createProcessAvatarHandler(processDeps) as Processor,
    [jobNames.deleteFiles]: createDeleteFilesHandler({ db, files }) as Processor,
  };
  assertEveryJobHasHandler(Object.values(jobNames), handlers);

  const workerOptions = {
    prefix: config.redis.prefix,
    // a dead worker's jobs are picked up again within ~30 s: lock expiry + one stalled check
    lockDuration: 20_000,
    stalledInterval: 10_000,
    maxStalledCount: 5,
  };
  // BullMQ treats connections passed in as shared and never closes them: close() does
  const workerConnections = [createRedis(config.redis, 'worker'), createRedis(config.redis, 'worker')] as const;
  const workers = [
    new Worker(AVATAR_QUEUE, dispatch(handlers), { ...workerOptions, connection: workerConnections[0], concurrency: config.worker.concurrency }),
    new Worker(CLEANUP_QUEUE, dispatch(handlers), { ...workerOptions, connection: workerConnections[1], concurrency: 4 }),
  ];
  // reqId: the POST that accepted the upload (process-avatar jobs carry it), to follow one upload
  const reqId = (job: { data?: unknown } | undefined): unknown => (job?.data as { requestId?: unknown } | undefined)?.requestId;
  for (const worker of workers) {
    worker.on('failed', (job, error) => logger.warn({ jobId: job?.id, reqId: reqId(job), queue: worker.name, attempt: job?.attemptsMade, err: error }, 'job failed'));
    worker.on('error', (error) => logger.error({ err: error, queue: worker.name }, 'worker error'));
  }

  // where the outbox sweep goes on next time: a backlog is paged through, not re-read
  let outboxCursor: string | undefined;
  const sweepers = [
    runPeriodically('outbox', config.sweeper.intervalMs, async () => {
      const swept = await sweepOutbox({ ...processDeps, queue: avatarQueue }, { olderThanMs: config.sweeper.outboxGraceMs, after: outboxCursor });
      outboxCursor = swept.next;
    }, logger),
    runPeriodically('staging', config.sweeper.intervalMs, () => sweepStaging(processDeps, { graceMs: config.sweeper.graceMs, failedRetentionMs: config.failedOriginalRetentionMs }), logger),
    runPeriodically('stored-files', config.sweeper.intervalMs, () => sweepStoredFiles({ ...processDeps, userDetailTable: config.tables.userDetail }, { graceMs: config.sweeper.graceMs }), logger),
  ];
  if (options.metrics) observeWorkers(workers, options.metrics);
  logger.info({ concurrency: config.worker.concurrency, queues: [AVATAR_QUEUE, CLEANUP_QUEUE] }, 'worker started');

  return {
    async ready() {
      const [redis, storage] = await Promise.all([
        producer.ping().then(() => true, () => false),
        // the API's readiness asks the same; only a frozen storage (not a stopped or killed one) looks ACTIVE until the tracker's heartbeat check
        fastdfs.checkStorageAvailable({ signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) }).then(
          () => true,
          (error: unknown) => {
            logger.warn({ err: error }, 'readiness: no FastDFS storage to store in');
            return false;
          },
        ),
      ]);
      const checks = { workers: workers.every((w) => w.isRunning()), redis, fastdfs: storage };
      return { ready: checks.workers && checks.redis && checks.fastdfs, checks };
    },
    async close(graceMs = config.worker.shutdownGraceMs) {
      await Promise.all(sweepers.map((s) => s.stop()));
      // a failed graceful close is logged, never thrown: the queues, Redis and the database below must still close
      const graceful = Promise.all(workers.map((w) => w.close())).then(
        () => false,
        (error: unknown) => {
          logger.warn({ err: error }, 'graceful worker close failed');
          return false;
        },
      );
      const timedOut = await Promise.race([graceful, new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
      if (timedOut) {
        logger.warn({ graceMs }, 'jobs still active after the grace period; handing them back');
        await Promise.all(workers.map((w) => w.close(true)));
      }
      await Promise.all([avatarQueue.close(), cleanupQueue.close()]);
      producer.disconnect();
      for (const connection of workerConnections) connection.disconnect();
      await db.destroy();
    },
  };
}
