import { UnrecoverableError, Worker, type Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CLEANUP_QUEUE, createCleanupQueue, type DeleteFilesJob } from '@avatar/shared';
import { createTestRedis, type TestRedis } from '@avatar/shared/testing';
import { FileDeletionQueue } from '../src/adapters/file-deletion-queue.js';

let redis: TestRedis;
let connection: Redis;
let queue: Queue<DeleteFilesJob>;
beforeAll(() => {
  redis = createTestRedis();
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = createCleanupQueue(connection, redis.prefix);
});
afterAll(async () => {
  await queue?.close();
  connection?.disconnect();
  await redis?.cleanup();
});

const uploadId = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('FileDeletionQueue: the deletion scheduling policy', () => {
  it("one deletion job per upload: scheduling an upload's files again adds nothing", async () => {
    const deletions = new FileDeletionQueue(queue);
    await deletions.schedule({ fileIds: ['group1/M00/00/00/a.webp'], uploadId: uploadId(1), reason: 'superseded' });
    await deletions.schedule({ fileIds: ['group1/M00/00/00/a.webp'], uploadId: uploadId(1), reason: 'sweep: not a live avatar' });

    const jobs = (await queue.getJobs(['waiting'])).filter((job) => job.data.uploadId === uploadId(1));
    expect(jobs.map((job) => [job.id, job.data.reason])).toEqual([[`delete-${uploadId(1)}`, 'superseded']]);
  });

  it('files no upload names get a job each time', async () => {
    const deletions = new FileDeletionQueue(queue);
    await deletions.schedule({ fileIds: ['group1/M00/00/00/orphan.webp'], reason: 'stored by a run that lost its claim' });
    await deletions.schedule({ fileIds: ['group1/M00/00/00/orphan.webp'], reason: 'stored by a run that lost its claim' });
    const orphans = (await queue.getJobs(['waiting'])).filter((job) => job.data.uploadId === undefined);
    expect(orphans).toHaveLength(2);
  });

  it("an upload's deletion that failed for good is retried, not silently skipped", async () => {
    const deletions = new FileDeletionQueue(queue);
    const request = { fileIds: ['group1/M00/00/00/b.webp'], uploadId: uploadId(2), reason: 'failed: image_undecodable' };
    // every job the queue holds now fails for good: the storage refused them, say
    const workerConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const failing = new Worker<DeleteFilesJob>(
      CLEANUP_QUEUE,
      async () => {
        throw new UnrecoverableError('refused');
      },
      { connection: workerConnection, prefix: redis.prefix },
    );
    try {
      await deletions.schedule(request);
      await vi.waitFor(async () => expect(await (await queue.getJob(`delete-${uploadId(2)}`))?.getState()).toBe('failed'), { timeout: 10_000, interval: 50 });
    } finally {
      await failing.close();
      workerConnection.disconnect();
    }

    await deletions.schedule(request);
    const job = await queue.getJob(`delete-${uploadId(2)}`);
    expect(await job?.getState()).toBe('waiting');
    expect(job?.data).toEqual(request);
  });
});
