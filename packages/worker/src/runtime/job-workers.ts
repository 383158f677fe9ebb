import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import { AVATAR_QUEUE, CLEANUP_QUEUE, createRedis, jobNames, type Logger } from '@avatar/shared';
import type { Registry } from 'prom-client';
import { createDeleteFilesHandler } from '../jobs/delete-files-job.js';
import { createProcessAvatarHandler } from '../jobs/process-avatar-job.js';
import { observeWorkers } from '../ops/worker-metrics.js';
import type { AvatarWorkflow } from '../workflow/avatar-workflow.js';
import type { WorkerContext } from './build-worker-context.js';

type Handlers = Record<string, Processor>;

/** Every job name's handler, each a thin call into the workflow. */
export function jobHandlers(workflow: AvatarWorkflow, logger: Logger): Handlers {
  return {
    [jobNames.processAvatar]: createProcessAvatarHandler({ workflow, logger }),
    [jobNames.deleteFiles]: createDeleteFilesHandler(workflow),
  };
}

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

export interface JobWorkers {
  /** Every BullMQ worker is running (readiness). */
  running(): boolean;
  /** Stops taking jobs, lets active ones finish within `graceMs`, then hands the rest back (they stall and are retried). */
  close(graceMs: number): Promise<void>;
}

const workerOptions = {
  // a dead worker's jobs are picked up again within ~30 s: lock expiry + one stalled check
  lockDuration: 20_000,
  stalledInterval: 10_000,
  maxStalledCount: 5,
};

/** The BullMQ workers of both queues, on connections of their own, dispatching by job name. */
export function startJobWorkers(context: Pick<WorkerContext, 'config' | 'logger' | 'workflow'>, options: { metrics?: Registry } = {}): JobWorkers {
  const { config, logger } = context;
  const handlers = jobHandlers(context.workflow, logger);
  assertEveryJobHasHandler(Object.values(jobNames), handlers);

  // BullMQ treats connections passed in as shared and never closes them: close() does
  const connections = [createRedis(config.redis, 'worker'), createRedis(config.redis, 'worker')] as const;
  const shared = { ...workerOptions, prefix: config.redis.prefix };
  const workers = [
    new Worker(AVATAR_QUEUE, dispatch(handlers), { ...shared, connection: connections[0], concurrency: config.worker.concurrency }),
    new Worker(CLEANUP_QUEUE, dispatch(handlers), { ...shared, connection: connections[1], concurrency: 4 }),
  ];
  // reqId: the POST that accepted the upload (process-avatar jobs carry it), to follow one upload
  const reqId = (job: { data?: unknown } | undefined): unknown => (job?.data as { requestId?: unknown } | undefined)?.requestId;
  for (const worker of workers) {
    worker.on('failed', (job, error) => logger.warn({ jobId: job?.id, reqId: reqId(job), queue: worker.name, attempt: job?.attemptsMade, err: error }, 'job failed'));
    worker.on('error', (error) => logger.error({ err: error, queue: worker.name }, 'worker error'));
  }
  if (options.metrics) observeWorkers(workers, options.metrics);

  return {
    running: () => workers.every((w) => w.isRunning()),
    async close(graceMs) {
      // a failed graceful close is logged, never thrown: the connections must still close
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
      for (const connection of connections) connection.disconnect();
    },
  };
}
