import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import { AvatarFileStore } from '../src/adapters/avatar-file-store.js';
import type { WorkerContext } from '../src/runtime/build-worker-context.js';
import type { RenderedVariant } from '../src/pipeline/render-avatar.js';
import { fakeVariants, scheduledDeletions, testWorkerContext } from './support/test-worker.js';
import { acceptUpload, ensureUsers, eventTypes } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let redis: TestRedis;
let stagingDir: string;
const contexts: WorkerContext[] = [];
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 3);
  redis = createTestRedis();
  stagingDir = await mkdtemp(path.join(tmpdir(), 'claim-test-'));
});
afterAll(async () => {
  for (const context of contexts.splice(0)) await context.close();
  await redis?.cleanup();
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

/** A promise a test opens by hand. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** A place where a run stops: `reached` resolves when it gets there; it goes on after `release()`. */
function pausePoint(): { reached: Promise<void>; release: () => void; hook: () => Promise<void> } {
  const arrived = gate();
  const released = gate();
  return {
    reached: arrived.opened,
    release: released.open,
    hook: async () => {
      arrived.open();
      await released.opened;
    },
  };
}

/** The storage both runs share: which file ids exist right now. */
class FakeStorage {
  readonly existing = new Set<string>();
  private n = 0;
  private static count = 0;
  /** Unique per storage: a replaced avatar (an earlier test's set) is deleted inline and must not name this test's files. */
  private readonly tag = `s${(FakeStorage.count++).toString(36)}`;
  /** A master id as FastDFS names them (27 base64 characters at least), tagged with the run. */
  nextMaster(run: string): string {
    return `group1/M00/00/00/${`${this.tag}${run}${++this.n}`.padEnd(27, 'A')}.webp`;
  }
}

interface RunHooks {
  /** after the master is stored and onMasterStored returned, before any slave */
  afterMaster?: () => Promise<void>;
  /** before rendering (the run has claimed the upload by then) */
  beforeRender?: () => Promise<void>;
  /** thrown instead of storing the slaves */
  slaveError?: Error;
}

/**
 * One run: a worker built as production builds it (its own database pool and queues, like a
 * second worker process), with a render double and a FastDFS store double that keeps
 * AvatarFileStore's contract (the master is removed when onMasterStored throws), over storage
 * shared with the other run.
 */
function run(storage: FakeStorage, name: string, hooks: RunHooks = {}) {
  const stored: string[] = [];
  const context = testWorkerContext({
    database: tdb,
    redis,
    stagingDir,
    adapters: {
      renderer: {
        render: async (): Promise<RenderedVariant[]> => {
          await hooks.beforeRender?.();
          return fakeVariants(name);
        },
      },
      files: {
        async storeSet(_variants, onMasterStored) {
          const master = storage.nextMaster(name);
          storage.existing.add(master);
          stored.push(master);
          try {
            await onMasterStored?.(master);
          } catch (error) {
            storage.existing.delete(master);
            throw error;
          }
          await hooks.afterMaster?.();
          if (hooks.slaveError) {
            storage.existing.delete(master);
            throw hooks.slaveError;
          }
          const slave = AvatarFileStore.setFileIds(master, [256, 128])[1] as string;
          storage.existing.add(slave);
          stored.push(slave);
          return [
            { size: 256, fileId: master },
            { size: 128, fileId: slave },
          ];
        },
        async deleteFiles(fileIds) {
          for (const id of fileIds) storage.existing.delete(id);
        },
      },
    },
  });
  contexts.push(context);
  return { context, workflow: context.workflow, stored };
}

async function stagedUpload(userId: number) {
  const stagedPath = path.join(stagingDir, `${userId}-${Date.now()}-${Math.random()}`);
  await writeFile(stagedPath, 'original');
  return acceptUpload(tdb.repos, userId, stagedPath);
}

describe('two runs of one job: the run that claimed the upload last owns it', () => {
  it('a run that lost its claim after recording its master neither records nor commits, and deletes only its own files', async () => {
    const storage = new FakeStorage();
    const paused = pausePoint();
    const a = run(storage, 'a', {
      afterMaster: paused.hook,
    });
    const b = run(storage, 'b');
    const upload = await stagedUpload(1);

    // A stores and records its master, then stalls (its BullMQ lock lapses)
    const runA = a.workflow.process(upload.id, 1);
    await paused.reached;
    const [masterA] = a.stored;
    expect((await tdb.repos.uploads.findById(upload.id))?.masterFileId).toBe(masterA);

    // B takes the job over: it drops A's partial set and finishes the upload
    expect(await b.workflow.process(upload.id, 1)).toBe('done');
    expect(storage.existing.has(masterA as string)).toBe(false);

    // A wakes up: it must stop without touching the row and remove what it stored since
    paused.release();
    expect(await runA).toBe('skipped');

    expect(a.stored).toHaveLength(2);
    expect(a.stored.filter((id) => storage.existing.has(id))).toEqual([]);
    expect(b.stored.every((id) => storage.existing.has(id))).toBe(true);
    // nor scheduled any of them for later: it deleted them itself
    expect((await scheduledDeletions(a.context)).flatMap((d) => d.fileIds).filter((id) => a.stored.includes(id))).toEqual([]);

    const row = await tdb.repos.uploads.findById(upload.id);
    expect(row?.status).toBe('done');
    expect(row?.variants?.map((v) => v.fileId)).toEqual(b.stored);
    const avatar = await tdb.repos.userDetail.findAvatar(1);
    expect(avatar?.avatarUploadId).toBe(upload.id);
    expect(avatar?.variants.map((v) => v.fileId)).toEqual(b.stored);
    expect(avatar?.variants.every((v) => storage.existing.has(v.fileId))).toBe(true);
    expect(await eventTypes(tdb.repos, upload.id)).toEqual(['queued', 'processing', 'progress', 'processing', 'progress', 'stored', 'done']);
  });

  it('a run that lost its claim records nothing even while the other run is still storing', async () => {
    const storage = new FakeStorage();
    const aPaused = pausePoint();
    const a = run(storage, 'a', {
      afterMaster: aPaused.hook,
    });
    const bPaused = pausePoint();
    const b = run(storage, 'b', {
      afterMaster: bPaused.hook,
    });
    const upload = await stagedUpload(1);

    const runA = a.workflow.process(upload.id, 1);
    await aPaused.reached;
    // B claims, drops A's partial set, records its own master and stalls in turn
    const runB = b.workflow.process(upload.id, 1);
    await bPaused.reached;
    const [masterB] = b.stored;

    // the upload is live (processing) here: only the claim keeps A from recording and committing
    aPaused.release();
    expect(await runA).toBe('skipped');
    const row = await tdb.repos.uploads.findById(upload.id);
    expect([row?.status, row?.masterFileId, row?.variants]).toEqual(['processing', masterB, null]);
    expect(a.stored.filter((id) => storage.existing.has(id))).toEqual([]);

    bPaused.release();
    expect(await runB).toBe('done');
    const avatar = await tdb.repos.userDetail.findAvatar(1);
    expect(avatar?.avatarUploadId).toBe(upload.id);
    expect(avatar?.variants.map((v) => v.fileId)).toEqual(b.stored);
    expect(b.stored.every((id) => storage.existing.has(id))).toBe(true);
  });

  it('a run that lost its claim before storing leaves nothing stored and the staged original to the other run', async () => {
    const storage = new FakeStorage();
    const rendering = pausePoint();
    const a = run(storage, 'a', {
      beforeRender: rendering.hook,
    });
    const upload = await stagedUpload(2);
    const runA = a.workflow.process(upload.id, 1);
    await rendering.reached;

    // B claims the upload and is still at work when A wakes up
    const bRendering = pausePoint();
    const b = run(storage, 'b', {
      beforeRender: bRendering.hook,
    });
    const runB = b.workflow.process(upload.id, 1);
    await bRendering.reached;
    rendering.release();
    expect(await runA).toBe('skipped');
    // its master went out before its progress record (which names the master) was refused, and was removed
    expect(a.stored.filter((id) => storage.existing.has(id))).toEqual([]);
    expect(a.stored.length).toBeLessThanOrEqual(1);
    expect((await tdb.repos.uploads.findById(upload.id))?.stagedPath).toBe(upload.stagedPath);

    bRendering.release();
    expect(await runB).toBe('done');
    expect((await tdb.repos.userDetail.findAvatar(2))?.variants.map((v) => v.fileId)).toEqual(b.stored);
  });

  it("a run that fails after losing its claim records no retry on the other run's upload", async () => {
    const storage = new FakeStorage();
    const paused = pausePoint();
    const a = run(storage, 'a', {
      afterMaster: paused.hook,
      slaveError: new Error('slave upload failed'),
    });
    const upload = await stagedUpload(3);
    const runA = a.workflow.runAttempt({ uploadId: upload.id, attempt: 1, maxAttempts: 3 });
    await paused.reached;

    // B claims the upload and holds it (rendering) while A fails
    const bRendering = pausePoint();
    const b = run(storage, 'b', {
      beforeRender: bRendering.hook,
    });
    const runB = b.workflow.process(upload.id, 1);
    await bRendering.reached;
    paused.release();
    // A's failure is a retry (not its last attempt), but not one it may record: B holds the upload
    expect(await runA).toMatchObject({ kind: 'failed', final: false, failure: { retry: true, code: 'internal_error', message: 'slave upload failed' } });
    expect((await tdb.repos.uploads.findById(upload.id))?.status).toBe('processing');

    bRendering.release();
    expect(await runB).toBe('done');
    expect(await eventTypes(tdb.repos, upload.id)).toEqual(['queued', 'processing', 'progress', 'processing', 'progress', 'stored', 'done']);
    expect(b.stored.every((id) => storage.existing.has(id))).toBe(true);
  });
});
