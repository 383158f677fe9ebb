import { UnrecoverableError, type Job } from 'bullmq';
import { UploadEventsRepository, UploadJournal, UploadsRepository, keepsOriginalForRetry, processAvatarJobSchema, type ProcessAvatarJob, type RecordOptions } from '@avatar/shared';
import { classifyFailure, type Failure } from '../domain/classify-failure.js';
import { deleteStoredFiles, newRunClaim, processAvatar, removeStagedOriginal, type ProcessAvatarDeps, type ProcessOutcome } from '../domain/process-avatar.js';

export interface ProcessAvatarJobDeps extends ProcessAvatarDeps {
  backoffMs: number;
}

/**
 * The BullMQ handler: parses the payload, runs the workflow, and on error records what
 * happened (`retrying`, or `failed` with a code) before rethrowing, so BullMQ always sees
 * the failure. Permanent failures become UnrecoverableError: no retries for a bad image.
 * Once the run has claimed the upload, those records need its claim: a run whose upload
 * another run of the job took over leaves the row to that run.
 * Every line it logs names the upload and the POST that accepted it (`reqId`), so one upload
 * can be followed from the API's request log to `done`.
 */
export function createProcessAvatarHandler(deps: ProcessAvatarJobDeps): (job: Job<ProcessAvatarJob>) => Promise<ProcessOutcome> {
  const journal = new UploadJournal(deps.db);
  return async (job) => {
    const parsed = processAvatarJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed job payload: ${parsed.error.message}`);
    const { uploadId, requestId } = parsed.data;
    const logger = deps.logger.child(requestId === undefined ? { uploadId } : { reqId: requestId, uploadId });
    const run = { ...deps, logger };
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    const claim = newRunClaim();
    logger.info({ attempt }, 'processing upload');
    try {
      if (attempt > 1) await recordMissedRetry(run, journal, uploadId, attempt - 1, job.failedReason);
      const outcome = await processAvatar(run, uploadId, attempt, claim);
      logger.info({ attempt, outcome }, 'upload processed');
      return outcome;
    } catch (error) {
      const failure = classifyFailure(error);
      const final = !failure.retry || attempt >= maxAttempts;
      const mine = claim.held ? { claim: claim.token } : {};
      if (final) {
        await recordFailed(run, journal, uploadId, failure, mine).catch((recordError: unknown) => {
          // the outbox sweeper marks it failed once the database is back
          logger.error({ err: recordError }, 'could not record the failure');
        });
        throw failure.retry ? error : new UnrecoverableError(`${failure.code}: ${failure.message}`);
      }
      const delayMs = deps.backoffMs * 2 ** (attempt - 1);
      await journal
        .record(
          uploadId,
          { status: 'retrying', event: { type: 'retrying', data: { attempt, code: failure.code, reason: failure.message.slice(0, 300), delayMs } } },
          undefined,
          mine,
        )
        .catch((recordError: unknown) => logger.warn({ err: recordError }, 'could not record the retry'));
      throw error;
    }
  };
}

/**
 * Marks the upload failed for good and releases what it holds (stored files, staged original).
 * With `claim`, only while the row still holds it: the stored files may be another run's.
 */
export async function recordFailed(
  deps: Pick<ProcessAvatarDeps, 'db' | 'staged' | 'scheduleDeletion' | 'sizes'>,
  journal: UploadJournal,
  uploadId: string,
  failure: Pick<Failure, 'code' | 'message'>,
  options: RecordOptions = {},
): Promise<void> {
  const message = failure.message.slice(0, 500);
  const failed = await journal.record(
    uploadId,
    {
      status: 'failed',
      patch: { errorCode: failure.code, errorMessage: message },
      event: { type: 'failed', data: { code: failure.code, message } },
    },
    undefined,
    options,
  );
  if (!failed) return;
  await deleteStoredFiles(deps, failed, `failed: ${failure.code}`);
  // an outage or a bug may be over tomorrow: the original waits (FAILED_ORIGINAL_RETENTION_MS) for an operator's retry
  if (!keepsOriginalForRetry(failure.code)) await removeStagedOriginal(deps, failed);
}

/**
 * When the previous attempt failed because the database itself was away, its `retrying`
 * event could not be written. The upload then still says `processing` on a later attempt:
 * record the retry now, from the reason BullMQ kept, so clients see every retry.
 */
async function recordMissedRetry(deps: Pick<ProcessAvatarDeps, 'db'>, journal: UploadJournal, uploadId: string, failedAttempt: number, failedReason: string | undefined): Promise<void> {
  const upload = await new UploadsRepository(deps.db).findById(uploadId);
  if (upload?.status !== 'processing') return;
  // a stalled job re-run (worker died) keeps its attempt number: its retry is already recorded
  if (await new UploadEventsRepository(deps.db).hasRetryForAttempt(uploadId, failedAttempt)) return;
  const reason = failedReason || 'the previous attempt ended without recording why';
  const { code } = classifyFailure(new Error(reason));
  await journal.record(uploadId, {
    status: 'retrying',
    event: { type: 'retrying', data: { attempt: failedAttempt, code, reason: reason.slice(0, 300), delayMs: 0 } },
  });
}
