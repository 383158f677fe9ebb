import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobNames } from '@avatar/shared';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import type { WorkerContext } from '../src/runtime/build-worker-context.js';
import { OutboxSweeper, failureOfFailedJob, type OutboxSweeperOptions } from '../src/sweepers/outbox-sweeper.js';
import { testWorkerContext } from './support/test-worker.js';
import { acceptUpload, ensureUsers } from './support/upload-fixtures.js';

// each test its own database, Redis prefix and worker: what one sweep finds is only that test's uploads
let tdb: TestDatabase;
let redis: TestRedis;
let stagingDir: string;
let worker: WorkerContext;
beforeEach(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 1);
  redis = createTestRedis();
  stagingDir = await mkdtemp(path.join(tmpdir(), 'outbox-sweeper-'));
  worker = testWorkerContext({ database: tdb, redis, stagingDir });
});
afterEach(async () => {
  await worker?.close();
  await redis?.cleanup();
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

/** The outbox sweeper as the worker runs it, looking at every upload at once (no grace). */
function outboxSweeper(options: Partial<OutboxSweeperOptions> = {}): OutboxSweeper {
  return new OutboxSweeper({ uploads: worker.repos.uploads, queue: worker.queues.avatar, workflow: worker.workflow, logger: worker.logger }, { olderThanMs: 0, ...options });
}

describe('the outbox sweeper', () => {
  it('enqueues a queued upload that has no job (the API died between insert and enqueue), with jobId = upload id', async () => {
    const upload = await acceptUpload(tdb.repos, 1);
    expect(await worker.queues.avatar.getJob(upload.id)).toBeUndefined();

    expect(await outboxSweeper().sweep()).toEqual({ reenqueued: 1, failed: 0, next: undefined });

    const job = await worker.queues.avatar.getJob(upload.id);
    expect(job?.data).toEqual({ uploadId: upload.id, stagedPath: upload.stagedPath });
    expect(job?.name).toBe(jobNames.processAvatar);
    expect(await job?.getState()).toBe('waiting');
  });

  it('does not create a second job when one exists', async () => {
    const upload = await acceptUpload(tdb.repos, 1);
    await worker.queues.avatar.add(jobNames.processAvatar, { uploadId: upload.id, requestId: 'the-post' }, { jobId: upload.id });

    expect(await outboxSweeper().sweep()).toEqual({ reenqueued: 0, failed: 0, next: undefined });
    expect(await worker.queues.avatar.getJobCounts('waiting', 'delayed', 'active')).toEqual({ waiting: 1, delayed: 0, active: 0 });
    expect((await worker.queues.avatar.getJob(upload.id))?.data.requestId).toBe('the-post');
  });

  it('pages through a backlog: each sweep goes on after the last upload the previous one checked, then starts over', async () => {
    const uploads = [await acceptUpload(tdb.repos, 1), await acceptUpload(tdb.repos, 1), await acceptUpload(tdb.repos, 1)];
    const sweeper = outboxSweeper({ batch: 2 });

    const first = await sweeper.sweep();
    expect(first).toEqual({ reenqueued: 2, failed: 0, next: uploads[1]?.id });
    const second = await sweeper.sweep();
    expect(second).toEqual({ reenqueued: 1, failed: 0, next: undefined });
    // from the start again: every upload has its job now
    expect(await sweeper.sweep()).toEqual({ reenqueued: 0, failed: 0, next: uploads[1]?.id });
    for (const upload of uploads) expect(await worker.queues.avatar.getJob(upload.id)).toBeDefined();
  });
});

describe('failureOfFailedJob: the code a failed job carries as data', () => {
  it("takes the code and message the last attempt wrote, when it was the final one", () => {
    const data = { uploadId: '6f1c1b3e-8d2a-4c55-9a57-2f0a7f7a0b11', lastFailure: { attempt: 2, code: 'image_too_large' as const, message: 'too many pixels', final: true } };
    expect(failureOfFailedJob({ data, failedReason: 'whatever BullMQ kept' })).toEqual({ code: 'image_too_large', message: 'too many pixels' });
  });

  it('is internal_error when the last attempt wrote nothing final, whatever the text says', () => {
    const uploadId = '6f1c1b3e-8d2a-4c55-9a57-2f0a7f7a0b11';
    expect(failureOfFailedJob({ data: { uploadId }, failedReason: 'image_undecodable: Image cannot be decoded' })).toEqual({
      code: 'internal_error',
      message: 'image_undecodable: Image cannot be decoded',
    });
    const earlier = { uploadId, lastFailure: { attempt: 1, code: 'storage_unavailable' as const, message: 'FastDFS away', final: false } };
    expect(failureOfFailedJob({ data: earlier, failedReason: 'job stalled more than allowable limit' }).code).toBe('internal_error');
  });
});
