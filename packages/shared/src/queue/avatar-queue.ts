import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import { z } from 'zod';
import type { Upload } from '../domain/upload.js';
import { errorCodes } from '../errors/error-codes.js';

export const AVATAR_QUEUE = 'avatar-process';
export const CLEANUP_QUEUE = 'avatar-cleanup';

export const processAvatarJobSchema = z.object({
  uploadId: z.uuid(),
  /** The id of the POST that accepted the upload, on every worker log line for it; absent on an outbox re-enqueue. */
  requestId: z.string().min(1).max(200).optional(),
  /**
   * The staged original as the upload row names it when the job was added: the worker starts
   * rendering it while it claims the upload, and uses that render only if the claimed row still
   * names the same original. Absent on jobs added before it existed.
   */
  stagedPath: z.string().min(1).max(1000).optional(),
  /**
   * How the latest attempt failed, written by the worker before it hands the failure to
   * BullMQ: the code travels as data (to the outbox sweeper and the next attempt), never
   * parsed back from BullMQ's `failedReason` text.
   */
  lastFailure: z
    .object({
      attempt: z.number().int().positive(),
      code: z.enum(errorCodes),
      message: z.string().max(500),
      /** true: no attempt follows (a permanent failure, or the last attempt) */
      final: z.boolean(),
    })
    .optional(),
});
export type ProcessAvatarJob = z.infer<typeof processAvatarJobSchema>;

/**
 * A fresh job for `upload` (added with jobId = its id), naming the staged original its row
 * names, so the worker can render while it claims; `requestId` is the POST that accepted it.
 */
export function processAvatarJobFor(upload: Pick<Upload, 'id' | 'stagedPath'>, requestId?: string): ProcessAvatarJob {
  return { uploadId: upload.id, requestId, stagedPath: upload.stagedPath ?? undefined };
}

export const deleteFilesJobSchema = z.object({
  fileIds: z.array(z.string().min(1)).min(1),
  /** the upload whose files these are, marked `files_deleted_at` once they are gone */
  uploadId: z.uuid().optional(),
  reason: z.string(),
});
export type DeleteFilesJob = z.infer<typeof deleteFilesJobSchema>;

/** Job names, one handler each; the worker refuses to start if one is missing. */
export const jobNames = { processAvatar: 'process-avatar', deleteFiles: 'delete-files' } as const;

export function avatarJobOptions(attempts: number, backoffMs: number): DefaultJobOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    // failed jobs stay a week so operators can inspect and retry them from the dashboard
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export function createAvatarQueue(connection: ConnectionOptions, prefix: string, defaults: DefaultJobOptions): Queue<ProcessAvatarJob> {
  return new Queue<ProcessAvatarJob>(AVATAR_QUEUE, { connection, prefix, defaultJobOptions: defaults });
}

export function createCleanupQueue(connection: ConnectionOptions, prefix: string): Queue<DeleteFilesJob> {
  return new Queue<DeleteFilesJob>(CLEANUP_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: { attempts: 20, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: { count: 1_000 }, removeOnFail: { age: 30 * 24 * 3600 } },
  });
}
