import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UploadsRepository, UserDetailRepository, createLogger, type DeleteFilesJob, type ProcessAvatarJob } from '@avatar/shared';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import { AvatarFileStore } from '../src/adapters/avatar-file-store.js';
import { StagedOriginals } from '../src/adapters/staged-originals.js';
import { processAvatar, type ProcessAvatarDeps } from '../src/domain/process-avatar.js';
import { createProcessAvatarHandler } from '../src/jobs/process-avatar-job.js';
import type { RenderedVariant } from '../src/pipeline/render-avatar.js';
import { acceptUpload, ensureUsers, eventTypes, tables } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let stagingDir: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.db, 3);
  stagingDir = await mkdtemp(path.join(tmpdir(), 'claim-test-'));
});
afterAll(async () => {
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
  /** A master id as FastDFS names them (27 base64 characters at least), tagged with the run. */
  nextMaster(run: string): string {
    return `group1/M00/00/00/${`${run}${++this.n}`.padEnd(27, 'A')}.webp`;
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
 * One run's doubles: render and a FastDFS store that keeps AvatarFileStore's contract (the
 * master is removed when onMasterStored throws), over storage shared with the other run.
 */
function runDeps(storage: FakeStorage, run: string, hooks: RunHooks = {}) {
  const stored: string[] = [];
  const scheduled: DeleteFilesJob[] = [];
  const deps: ProcessAvatarDeps = {
    db: tdb.db,
    tables,
    sizes: [256, 128],
    staged: new StagedOriginals(stagingDir),
    logger: createLogger({ level: 'silent', name: run }),
    publicUrl: 'http://files.invalid/',
    render: async (): Promise<RenderedVariant[]> => {
      await hooks.beforeRender?.();
      return [256, 128].map((size) => ({ size, ext: 'webp', data: Buffer.from(`${run}${size}`) }) as RenderedVariant);
    },
    files: {
      async storeSet(_variants, onMasterStored) {
        const master = storage.nextMaster(run);
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
    scheduleDeletion: async (job) => {
      scheduled.push(job);
    },
  };
  return { deps, stored, scheduled };
}

async function stagedUpload(userId: number) {
  const stagedPath = path.join(stagingDir, `${userId}-${Date.now()}-${Math.random()}`);
  await writeFile(stagedPath, 'original');
  return acceptUpload(tdb.db, userId, stagedPath);
}

describe('two runs of one job: the run that claimed the upload last owns it', () => {
  it('a run that lost its claim after recording its master neither records nor commits, and deletes only its own files', async () => {
    const storage = new FakeStorage();
    const paused = pausePoint();
    const a = runDeps(storage, 'a', {
      afterMaster: paused.hook,
    });
    const b = runDeps(storage, 'b');
    const upload = await stagedUpload(1);

    // A stores and records its master, then stalls (its BullMQ lock lapses)
    const runA = processAvatar(a.deps, upload.id, 1);
    await paused.reached;
    const [masterA] = a.stored;
    expect((await new UploadsRepository(tdb.db).findById(upload.id))?.masterFileId).toBe(masterA);

    // B takes the job over: it drops A's partial set and finishes the upload
    expect(await processAvatar(b.deps, upload.id, 1)).toBe('done');
    expect(storage.existing.has(masterA as string)).toBe(false);

    // A wakes up: it must stop without touching the row and remove what it stored since
    paused.release();
    expect(await runA).toBe('skipped');

    expect(a.stored).toHaveLength(2);
    expect(a.stored.filter((id) => storage.existing.has(id))).toEqual([]);
    expect(b.stored.every((id) => storage.existing.has(id))).toBe(true);
    expect(a.scheduled).toEqual([]);

    const row = await new UploadsRepository(tdb.db).findById(upload.id);
    expect(row?.status).toBe('done');
    expect(row?.variants?.map((v) => v.fileId)).toEqual(b.stored);
    const avatar = await new UserDetailRepository(tdb.db, tables).findAvatar(1);
    expect(avatar?.avatarUploadId).toBe(upload.id);
    expect(avatar?.variants.map((v) => v.fileId)).toEqual(b.stored);
    expect(avatar?.variants.every((v) => storage.existing.has(v.fileId))).toBe(true);
    expect(await eventTypes(tdb.db, upload.id)).toEqual(['queued', 'processing', 'progress', 'processing', 'progress', 'stored', 'done']);
  });

  it('a run that lost its claim records nothing even while the other run is still storing', async () => {
    const storage = new FakeStorage();
    const aPaused = pausePoint();
    const a = runDeps(storage, 'a', {
      afterMaster: aPaused.hook,
    });
    const bPaused = pausePoint();
    const b = runDeps(storage, 'b', {
      afterMaster: bPaused.hook,
    });
    const upload = await stagedUpload(1);

    const runA = processAvatar(a.deps, upload.id, 1);
    await aPaused.reached;
    // B claims, drops A's partial set, records its own master and stalls in turn
    const runB = processAvatar(b.deps, upload.id, 1);
    await bPaused.reached;
    const [masterB] = b.stored;

    // the upload is live (processing) here: only the claim keeps A from recording and committing
    aPaused.release();
    expect(await runA).toBe('skipped');
    const row = await new UploadsRepository(tdb.db).findById(upload.id);
    expect([row?.status, row?.masterFileId, row?.variants]).toEqual(['processing', masterB, null]);
    expect(a.stored.filter((id) => storage.existing.has(id))).toEqual([]);

    bPaused.release();
    expect(await runB).toBe('done');
    const avatar = await new UserDetailRepository(tdb.db, tables).findAvatar(1);
    expect(avatar?.avatarUploadId).toBe(upload.id);
    expect(avatar?.variants.map((v) => v.fileId)).toEqual(b.stored);
    expect(b.stored.every((id) => storage.existing.has(id))).toBe(true);
  });

  it('a run that lost its claim before storing stores nothing and leaves the staged original to the other run', async () => {
    const storage = new FakeStorage();
    const rendering = pausePoint();
    const a = runDeps(storage, 'a', {
      beforeRender: rendering.hook,
    });
    const upload = await stagedUpload(2);
    const runA = processAvatar(a.deps, upload.id, 1);
    await rendering.reached;

    // B claims the upload and is still at work when A wakes up
    const bRendering = pausePoint();
    const b = runDeps(storage, 'b', {
      beforeRender: bRendering.hook,
    });
    const runB = processAvatar(b.deps, upload.id, 1);
    await bRendering.reached;
    rendering.release();
    expect(await runA).toBe('skipped');
    expect(a.stored).toEqual([]);
    expect((await new UploadsRepository(tdb.db).findById(upload.id))?.stagedPath).toBe(upload.stagedPath);

    bRendering.release();
    expect(await runB).toBe('done');
    expect((await new UserDetailRepository(tdb.db, tables).findAvatar(2))?.variants.map((v) => v.fileId)).toEqual(b.stored);
  });

  it("a run that fails after losing its claim records no retry on the other run's upload", async () => {
    const storage = new FakeStorage();
    const paused = pausePoint();
    const a = runDeps(storage, 'a', {
      afterMaster: paused.hook,
      slaveError: new Error('slave upload failed'),
    });
    const upload = await stagedUpload(3);
    const job = { data: { uploadId: upload.id }, attemptsMade: 0, opts: { attempts: 3 }, failedReason: undefined } as unknown as Job<ProcessAvatarJob>;
    const handleA = createProcessAvatarHandler({ ...a.deps, backoffMs: 1 });
    const runA = handleA(job);
    await paused.reached;

    // B claims the upload and holds it (rendering) while A fails
    const bRendering = pausePoint();
    const b = runDeps(storage, 'b', {
      beforeRender: bRendering.hook,
    });
    const runB = processAvatar(b.deps, upload.id, 1);
    await bRendering.reached;
    paused.release();
    await expect(runA).rejects.toThrow('slave upload failed');
    expect((await new UploadsRepository(tdb.db).findById(upload.id))?.status).toBe('processing');

    bRendering.release();
    expect(await runB).toBe('done');
    expect(await eventTypes(tdb.db, upload.id)).toEqual(['queued', 'processing', 'progress', 'processing', 'progress', 'stored', 'done']);
    expect(b.stored.every((id) => storage.existing.has(id))).toBe(true);
  });
});
