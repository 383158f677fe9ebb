import type { Queue } from 'bullmq';
import { jobNames, type DeleteFilesJob } from '@avatar/shared';

/** Deletes stored files later, with retries: what the workflow asks for when files are no longer needed. */
export interface FileDeletionScheduler {
  schedule(request: DeleteFilesJob): Promise<void>;
}

/**
 * Deletions as jobs on the cleanup queue (BullMQ retries them while FastDFS is away). One
 * deletion job per upload: BullMQ ignores an add whose id exists, so a deletion of that
 * upload that failed for good (kept for inspection) is retried rather than silently skipped.
 * Files no upload row names (a run that lost its claim) get a job of their own each time.
 */
export class FileDeletionQueue implements FileDeletionScheduler {
  constructor(private readonly queue: Queue<DeleteFilesJob>) {}

  async schedule(request: DeleteFilesJob): Promise<void> {
    if (!request.uploadId) {
      await this.queue.add(jobNames.deleteFiles, request);
      return;
    }
    const jobId = `delete-${request.uploadId}`;
    const existing = await this.queue.getJob(jobId);
    if (existing && (await existing.isFailed())) await existing.retry();
    else await this.queue.add(jobNames.deleteFiles, request, { jobId });
  }
}
