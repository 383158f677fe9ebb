import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import type { WorkerAdapters, WorkerContext } from '../src/runtime/build-worker-context.js';
import type { RenderedVariant } from '../src/pipeline/render-avatar.js';
import { fakeVariants, testWorkerContext } from './support/test-worker.js';
import { acceptUpload, ensureUsers, eventTypes } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let redis: TestRedis;
let stagingDir: string;
const contexts: WorkerContext[] = [];
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 4);
  redis = createTestRedis();
  stagingDir = await mkdtemp(path.join(tmpdir(), 'early-render-test-'));
});
afterAll(async () => {
  for (const context of contexts.splice(0)) await context.close();
  await redis?.cleanup();
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * A production-built worker whose render double renders the bytes it is given into variants
 * named after them (so a stored set tells which original it came from), optionally waiting at
 * `beforeRender`; the store double records the set it was given.
 */
function worker(beforeRender?: () => Promise<void>) {
  const rendered: string[] = [];
  const storedFrom: string[] = [];
  let n = 0;
  const files: WorkerAdapters['files'] = {
    async storeSet(variants, onMasterStored) {
      storedFrom.push((variants[0]?.data.toString() ?? '').replace(/\d+$/, ''));
      const master = `group1/M00/00/00/early${++n}${Math.random().toString(36).slice(2, 8)}.webp`;
      await onMasterStored?.(master);
      return [
        { size: 256, fileId: master },
        { size: 128, fileId: master.replace('.webp', '_128.webp') },
      ];
    },
    async deleteFiles() {},
  };
  const renderer = {
    render: async (input: Buffer): Promise<RenderedVariant[]> => {
      rendered.push(input.toString());
      await beforeRender?.();
      return fakeVariants(input.toString());
    },
  };
  const context = testWorkerContext({ database: tdb, redis, stagingDir, adapters: { renderer, files } });
  contexts.push(context);
  return { workflow: context.workflow, rendered, storedFrom };
}

async function staged(content: string): Promise<string> {
  const stagedPath = path.join(stagingDir, `${content}-${Date.now()}-${Math.random()}`);
  await writeFile(stagedPath, content);
  return stagedPath;
}

const attempt = { attempt: 1, maxAttempts: 3 };

describe('a job that names its staged original: the render starts while the upload is claimed', () => {
  it('renders before the claim is written, once, and finishes the upload with that render', async () => {
    const rendering = gate();
    const { workflow, rendered } = worker(async () => rendering.open());
    const stagedPath = await staged('photo');
    const upload = await acceptUpload(tdb.repos, 1, stagedPath);

    // hold the row's lock: the claim waits for it, the render does not
    const run = await tdb.db.transaction(async (trx) => {
      await trx('uploads').where({ id: upload.id }).forUpdate().first();
      const result = workflow.runAttempt({ uploadId: upload.id, stagedPath, ...attempt });
      await rendering.opened;
      expect((await tdb.repos.uploads.findById(upload.id))?.status).toBe('queued');
      return { result };
    });

    expect(await run.result).toEqual({ kind: 'finished', outcome: 'done' });
    expect(rendered).toEqual(['photo']);
    expect(await eventTypes(tdb.repos, upload.id)).toEqual(['queued', 'processing', 'progress', 'stored', 'done']);
  });

  it('a job naming another original than the claimed row renders the row’s original', async () => {
    const { workflow, rendered, storedFrom } = worker();
    const stalePath = await staged('stale');
    const upload = await acceptUpload(tdb.repos, 2, await staged('current'));

    expect(await workflow.runAttempt({ uploadId: upload.id, stagedPath: stalePath, ...attempt })).toEqual({ kind: 'finished', outcome: 'done' });
    expect([...rendered].sort()).toEqual(['current', 'stale']);
    expect(storedFrom).toEqual(['current']);
  });

  it('an early render that fails is no failure when there is nothing to claim', async () => {
    const { workflow } = worker();
    const upload = await acceptUpload(tdb.repos, 3, await staged('done-already'));
    expect(await workflow.process(upload.id, 1)).toBe('done');

    const gone = path.join(stagingDir, 'never-staged');
    expect(await workflow.runAttempt({ uploadId: upload.id, stagedPath: gone, ...attempt })).toEqual({ kind: 'finished', outcome: 'skipped' });
    expect((await tdb.repos.uploads.findById(upload.id))?.status).toBe('done');
  });

  it('the original’s render failing fails the upload as it did before the claim moved', async () => {
    const { workflow } = worker();
    const upload = await acceptUpload(tdb.repos, 3, path.join(stagingDir, 'missing-original'));

    const result = await workflow.runAttempt({ uploadId: upload.id, stagedPath: upload.stagedPath ?? undefined, attempt: 3, maxAttempts: 3 });
    expect(result).toMatchObject({ kind: 'failed', failure: { code: 'staged_file_missing' }, final: true });
    expect((await tdb.repos.uploads.findById(upload.id))?.status).toBe('failed');
  });

  it('an upload a newer avatar already replaced ends superseded, its original removed', async () => {
    const { workflow, rendered } = worker();
    const olderPath = await staged('older');
    const older = await acceptUpload(tdb.repos, 4, olderPath);
    const newer = await acceptUpload(tdb.repos, 4, await staged('newer'));
    expect(await workflow.process(newer.id, 1)).toBe('done');

    expect(await workflow.runAttempt({ uploadId: older.id, stagedPath: olderPath, ...attempt })).toEqual({ kind: 'finished', outcome: 'superseded' });
    await expect(access(olderPath)).rejects.toMatchObject({ code: 'ENOENT' });
    // rendered early and dropped: the price of not waiting for the claim
    expect(rendered).toEqual(['newer', 'older']);
    expect((await tdb.repos.userDetail.findAvatar(4))?.avatarUploadId).toBe(newer.id);
  });
});
