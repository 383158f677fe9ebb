import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FastdfsError } from '@avatar/fastdfs';
import { AppError, jobNames, type ProcessAvatarJob, type UploadEventType } from '@avatar/shared';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import type { RenderedVariant } from '../src/pipeline/render-avatar.js';
import type { WorkerAdapters, WorkerContext } from '../src/runtime/build-worker-context.js';
import { startJobWorkers, type JobWorkers } from '../src/runtime/job-workers.js';
import { OutboxSweeper } from '../src/sweepers/outbox-sweeper.js';
import { fakeVariants, testWorkerContext } from './support/test-worker.js';
import { acceptUpload, ensureUsers } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let redis: TestRedis;
let stagingDir: string;
const running: Array<{ close(): Promise<void> }> = [];
beforeEach(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 1);
  redis = createTestRedis();
  stagingDir = await mkdtemp(path.join(tmpdir(), 'failure-codes-'));
});
afterEach(async () => {
  for (const part of running.splice(0).reverse()) await part.close();
  await redis?.cleanup();
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

/** A worker built as production builds it, taking jobs, with some adapters replaced. */
function startWorker(adapters: Partial<WorkerAdapters>): { context: WorkerContext; jobs: JobWorkers } {
  const context = testWorkerContext({ database: tdb, redis, stagingDir, adapters });
  running.push(context);
  const jobs = startJobWorkers(context);
  running.push({ close: () => jobs.close(5_000) });
  return { context, jobs };
}

/**
 * The database refuses the first `type` event inserted from now on (a trigger; the sequence
 * counts outside the failed transaction), as when PostgreSQL goes away right then.
 */
async function refuseFirstEvent(type: UploadEventType): Promise<void> {
  await tdb.db.raw('create sequence refused_events');
  await tdb.db.raw(`
    create function refuse_first_event() returns trigger language plpgsql as $$
    begin
      if new.type = tg_argv[0] and nextval('refused_events') = 1 then
        raise exception 'the database refused this record';
      end if;
      return new;
    end $$`);
  await tdb.db.raw(`create trigger refuse_first_event before insert on upload_events for each row execute function refuse_first_event('${type}')`);
}

async function stagedUpload() {
  const stagedPath = path.join(stagingDir, `${Date.now()}-${Math.random()}.upload`);
  await writeFile(stagedPath, 'original');
  return acceptUpload(tdb.repos, 1, stagedPath);
}

/** The job once it is in `state`, read after it got there (its data and attempts are final then). */
async function jobInState(context: WorkerContext, jobId: string, state: 'failed' | 'completed'): Promise<Job<ProcessAvatarJob>> {
  await vi.waitFor(async () => expect(await context.queues.avatar.getJobState(jobId)).toBe(state), { timeout: 30_000, interval: 50 });
  return (await context.queues.avatar.getJob(jobId)) as Job<ProcessAvatarJob>;
}

const rendered = async (): Promise<RenderedVariant[]> => fakeVariants();

describe('failure codes travel as data, never inside message text', () => {
  it('a job failed for good with image_undecodable whose failure the database missed ends failed with image_undecodable, read from the job by the outbox sweeper', async () => {
    const { context } = startWorker({
      renderer: {
        render: () => Promise.reject(new AppError('image_undecodable', 'Image cannot be decoded')),
      },
    });
    const upload = await stagedUpload();
    await refuseFirstEvent('failed');

    await context.queues.avatar.add(jobNames.processAvatar, { uploadId: upload.id }, { jobId: upload.id });
    const job = await jobInState(context, upload.id, 'failed');
    expect(job.attemptsMade).toBe(1); // UnrecoverableError: no retries
    expect(job.failedReason).toBe('Image cannot be decoded'); // for people; the code is not in it
    expect(job.data.lastFailure).toEqual({ attempt: 1, code: 'image_undecodable', message: 'Image cannot be decoded', final: true });
    expect((await tdb.repos.uploads.findById(upload.id))?.status).toBe('processing');

    const sweeper = new OutboxSweeper({ uploads: context.repos.uploads, queue: context.queues.avatar, workflow: context.workflow, logger: context.logger }, { olderThanMs: 0 });
    expect(await sweeper.sweep()).toMatchObject({ failed: 1, reenqueued: 0 });

    expect(await tdb.repos.uploads.findById(upload.id)).toMatchObject({ status: 'failed', errorCode: 'image_undecodable', errorMessage: 'Image cannot be decoded', stagedPath: null });
    const events = await tdb.repos.events.listAfter(upload.id, 0, 100);
    expect(events.at(-1)).toMatchObject({ type: 'failed', data: { code: 'image_undecodable' } });
    // the image was the cause: its original is not kept for a retry
    await expect(access(upload.stagedPath as string)).rejects.toThrow();
  });

  it('a retry the database missed is recorded by the next attempt with the code the failed attempt wrote (storage_unavailable)', async () => {
    let stores = 0;
    const { context } = startWorker({
      renderer: { render: rendered },
      files: {
        async storeSet(_variants, onMasterStored) {
          if (++stores === 1) throw new FastdfsError('connect', 'connect ECONNREFUSED 127.0.0.1:23000');
          const master = 'group1/M00/00/00/wKgAAWZxYz2AQ3bpAAAYHC7oVr0123.webp';
          await onMasterStored?.(master);
          return [
            { size: 256, fileId: master },
            { size: 128, fileId: master.replace('.webp', '_128.webp') },
          ];
        },
        deleteFiles: async () => undefined,
      },
    });
    const upload = await stagedUpload();
    await refuseFirstEvent('retrying');

    await context.queues.avatar.add(jobNames.processAvatar, { uploadId: upload.id }, { jobId: upload.id });
    const job = await jobInState(context, upload.id, 'completed');
    expect(job.attemptsMade).toBe(2);
    expect(job.data.lastFailure).toMatchObject({ attempt: 1, code: 'storage_unavailable', final: false });

    const events = await tdb.repos.events.listAfter(upload.id, 0, 100);
    expect(events.map((e) => e.type)).toEqual(['queued', 'processing', 'progress', 'retrying', 'processing', 'progress', 'stored', 'done']);
    // recorded by attempt 2 (no delay announced), with attempt 1's own code rather than one guessed from a message
    expect(events.find((e) => e.type === 'retrying')?.data).toEqual({
      attempt: 1,
      code: 'storage_unavailable',
      reason: 'FastDFS: connect ECONNREFUSED 127.0.0.1:23000',
      delayMs: 0,
    });
  });
});
