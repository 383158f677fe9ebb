import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AVATAR_QUEUE, avatarJobOptions, createLogger, jobNames, type ProcessAvatarJob } from '@avatar/shared';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import { sweepOutbox } from '../src/sweepers/outbox-sweeper.js';
import { acceptUpload, ensureUsers } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let redis: TestRedis;
let connection: Redis;
let queue: Queue<ProcessAvatarJob>;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.db, 1);
  redis = createTestRedis();
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  queue = new Queue<ProcessAvatarJob>(AVATAR_QUEUE, { connection, prefix: redis.prefix, defaultJobOptions: avatarJobOptions(3, 100) });
});
afterAll(async () => {
  await queue?.close();
  connection?.disconnect();
  await redis?.cleanup();
  await tdb?.drop();
});

function sweep(options: { batch?: number; after?: string } = {}) {
  const deps = {
    db: tdb.db,
    sizes: [256, 128],
    staged: { read: async () => Buffer.alloc(0), remove: async () => undefined },
    scheduleDeletion: async () => undefined,
    queue,
    logger: createLogger({ level: 'silent', name: 'test' }),
  };
  return sweepOutbox(deps, { olderThanMs: 0, ...options });
}

describe('the outbox sweeper', () => {
  it('enqueues a queued upload that has no job (the API died between insert and enqueue), with jobId = upload id', async () => {
    const upload = await acceptUpload(tdb.db, 1);
    expect(await queue.getJob(upload.id)).toBeUndefined();

    expect(await sweep()).toEqual({ reenqueued: 1, failed: 0, next: undefined });

    const job = await queue.getJob(upload.id);
    expect(job?.data).toEqual({ uploadId: upload.id });
    expect(job?.name).toBe(jobNames.processAvatar);
    expect(await job?.getState()).toBe('waiting');
  });

  it('does not create a second job when one exists', async () => {
    const counts = await queue.getJobCounts('waiting', 'delayed', 'active');
    expect(await sweep()).toEqual({ reenqueued: 0, failed: 0, next: undefined });
    expect(await queue.getJobCounts('waiting', 'delayed', 'active')).toEqual(counts);
    expect(counts.waiting).toBe(1);
  });

  it('pages through a backlog: the next sweep goes on after the last upload it checked, then starts over', async () => {
    const more = [await acceptUpload(tdb.db, 1), await acceptUpload(tdb.db, 1), await acceptUpload(tdb.db, 1)];
    // the first upload (from above) has its job; the three new ones have none
    const first = await sweep({ batch: 2 });
    expect(first.reenqueued).toBe(1);
    expect(first.next).toBe(more[0]?.id);
    const second = await sweep({ batch: 2, after: first.next });
    expect(second.reenqueued).toBe(2);
    expect(second.next).toBe(more[2]?.id);
    const third = await sweep({ batch: 2, after: second.next });
    expect(third).toEqual({ reenqueued: 0, failed: 0, next: undefined });
    for (const upload of more) expect(await queue.getJob(upload.id)).toBeDefined();
  });
});
