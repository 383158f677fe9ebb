import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { InspectedImage } from '@avatar/image-format';
import {
  AppError,
  IdempotencyKeyTakenError,
  isInfrastructureError,
  jobNames,
  processAvatarJobFor,
  type Logger,
  type ProcessAvatarJob,
  type Upload,
  type UploadJournal,
  type UploadsRepository,
} from '@avatar/shared';

const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface AcceptUploadDeps {
  journal: UploadJournal;
  uploads: UploadsRepository;
  queue: Pick<Queue<ProcessAvatarJob>, 'add' | 'getJob'>;
  removeStaged: (ref: string) => Promise<void>;
  logger: Pick<Logger, 'warn' | 'error'>;
}

export interface AcceptUploadInput {
  userId: number;
  /** The POST's request id, carried in the job so worker logs for this upload name it. */
  requestId?: string;
  idempotencyKey: string | undefined;
  declaredType: string | undefined;
  /** The published original: `ref` is what the upload row records (a path or a FastDFS file id). */
  staged: { ref: string; sizeBytes: number; sha256: string };
  image: InspectedImage;
}

export interface AcceptedUpload {
  upload: Upload;
  /** True when an earlier request with the same Idempotency-Key already accepted these bytes. */
  replayed: boolean;
}

/**
 * Records the upload with its `queued` event and enqueues its job (jobId = upload id).
 * Either both happen or neither does: if the enqueue fails the row and the staged file are
 * removed and the caller answers 503, so a client retry is safe.
 */
export async function acceptUpload(deps: AcceptUploadDeps, input: AcceptUploadInput): Promise<AcceptedUpload> {
  if (input.idempotencyKey) {
    const earlier = await findReplay(deps, input);
    if (earlier) {
      await deps.removeStaged(input.staged.ref);
      return { upload: earlier, replayed: true };
    }
  }

  let upload: Upload;
  try {
    upload = await deps.journal.accept({
      id: randomUUID(),
      userId: input.userId,
      idempotencyKey: input.idempotencyKey ?? null,
      declaredType: input.declaredType ?? null,
      detectedType: input.image.mime,
      sizeBytes: input.staged.sizeBytes,
      sha256: input.staged.sha256,
      width: input.image.width,
      height: input.image.height,
      stagedPath: input.staged.ref,
    });
  } catch (error) {
    // a concurrent request with the same key won the insert: answer as it did
    if (error instanceof IdempotencyKeyTakenError) {
      const earlier = await findReplay(deps, input);
      if (earlier) {
        await deps.removeStaged(input.staged.ref);
        return { upload: earlier, replayed: true };
      }
    }
    await deps.removeStaged(input.staged.ref);
    throw asUnavailable(error);
  }

  try {
    await deps.queue.add(jobNames.processAvatar, processAvatarJobFor(upload, input.requestId), { jobId: upload.id });
  } catch (error) {
    // a timed-out add may still have landed (only its answer was lost): then it is accepted
    if (await jobExists(deps, upload.id)) return { upload, replayed: false };
    deps.logger.warn({ err: error, uploadId: upload.id }, 'enqueue failed; withdrawing the upload');
    await withdraw(deps, upload);
    throw asUnavailable(error);
  }
  return { upload, replayed: false };
}

async function findReplay(deps: AcceptUploadDeps, input: AcceptUploadInput): Promise<Upload | undefined> {
  const key = input.idempotencyKey as string;
  const earlier = await deps.uploads.findByIdempotencyKey(input.userId, key);
  if (!earlier) return undefined;
  if (Date.now() - earlier.createdAt.getTime() > IDEMPOTENCY_WINDOW_MS) {
    await deps.uploads.releaseIdempotencyKey(earlier.id);
    return undefined;
  }
  if (earlier.sha256 !== input.staged.sha256) {
    await deps.removeStaged(input.staged.ref);
    throw new AppError('idempotency_conflict', 'This Idempotency-Key was used for a different file', { extra: { uploadId: earlier.id } });
  }
  return earlier;
}

async function jobExists(deps: AcceptUploadDeps, uploadId: string): Promise<boolean> {
  try {
    return (await deps.queue.getJob(uploadId)) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Undoes an accept whose job could not be enqueued. If PostgreSQL is unreachable too, the
 * row stays `queued` and the outbox sweeper enqueues it later: the upload is then done
 * even though the client saw 503, which is safe with the same Idempotency-Key.
 */
async function withdraw(deps: AcceptUploadDeps, upload: Upload): Promise<void> {
  try {
    await deps.uploads.delete(upload.id);
    await deps.removeStaged(upload.stagedPath as string);
  } catch (error) {
    deps.logger.error({ err: error, uploadId: upload.id }, 'could not withdraw upload; the outbox will enqueue it');
  }
}

function asUnavailable(error: unknown): unknown {
  if (error instanceof AppError) return error;
  if (isInfrastructureError(error)) return new AppError('service_unavailable', 'The upload could not be recorded; try again', { cause: error });
  return error;
}
