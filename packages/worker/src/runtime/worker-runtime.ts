import { AVATAR_QUEUE, CLEANUP_QUEUE, type Config, type Logger } from '@avatar/shared';
import type { FastdfsClient } from '@avatar/fastdfs';
import type { Registry } from 'prom-client';
import { checkWorkerReadiness, type WorkerReadiness } from '../ops/worker-readiness.js';
import { startSweepers } from '../sweepers/start-sweepers.js';
import { buildWorkerContext, type WorkerAdapters } from './build-worker-context.js';
import { startJobWorkers } from './job-workers.js';

export interface WorkerRuntime {
  /** See checkWorkerReadiness. */
  ready(): Promise<WorkerReadiness>;
  /** Stops taking jobs, lets active ones finish within `graceMs`, then hands the rest back (they stall and are retried). */
  close(graceMs?: number): Promise<void>;
}

export interface WorkerRuntimeOptions {
  /** Where job metrics and job stage timings go (the ops server's registry when `WORKER_METRICS_PORT` is set; tests pass their own). */
  metrics?: Registry;
  /** Adapters to use instead of the configured ones (tests that inject a fault). */
  adapters?: Partial<WorkerAdapters>;
}

/**
 * A running worker: its parts built once (buildWorkerContext), the BullMQ workers taking jobs
 * and the repair sweeps running. The FastDFS client is the caller's to close.
 */
export async function startWorkerRuntime(config: Config, logger: Logger, fastdfs: FastdfsClient, options: WorkerRuntimeOptions = {}): Promise<WorkerRuntime> {
  const context = buildWorkerContext(config, logger, fastdfs, { adapters: options.adapters, metrics: options.metrics });
  const jobs = startJobWorkers(context, { metrics: options.metrics });
  const sweepers = startSweepers(context);
  logger.info({ concurrency: config.worker.concurrency, queues: [AVATAR_QUEUE, CLEANUP_QUEUE] }, 'worker started');

  return {
    ready: () => checkWorkerReadiness({ workersRunning: () => jobs.running(), redis: context.producer, fastdfs, logger }),
    async close(graceMs = config.worker.shutdownGraceMs) {
      await sweepers.stop();
      await jobs.close(graceMs);
      await context.close();
    },
  };
}
