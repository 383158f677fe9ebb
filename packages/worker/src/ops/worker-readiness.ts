import type { FastdfsClient } from '@avatar/fastdfs';
import type { Logger, RedisClient } from '@avatar/shared';

/** What the ops server's /health/ready reports: ready when every check holds. */
export interface WorkerReadiness {
  ready: boolean;
  checks: { workers: boolean; redis: boolean; fastdfs: boolean };
}

/** How long a readiness check may take before it counts as failed. */
const READY_CHECK_TIMEOUT_MS = 2_000;

/**
 * Its workers are running, Redis answers, and a FastDFS tracker has an ACTIVE storage server
 * to store in: without one every job it takes only waits in backoff.
 */
export async function checkWorkerReadiness(parts: { workersRunning: () => boolean; redis: RedisClient; fastdfs: FastdfsClient; logger: Logger }): Promise<WorkerReadiness> {
  const [redis, storage] = await Promise.all([
    parts.redis.ping().then(() => true, () => false),
    // the API's readiness asks the same; only a frozen storage (not a stopped or killed one) looks ACTIVE until the tracker's heartbeat check
    parts.fastdfs.checkStorageAvailable({ signal: AbortSignal.timeout(READY_CHECK_TIMEOUT_MS) }).then(
      () => true,
      (error: unknown) => {
        parts.logger.warn({ err: error }, 'readiness: no FastDFS storage to store in');
        return false;
      },
    ),
  ]);
  const checks = { workers: parts.workersRunning(), redis, fastdfs: storage };
  return { ready: checks.workers && checks.redis && checks.fastdfs, checks };
}
