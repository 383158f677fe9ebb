import { UnrecoverableError, type Job } from 'bullmq';
import { processAvatarJobSchema, type Logger, type ProcessAvatarJob } from '@avatar/shared';
import type { AvatarWorkflow, ProcessOutcome } from '../workflow/avatar-workflow.js';

/**
 * The BullMQ handler, thin: parses the payload, runs one attempt of the workflow (which
 * records `retrying` or `failed` itself), and turns its result into a return value or a
 * throw, so BullMQ always sees a failure. Before it throws, it writes the failure's code on
 * the job (`lastFailure`): the next attempt and the outbox sweeper read it there as data.
 * A permanent failure is thrown as UnrecoverableError (no retries for a bad image) whose
 * message is for people only. Every line it logs names the upload and the POST that accepted
 * it (`reqId`), so one upload can be followed from the API's request log to `done`.
 */
export function createProcessAvatarHandler(deps: { workflow: AvatarWorkflow; logger: Logger }): (job: Job<ProcessAvatarJob>) => Promise<ProcessOutcome> {
  return async (job) => {
    const parsed = processAvatarJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed job payload: ${parsed.error.message}`);
    const { uploadId, requestId, lastFailure, stagedPath } = parsed.data;
    const logger = deps.logger.child(requestId === undefined ? { uploadId } : { reqId: requestId, uploadId });
    const attempt = job.attemptsMade + 1;
    logger.info({ attempt }, 'processing upload');
    const result = await deps.workflow.withLogger(logger).runAttempt({ uploadId, attempt, maxAttempts: job.opts.attempts ?? 1, lastFailure, failedReason: job.failedReason, stagedPath });
    if (result.kind === 'finished') {
      logger.info({ attempt, outcome: result.outcome }, 'upload processed');
      return result.outcome;
    }
    const { failure, final } = result;
    await job
      .updateData({ ...parsed.data, lastFailure: { attempt, code: failure.code, message: failure.message.slice(0, 500), final } })
      .catch((error: unknown) => logger.warn({ err: error }, 'could not write the failure on the job'));
    throw failure.retry ? result.error : new UnrecoverableError(failure.message);
  };
}
