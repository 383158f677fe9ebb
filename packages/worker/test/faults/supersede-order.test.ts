import { afterEach, expect, it } from 'vitest';
import { FastdfsClient } from '@avatar/fastdfs';
import { createLogger, jobNames, loadConfig } from '@avatar/shared';
import { AvatarFileStore } from '../../src/adapters/avatar-file-store.js';
import { buildWorkerContext } from '../../src/runtime/build-worker-context.js';
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

  // A's job is held back: it runs here, in a worker built by the production factory from the
  // system's settings, whose FastDFS store pauses once A's files are stored
  const config = loadConfig(s.env);
  const fastdfs = new FastdfsClient({ trackers: config.fastdfs.trackers.join(',') });
  const realFiles = new AvatarFileStore(fastdfs, config.fastdfs.group);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let storedA: string[] = [];
  const held = buildWorkerContext(config, createLogger({ level: 'silent', name: 'held-worker' }), fastdfs, {
    adapters: {
      files: {
        storeSet: async (variants, onMasterStored) => {
          const stored = await realFiles.storeSet(variants, onMasterStored);
          storedA = stored.map((v) => v.fileId);
          await released;
          return stored;
        },
        deleteFiles: (ids) => realFiles.deleteFiles(ids),
      },
    },
  });
  closers.push(() => held.close(), () => fastdfs.close());
  await held.queues.avatar.remove(a.uploadId);

  const runningA = held.workflow.runAttempt({ uploadId: a.uploadId, attempt: 1, maxAttempts: config.worker.attempts });
  await waitFor("A's files to be stored", 30_000, async () => storedA.length > 0);
  const urlsA = storedA.map((id) => `${config.fastdfs.publicUrl}${id}`);
  expect(await Promise.all(urlsA.map(status))).toEqual(urlsA.map(() => 200));

  // B is processed by a real worker process and finishes first
  await s.startWorker();
  await waitFor('B to be done', 60_000, async () => (await s.repos.uploads.findById(b.uploadId))?.status === 'done');
  release();
  expect(await runningA).toEqual({ kind: 'finished', outcome: 'superseded' });

  // A's job comes back (as the outbox would enqueue it): it must change nothing
  await held.queues.avatar.add(jobNames.processAvatar, { uploadId: a.uploadId }, { jobId: a.uploadId });
  await waitFor("A's late job to complete", 30_000, async () => (await (await held.queues.avatar.getJob(a.uploadId))?.getState()) === 'completed');

  const detail = await s.db('user_detail').where({ user_id: 1 }).first();
  const uploadA = await s.repos.uploads.findById(a.uploadId);
  const uploadB = await s.repos.uploads.findById(b.uploadId);
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
