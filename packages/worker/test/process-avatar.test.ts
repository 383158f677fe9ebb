import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import type { WorkerAdapters, WorkerContext } from '../src/runtime/build-worker-context.js';
import type { RenderedVariant } from '../src/pipeline/render-avatar.js';
import { fakeVariants, scheduledDeletions, testWorkerContext } from './support/test-worker.js';
import { acceptUpload, ensureUsers, eventTypes, variantsFor } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let redis: TestRedis;
let stagingDir: string;
const contexts: WorkerContext[] = [];
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 5);
  redis = createTestRedis();
  stagingDir = await mkdtemp(path.join(tmpdir(), 'process-avatar-test-'));
});
afterAll(async () => {
  for (const context of contexts.splice(0)) await context.close();
  await redis?.cleanup();
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

/** A production-built worker on the real database, staging and cleanup queue; render and FastDFS are doubles that count their calls. */
function worker(wrapStore?: (files: WorkerAdapters['files']) => WorkerAdapters['files']) {
  const calls = { render: 0, store: 0, deleted: [] as string[] };
  let n = 0;
  const files: WorkerAdapters['files'] = {
    async storeSet(_variants, onMasterStored) {
      calls.store++;
      const master = `group1/M00/00/00/stored${++n}.webp`;
      await onMasterStored?.(master);
      return [
        { size: 256, fileId: master },
        { size: 128, fileId: master.replace('.webp', '_128.webp') },
      ];
    },
    async deleteFiles(fileIds) {
      calls.deleted.push(...fileIds);
    },
  };
  const context = testWorkerContext({
    database: tdb,
    redis,
    stagingDir,
    adapters: {
      renderer: {
        render: async (): Promise<RenderedVariant[]> => {
          calls.render++;
          return fakeVariants();
        },
      },
      files: wrapStore ? wrapStore(files) : files,
    },
  });
  contexts.push(context);
  return { context, workflow: context.workflow, calls };
}

async function stagedUpload(userId: number) {
  const stagedPath = path.join(stagingDir, `${userId}-${Date.now()}-${Math.random()}`);
  await writeFile(stagedPath, 'original');
  return acceptUpload(tdb.repos, userId, stagedPath);
}

describe('the workflow: each step is safe to repeat', () => {
  it('records the master file id as soon as it is stored, before the slaves', async () => {
    const upload = await stagedUpload(1);
    const masterRecordedBeforeSlaves: boolean[] = [];
    const { workflow, calls } = worker((files) => ({
      ...files,
      storeSet: (variants, onMasterStored) =>
        files.storeSet(variants, async (masterFileId) => {
          await onMasterStored?.(masterFileId);
          masterRecordedBeforeSlaves.push((await tdb.repos.uploads.findById(upload.id))?.masterFileId === masterFileId);
        }),
    }));
    expect(await workflow.process(upload.id, 1)).toBe('done');
    expect(masterRecordedBeforeSlaves).toEqual([true]);
    expect([calls.render, calls.store]).toEqual([1, 1]);
  });

  it('a retry after the files were stored reuses the recorded file ids: no render, no store', async () => {
    const { workflow, calls } = worker();
    const upload = await stagedUpload(2);
    const { journal } = tdb.repos;
    await journal.record(upload.id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
    const recorded = variantsFor('recorded');
    await journal.record(upload.id, { patch: { masterFileId: recorded[0]?.fileId, variants: recorded }, event: { type: 'stored', data: { fileId: recorded[0]?.fileId ?? '', variants: recorded } } });
    await journal.record(upload.id, { status: 'retrying', event: { type: 'retrying', data: { attempt: 1, code: 'service_unavailable', reason: 'db', delayMs: 1 } } });

    expect(await workflow.process(upload.id, 2)).toBe('done');
    expect([calls.render, calls.store]).toEqual([0, 0]);
    expect((await tdb.repos.userDetail.findAvatar(2))?.variants).toEqual(recorded);
  });

  it('a retry after the commit does nothing twice', async () => {
    const { context, workflow, calls } = worker();
    const upload = await stagedUpload(3);
    expect(await workflow.process(upload.id, 1)).toBe('done');
    const events = await eventTypes(tdb.repos, upload.id);
    const avatar = await tdb.repos.userDetail.findAvatar(3);
    const deletions = await scheduledDeletions(context);

    expect(await workflow.process(upload.id, 2)).toBe('skipped');
    expect([calls.render, calls.store]).toEqual([1, 1]);
    expect(await scheduledDeletions(context)).toEqual(deletions);
    expect(await eventTypes(tdb.repos, upload.id)).toEqual(events);
    expect(await tdb.repos.userDetail.findAvatar(3)).toEqual(avatar);
  });

  it('a retry after a set was stored only in part removes that set (slaves derived from the master) and stores afresh', async () => {
    const { workflow, calls } = worker();
    const upload = await stagedUpload(4);
    await tdb.repos.uploads.update(upload.id, { masterFileId: 'group1/M00/00/00/wKgAAWZxYz2AQ3bpAAAYHC7oVr0123.webp' });

    expect(await workflow.process(upload.id, 2)).toBe('done');
    expect(calls.deleted).toEqual(['group1/M00/00/00/wKgAAWZxYz2AQ3bpAAAYHC7oVr0123.webp', 'group1/M00/00/00/wKgAAWZxYz2AQ3bpAAAYHC7oVr0123_128.webp']);
    expect([calls.render, calls.store]).toEqual([1, 1]);
    expect((await tdb.repos.uploads.findById(upload.id))?.masterFileId).toBe('group1/M00/00/00/stored1.webp');
  });

  it('a late run of an upload failed for a system fault leaves its original for the operator; one failed for its input removes it', async () => {
    const { workflow } = worker();
    const kept = await stagedUpload(2);
    const dropped = await stagedUpload(2);
    await tdb.repos.journal.record(kept.id, { status: 'failed', patch: { errorCode: 'storage_unavailable' }, event: { type: 'failed', data: { code: 'storage_unavailable', message: 'away' } } });
    await tdb.repos.journal.record(dropped.id, { status: 'failed', patch: { errorCode: 'image_undecodable' }, event: { type: 'failed', data: { code: 'image_undecodable', message: 'bad' } } });

    expect(await workflow.process(kept.id, 2)).toBe('skipped');
    expect(await workflow.process(dropped.id, 2)).toBe('skipped');
    expect(await readFile(kept.stagedPath as string, 'utf8')).toBe('original');
    expect((await tdb.repos.uploads.findById(kept.id))?.stagedPath).toBe(kept.stagedPath);
    await expect(readFile(dropped.stagedPath as string)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await tdb.repos.uploads.findById(dropped.id))?.stagedPath).toBeNull();
  });

  it('an older upload processed after a newer one won is superseded without rendering', async () => {
    const { workflow, calls } = worker();
    const older = await stagedUpload(5);
    const newer = await stagedUpload(5);
    expect(await workflow.process(newer.id, 1)).toBe('done');
    expect(await workflow.process(older.id, 1)).toBe('superseded');
    expect([calls.render, calls.store]).toEqual([1, 1]);
    expect((await tdb.repos.userDetail.findAvatar(5))?.avatarUploadId).toBe(newer.id);
  });

  it('a newer upload that replaces the avatar deletes the replaced set itself and notes it, with no cleanup job', async () => {
    const { context, workflow, calls } = worker();
    const first = await stagedUpload(1);
    const second = await stagedUpload(1);
    expect(await workflow.process(first.id, 1)).toBe('done');
    const firstFiles = (await tdb.repos.uploads.findById(first.id))?.variants?.map((v) => v.fileId);
    calls.deleted.length = 0;
    expect(await workflow.process(second.id, 1)).toBe('done');

    expect(calls.deleted).toEqual(firstFiles);
    expect(await tdb.db('uploads').where({ id: first.id }).first('files_deleted_at')).toMatchObject({ files_deleted_at: expect.any(Date) });
    expect(await context.queues.cleanup.getJob(`delete-${first.id}`)).toBeUndefined();
  });

  it('a replaced set that storage cannot delete now is scheduled on the cleanup queue instead', async () => {
    const { context, workflow } = worker((files) => ({
      ...files,
      deleteFiles: async () => {
        throw new Error('no storage available');
      },
    }));
    const first = await stagedUpload(2);
    const second = await stagedUpload(2);
    expect(await workflow.process(first.id, 1)).toBe('done');
    const firstFiles = (await tdb.repos.uploads.findById(first.id))?.variants?.map((v) => v.fileId);
    expect(await workflow.process(second.id, 1)).toBe('done');

    const replaced = await context.queues.cleanup.getJob(`delete-${first.id}`);
    expect(replaced?.data).toEqual({ fileIds: firstFiles, uploadId: first.id, reason: `replaced by ${second.id}` });
    expect(await tdb.db('uploads').where({ id: first.id }).first('files_deleted_at')).toEqual({ files_deleted_at: null });
  });

  it('a finished upload forgets its staged original in the terminal write and the file is removed', async () => {
    const { workflow } = worker();
    const upload = await stagedUpload(3);
    expect(await workflow.process(upload.id, 1)).toBe('done');
    expect((await tdb.repos.uploads.findById(upload.id))?.stagedPath).toBeNull();
    await expect(readFile(upload.stagedPath as string)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
