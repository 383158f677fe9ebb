import type { Queue } from 'bullmq';
import { UploadJournal, UploadsRepository, isErrorCode, jobNames, type Db, type Logger, type ProcessAvatarJob } from '@avatar/shared';
import type { ProcessAvatarDeps } from '../domain/process-avatar.js';
import { recordFailed } from '../jobs/process-avatar-job.js';
import { forEachIsolated } from './for-each-isolated.js';

export interface OutboxSweepResult {
  reenqueued: number;
  failed: number;
  /** Pass as `after` to the next sweep; undefined once the end was reached (start over). */
  next: string | undefined;
}

/**
 * Finds uploads that are not finished and have not moved for a while, and makes sure each
 * has a live job: one with no job (the API died between insert and enqueue, or Redis lost
 * it) is enqueued again (jobId = upload id keeps that idempotent); one whose job already
 * failed for good (its failure could not be recorded then) is marked failed now.
 */
export async function sweepOutbox(
  deps: Pick<ProcessAvatarDeps, 'db' | 'staged' | 'scheduleDeletion' | 'sizes'> & { queue: Queue<ProcessAvatarJob>; logger: Logger },
  options: { olderThanMs: number; batch?: number; after?: string },
): Promise<OutboxSweepResult> {
  const uploads = new UploadsRepository(deps.db as Db);
  const journal = new UploadJournal(deps.db);
  const batch = options.batch ?? 500;
  const stale = await uploads.findStale(new Date(Date.now() - options.olderThanMs), batch, options.after);
  const result: OutboxSweepResult = { reenqueued: 0, failed: 0, next: stale.length === batch ? stale.at(-1)?.id : undefined };
  await forEachIsolated(stale, deps.logger, 'outbox', (u) => u.id, async (upload) => {
    const job = await deps.queue.getJob(upload.id);
    const state = job ? await job.getState() : 'missing';
    if (state === 'missing' || state === 'unknown' || state === 'completed') {
      if (job) await job.remove();
      await deps.queue.add(jobNames.processAvatar, { uploadId: upload.id }, { jobId: upload.id });
      result.reenqueued++;
    } else if (state === 'failed') {
      const reason = job?.failedReason ?? '';
      const prefix = /^([a-z_]+): /.exec(reason)?.[1];
      const code = prefix && isErrorCode(prefix) ? prefix : 'internal_error';
      await recordFailed(deps, journal, upload.id, { code, message: reason || 'processing failed' });
      result.failed++;
    }
  });
  if (result.reenqueued + result.failed > 0) deps.logger.warn({ reenqueued: result.reenqueued, failed: result.failed }, 'outbox sweep repaired uploads');
  return result;
}
