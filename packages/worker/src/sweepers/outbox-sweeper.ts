import type { Job, Queue } from 'bullmq';
import { jobNames, processAvatarJobFor, processAvatarJobSchema, type Logger, type ProcessAvatarJob, type UploadsRepository } from '@avatar/shared';
import type { Failure } from '../domain/classify-failure.js';
import type { AvatarWorkflow } from '../workflow/avatar-workflow.js';
import { forEachIsolated } from './for-each-isolated.js';

export interface OutboxSweepResult {
  reenqueued: number;
  failed: number;
  /** Where the next sweep goes on; undefined once the end was reached (it starts over). */
  next: string | undefined;
}

export interface OutboxSweeperDeps {
  uploads: Pick<UploadsRepository, 'findStale'>;
  queue: Queue<ProcessAvatarJob>;
  workflow: Pick<AvatarWorkflow, 'fail'>;
  logger: Logger;
}

export interface OutboxSweeperOptions {
  /** Only uploads that have not moved for this long: younger ones may still be on their way to the queue. */
  olderThanMs: number;
  /** Uploads looked at per sweep (500). */
  batch?: number;
}

/**
 * Finds uploads that are not finished and have not moved for a while, and makes sure each
 * has a live job: one with no job (the API died between insert and enqueue, or Redis lost
 * it) is enqueued again (jobId = upload id keeps that idempotent); one whose job already
 * failed for good (its failure could not be recorded then) is marked failed now, with the
 * code its last attempt wrote on the job. A backlog is paged through, one batch a sweep.
 */
export class OutboxSweeper {
  /** The last upload the previous sweep looked at, when it stopped at a full batch. */
  private cursor: string | undefined;

  constructor(
    private readonly deps: OutboxSweeperDeps,
    private readonly options: OutboxSweeperOptions,
  ) {}

  async sweep(): Promise<OutboxSweepResult> {
    const batch = this.options.batch ?? 500;
    const stale = await this.deps.uploads.findStale(new Date(Date.now() - this.options.olderThanMs), batch, this.cursor);
    const result: OutboxSweepResult = { reenqueued: 0, failed: 0, next: stale.length === batch ? stale.at(-1)?.id : undefined };
    this.cursor = result.next;
    await forEachIsolated(stale, this.deps.logger, 'outbox', (u) => u.id, async (upload) => {
      const job = await this.deps.queue.getJob(upload.id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing' || state === 'unknown' || state === 'completed') {
        if (job) await job.remove();
        await this.deps.queue.add(jobNames.processAvatar, processAvatarJobFor(upload), { jobId: upload.id });
        result.reenqueued++;
      } else if (state === 'failed' && job) {
        await this.deps.workflow.fail(upload.id, failureOfFailedJob(job));
        result.failed++;
      }
    });
    if (result.reenqueued + result.failed > 0) this.deps.logger.warn({ reenqueued: result.reenqueued, failed: result.failed }, 'outbox sweep repaired uploads');
    return result;
  }
}

/**
 * What a job that failed for good failed with: the code and message its last attempt wrote
 * (`job.data.lastFailure`, final). A job whose last attempt wrote nothing (it stalled too
 * often, or Redis was away when it failed) counts as `internal_error`.
 */
export function failureOfFailedJob(job: Pick<Job<ProcessAvatarJob>, 'data' | 'failedReason'>): Pick<Failure, 'code' | 'message'> {
  const last = processAvatarJobSchema.safeParse(job.data).data?.lastFailure;
  if (last?.final) return { code: last.code, message: last.message };
  return { code: 'internal_error', message: job.failedReason || 'processing failed' };
}
