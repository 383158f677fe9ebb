import type { Queue } from 'bullmq';
import { AppError, UploadJournal, UploadsRepository, canRetry, jobNames, type Db, type ProcessAvatarJob, type Upload } from '@avatar/shared';

export interface RetryUploadDeps {
  db: Db;
  avatarQueue: Queue<ProcessAvatarJob>;
  /** Whether the staged original is still there to be processed again. */
  originalExists: (stagedPath: string) => Promise<boolean>;
}

/**
 * An operator's retry of a failed upload: the same path as a new upload from the queue on.
 * The journal reopens it (`failed → queued`, a `retried` event) only while its staged
 * original exists; the failed BullMQ job (kept a week under the same id) is removed first so
 * the job id, which is the upload id, can be added again with fresh attempts. The upload
 * keeps its `created_at`, so a newer upload of the same user that already set the avatar
 * still wins: the retried one ends `superseded`. If the enqueue fails after the reopen, the
 * outbox sweeper enqueues it (a queued upload without a job).
 */
export async function retryFailedUpload(deps: RetryUploadDeps, uploadId: string): Promise<Upload> {
  const found = await new UploadsRepository(deps.db).findById(uploadId);
  if (!found) throw new AppError('upload_not_found');
  refuseUnlessRetryable(found);
  if (!found.stagedPath || !(await deps.originalExists(found.stagedPath))) throw originalGone();

  const job = await deps.avatarQueue.getJob(uploadId);
  if (job) {
    const state = await job.getState();
    // a failed upload's job is failed or completed; an active one means a run still holds it
    if (state === 'active') throw new AppError('upload_not_retryable', 'Its job is still running');
    await job.remove();
  }
  const outcome = await new UploadJournal(deps.db).reopenFailed(uploadId, deps.originalExists);
  switch (outcome.kind) {
    case 'not_found':
      throw new AppError('upload_not_found');
    case 'not_failed':
      throw new AppError('upload_not_retryable', `The upload is ${outcome.status}`, { extra: { uploadStatus: outcome.status } });
    case 'original_gone':
      throw originalGone();
    case 'reopened':
      await deps.avatarQueue.add(jobNames.processAvatar, { uploadId }, { jobId: uploadId });
      return outcome.upload;
  }
}

function refuseUnlessRetryable(upload: Upload): void {
  if (!canRetry(upload.status)) throw new AppError('upload_not_retryable', `The upload is ${upload.status}`, { extra: { uploadStatus: upload.status } });
}

function originalGone(): AppError {
  return new AppError('original_gone', 'The staged original was removed (a failure caused by the image itself, or past FAILED_ORIGINAL_RETENTION_MS); the user must upload again');
}
