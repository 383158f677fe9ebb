import type { Queue } from 'bullmq';
import { AppError, jobNames, processAvatarJobFor, processAvatarJobSchema, type ProcessAvatarJob, type Upload, type UploadJournal } from '@avatar/shared';

export interface RetryUploadDeps {
  journal: Pick<UploadJournal, 'reopenFailed'>;
  avatarQueue: Queue<ProcessAvatarJob>;
  /** Whether the staged original is still there to be processed again. */
  originalExists: (stagedPath: string) => Promise<boolean>;
}

/** Job states a failed upload's old job may be left in: finished, so nothing holds its lock. */
const FINISHED_JOB_STATES: ReadonlySet<string> = new Set(['failed', 'completed']);

/**
 * An operator's retry of a failed upload: the same path as a new upload from the queue on.
 * The journal reopens it first (`failed → queued`, a `retried` event, only while its staged
 * original exists), under the row's lock: of two clicks at once one reopens and the other is
 * refused (409) without touching the queue. Only then is the old BullMQ job (kept a week
 * under the same id) removed, if it is finished, so the job id (the upload id) can be added
 * again with fresh attempts. The outbox sweeper leaves this alone: the reopen just bumped
 * `updated_at`, and it looks only at rows older than its grace. The upload keeps its
 * `created_at`, so a newer upload of the same user that already set the avatar still wins:
 * the retried one ends `superseded`. If the enqueue fails after the reopen, the outbox
 * sweeper enqueues it (a queued upload without a job).
 */
export async function retryFailedUpload(deps: RetryUploadDeps, uploadId: string): Promise<Upload> {
  // a run still holding the job is recording the failure right now: its job is about to be failed, and would stay so
  const running = await deps.avatarQueue.getJob(uploadId);
  if (running && (await running.getState()) === 'active') throw new AppError('upload_not_retryable', 'Its job is still running');

  const outcome = await deps.journal.reopenFailed(uploadId, deps.originalExists);
  switch (outcome.kind) {
    case 'not_found':
      throw new AppError('upload_not_found');
    case 'not_failed':
      throw new AppError('upload_not_retryable', `The upload is ${outcome.status}`, { extra: { uploadStatus: outcome.status } });
    case 'original_gone':
      throw new AppError('original_gone', 'The staged original was removed (a failure caused by the image itself, or past FAILED_ORIGINAL_RETENTION_MS); the user must upload again');
    case 'reopened': {
      const old = await deps.avatarQueue.getJob(uploadId);
      // the old job (kept a week) still names the POST that accepted the upload: keep following it
      const requestId = processAvatarJobSchema.safeParse(old?.data).data?.requestId;
      if (old && FINISHED_JOB_STATES.has(await old.getState())) await old.remove();
      await deps.avatarQueue.add(jobNames.processAvatar, processAvatarJobFor(outcome.upload, requestId), { jobId: uploadId });
      return outcome.upload;
    }
  }
}
