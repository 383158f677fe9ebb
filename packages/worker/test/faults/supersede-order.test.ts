import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { FastdfsClient } from '@avatar/fastdfs';
import { AVATAR_QUEUE, UploadsRepository, createCleanupQueue, createDb, createLogger, jobNames, loadConfig, type DeleteFilesJob } from '@avatar/shared';
import { AvatarFileStore } from '../../src/adapters/avatar-file-store.js';
import { StagedOriginals } from '../../src/adapters/staged-originals.js';
import { processAvatar, type ProcessAvatarDeps } from '../../src/domain/process-avatar.js';
import { renderAvatar } from '../../src/pipeline/render-avatar.js';
import { createFaultSystem, type FaultSystem } from './support/fault-system.js';
import { waitFor } from './support/processes.js';
import { UploadLedger, printFigures, sendUpload, smallJpegs } from './support/uploads.js';

let system: FaultSystem | undefined;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await system?.cleanup();
  system = undefined;
});

async function status(url: string): Promise<number> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  await response.arrayBuffer();
  return response.status;
}

it('two uploads of one user, the first forced to finish last: the second one stays the avatar, the first is superseded and its files deleted', async () => {
  system = await createFaultSystem({ users: 1 });
  const s = system;
  await s.startStorage();
  await s.startApi();
  const [imageA, imageB] = await smallJpegs(2);
  const ledger = new UploadLedger();
  const a = ledger.record(1, await sendUpload(s.apiUrl, 1, s.token(1), imageA as Buffer));
  const b = ledger.record(1, await sendUpload(s.apiUrl, 1, s.token(1), imageB as Buffer));
  if (a.kind !== 'accepted' || b.kind !== 'accepted') throw new Error(`uploads not accepted: ${JSON.stringify([a, b])}`);

  // A's job is held back: it runs here, with the real parts, paused after its files are stored
  const connection = new Redis(s.redisUrl, { maxRetriesPerRequest: null });
  const avatarQueue = new Queue(AVATAR_QUEUE, { connection, prefix: s.redisPrefix });
  const cleanupQueue = createCleanupQueue(connection, s.redisPrefix);
  const config = loadConfig(s.env);
  const db = createDb({ databaseUrl: config.databaseUrl, poolMax: 4 });
  const fastdfs = new FastdfsClient({ trackers: config.fastdfs.trackers.join(',') });
  closers.push(() => avatarQueue.close(), () => cleanupQueue.close(), async () => connection.disconnect(), () => db.destroy(), () => fastdfs.close());
  await avatarQueue.remove(a.uploadId);

  const realFiles = new AvatarFileStore(fastdfs);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let storedA: string[] = [];
  const deps: ProcessAvatarDeps = {
    db,
    tables: config.tables,
    sizes: config.avatar.sizes,
    files: {
      storeSet: async (variants, onMasterStored) => {
        const stored = await realFiles.storeSet(variants, onMasterStored);
        storedA = stored.map((v) => v.fileId);
        await released;
        return stored;
      },
      deleteFiles: (ids) => realFiles.deleteFiles(ids),
    },
    staged: new StagedOriginals(config.stagingDir),
    render: (input) => renderAvatar(input, { sizes: config.avatar.sizes, format: config.avatar.format, maxInputPixels: config.limits.maxInputPixels }),
    scheduleDeletion: async (job: DeleteFilesJob) => {
      await cleanupQueue.add(jobNames.deleteFiles, job, job.uploadId ? { jobId: `delete-${job.uploadId}` } : {});
    },
    publicUrl: config.fastdfs.publicUrl,
    logger: createLogger({ level: 'silent', name: 'test' }),
  };
  const runningA = processAvatar(deps, a.uploadId, 1);
  await waitFor("A's files to be stored", 30_000, async () => storedA.length > 0);
  const urlsA = storedA.map((id) => `${config.fastdfs.publicUrl}${id}`);
  expect(await Promise.all(urlsA.map(status))).toEqual(urlsA.map(() => 200));

  // B is processed by a real worker process and finishes first
  await s.startWorker();
  await waitFor('B to be done', 60_000, async () => (await new UploadsRepository(s.db).findById(b.uploadId))?.status === 'done');
  release();
  expect(await runningA).toBe('superseded');

  // A's job comes back (as the outbox would enqueue it): it must change nothing
  await avatarQueue.add(jobNames.processAvatar, { uploadId: a.uploadId }, { jobId: a.uploadId });
  await waitFor("A's late job to complete", 30_000, async () => (await (await avatarQueue.getJob(a.uploadId))?.getState()) === 'completed');

  const detail = await s.db('user_detail').where({ user_id: 1 }).first();
  const uploadA = await new UploadsRepository(s.db).findById(a.uploadId);
  const uploadB = await new UploadsRepository(s.db).findById(b.uploadId);
  expect(detail.avatar_upload_id).toBe(b.uploadId);
  expect(detail.avatar).toBe(uploadB?.variants?.[0]?.url);
  expect(uploadA?.status).toBe('superseded');
  expect(await status(detail.avatar as string)).toBe(200);
  const gone = await waitFor("A's files to be deleted from FastDFS", 30_000, async () => {
    const codes = await Promise.all(urlsA.map(status));
    return codes.every((c) => c === 404) ? codes : undefined;
  });
  expect(gone).toEqual(urlsA.map(() => 404));

  printFigures('supersede order (A forced last)', await ledger.figures(s.db), `avatar = B, A superseded, A's ${urlsA.length} files 404`);
}, 180_000);
