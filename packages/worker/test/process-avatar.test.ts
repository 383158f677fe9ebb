import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UploadJournal, UploadsRepository, UserDetailRepository, createLogger, type DeleteFilesJob } from '@avatar/shared';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import { StagedOriginals } from '../src/adapters/staged-originals.js';
import { processAvatar, type ProcessAvatarDeps } from '../src/domain/process-avatar.js';
import type { RenderedVariant } from '../src/pipeline/render-avatar.js';
import { acceptUpload, ensureUsers, eventTypes, tables, variantsFor } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let stagingDir: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.db, 5);
  stagingDir = await mkdtemp(path.join(tmpdir(), 'process-avatar-test-'));
});
afterAll(async () => {
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

/** Real database and staging; render and FastDFS are doubles that count their calls. */
function doubles() {
  const calls = { render: 0, store: 0, deleted: [] as string[], scheduled: [] as DeleteFilesJob[], masterRecordedBeforeSlaves: [] as boolean[] };
  let n = 0;
  const deps: ProcessAvatarDeps = {
    db: tdb.db,
    tables,
    sizes: [256, 128],
    staged: new StagedOriginals(stagingDir),
    logger: createLogger({ level: 'silent', name: 'test' }),
    publicUrl: 'http://files.invalid/',
    render: async (): Promise<RenderedVariant[]> => {
      calls.render++;
      return [256, 128].map((size) => ({ size, ext: 'webp', data: Buffer.from(`img${size}`) }) as RenderedVariant);
    },
    files: {
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
    },
    scheduleDeletion: async (job) => {
      calls.scheduled.push(job);
    },
  };
  return { deps, calls };
}

async function stagedUpload(userId: number) {
  const stagedPath = path.join(stagingDir, `${userId}-${Date.now()}-${Math.random()}`);
  await writeFile(stagedPath, 'original');
  return acceptUpload(tdb.db, userId, stagedPath);
}

describe('processAvatar: each step is safe to repeat', () => {
  it('records the master file id as soon as it is stored, before the slaves', async () => {
    const { deps, calls } = doubles();
    const upload = await stagedUpload(1);
    const files = deps.files;
    deps.files = {
      ...files,
      storeSet: (variants, onMasterStored) =>
        files.storeSet(variants, async (masterFileId) => {
          await onMasterStored?.(masterFileId);
          calls.masterRecordedBeforeSlaves.push((await new UploadsRepository(tdb.db).findById(upload.id))?.masterFileId === masterFileId);
        }),
    };
    expect(await processAvatar(deps, upload.id, 1)).toBe('done');
    expect(calls.masterRecordedBeforeSlaves).toEqual([true]);
    expect([calls.render, calls.store]).toEqual([1, 1]);
  });

  it('a retry after the files were stored reuses the recorded file ids: no render, no store', async () => {
    const { deps, calls } = doubles();
    const upload = await stagedUpload(2);
    const journal = new UploadJournal(tdb.db);
    await journal.record(upload.id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
    const recorded = variantsFor('recorded');
    await journal.record(upload.id, { patch: { masterFileId: recorded[0]?.fileId, variants: recorded }, event: { type: 'stored', data: { fileId: recorded[0]?.fileId ?? '', variants: recorded } } });
    await journal.record(upload.id, { status: 'retrying', event: { type: 'retrying', data: { attempt: 1, code: 'service_unavailable', reason: 'db', delayMs: 1 } } });

    expect(await processAvatar(deps, upload.id, 2)).toBe('done');
    expect([calls.render, calls.store]).toEqual([0, 0]);
    expect((await new UserDetailRepository(tdb.db, tables).findAvatar(2))?.variants).toEqual(recorded);
  });

  it('a retry after the commit does nothing twice', async () => {
    const { deps, calls } = doubles();
    const upload = await stagedUpload(3);
    expect(await processAvatar(deps, upload.id, 1)).toBe('done');
    const events = await eventTypes(tdb.db, upload.id);
    const detail = await tdb.db('user_detail').where({ user_id: 3 }).first();

    expect(await processAvatar(deps, upload.id, 2)).toBe('skipped');
    expect([calls.render, calls.store]).toEqual([1, 1]);
    expect(calls.scheduled).toEqual([]);
    expect(await eventTypes(tdb.db, upload.id)).toEqual(events);
    expect(await tdb.db('user_detail').where({ user_id: 3 }).first()).toEqual(detail);
  });

  it('a retry after a set was stored only in part removes that set (slaves derived from the master) and stores afresh', async () => {
    const { deps, calls } = doubles();
    const upload = await stagedUpload(4);
    await new UploadsRepository(tdb.db).update(upload.id, { masterFileId: 'group1/M00/00/00/wKgAAWZxYz2AQ3bpAAAYHC7oVr0123.webp' });

    expect(await processAvatar(deps, upload.id, 2)).toBe('done');
    expect(calls.deleted).toEqual(['group1/M00/00/00/wKgAAWZxYz2AQ3bpAAAYHC7oVr0123.webp', 'group1/M00/00/00/wKgAAWZxYz2AQ3bpAAAYHC7oVr0123_128.webp']);
    expect([calls.render, calls.store]).toEqual([1, 1]);
    expect((await new UploadsRepository(tdb.db).findById(upload.id))?.masterFileId).toBe('group1/M00/00/00/stored1.webp');
  });

  it('an older upload processed after a newer one won is superseded without rendering', async () => {
    const { deps, calls } = doubles();
    const older = await stagedUpload(5);
    const newer = await stagedUpload(5);
    expect(await processAvatar(deps, newer.id, 1)).toBe('done');
    expect(await processAvatar(deps, older.id, 1)).toBe('superseded');
    expect([calls.render, calls.store]).toEqual([1, 1]);
    expect((await new UserDetailRepository(tdb.db, tables).findAvatar(5))?.avatarUploadId).toBe(newer.id);
  });
});
