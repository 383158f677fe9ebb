import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastdfsError } from '@avatar/fastdfs';
import { createLogger } from '@avatar/shared';
import { StagingSweeper, buildWorkerContext } from '@avatar/worker';
import { postAvatar, postAvatarText, waitForTerminal } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { filesLeftIn } from './support/raw-http.js';
import { FastdfsStagingStore } from '../src/adapters/fastdfs-staging-store.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

const MAX_UPLOAD_BYTES = 256 * 1024;

let system: TestSystem;
beforeAll(async () => {
  // no worker at first: the staged original is looked at before it is processed
  system = await startTestSystem({ worker: false, stagingBackend: 'fastdfs', env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) } });
});
afterAll(async () => {
  await system?.close();
});

/** Every file the FastDFS dev server stores, relative to its data dir. */
async function storedFiles(): Promise<string[]> {
  const entries = await readdir(system.fastdfsDataDir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(system.fastdfsDataDir, path.join(e.parentPath, e.name)));
}

const stagedInFastdfs = async (): Promise<string[]> => (await storedFiles()).filter((name) => name.endsWith('.upload'));

async function intents(): Promise<string[]> {
  return system.db('staged_originals').pluck('file_id');
}

async function isStored(fileId: string): Promise<boolean> {
  return system.fastdfs.fileInfo(fileId).then(
    () => true,
    (error: unknown) => {
      if (error instanceof FastdfsError && error.notFound) return false;
      throw error;
    },
  );
}

/** A real 8×8 PNG whose IHDR claims `width`×`height`: a bomb the header probes must refuse. */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
  const forged = Buffer.from(png);
  forged.writeUInt32BE(width, 16);
  forged.writeUInt32BE(height, 20);
  return forged;
}

describe('staging in FastDFS (STAGING_BACKEND=fastdfs)', () => {
  it('records a FastDFS file id on the row, keeps no local copy, and removes the original once the upload is done', async () => {
    const token = system.token(1);
    const accepted = await postAvatar(system.url, 1, token, await solidJpeg(64, 64, { r: 9, g: 8, b: 7 }));
    expect(accepted.status).toBe(202);
    const uploadId = accepted.body.uploadId as string;

    const row = await system.repos.uploads.findById(uploadId);
    const ref = row?.stagedPath as string;
    expect(ref).toMatch(/^group\d+\/M\d\d\/.+\.upload$/);
    expect(await isStored(ref)).toBe(true);
    expect(await intents()).toEqual([]);
    expect(await filesLeftIn(system.stagingDir)).toEqual([]);

    await system.startWorker();
    try {
      const final = await waitForTerminal(system.url, uploadId, token);
      expect(final.status).toBe('done');
      expect(await isStored(ref)).toBe(false);
      expect(await stagedInFastdfs()).toEqual([]);
    } finally {
      await system.stopWorker();
    }
  });

  it('refuses a body over MAX_UPLOAD_BYTES mid-stream and leaves no file, locally or in FastDFS', async () => {
    const before = await storedFiles();
    const response = await postAvatarText(system.url, 1, system.token(1), Buffer.alloc(MAX_UPLOAD_BYTES + 64 * 1024, 1), { contentType: 'image/jpeg' });
    expect(response.status).toBe(413);
    expect(await storedFiles()).toEqual(before);
    expect(await filesLeftIn(system.stagingDir)).toEqual([]);
    expect(await intents()).toEqual([]);
  });

  it('refuses a decompression bomb at the door, before anything reaches FastDFS', async () => {
    const before = await storedFiles();
    const response = await postAvatarText(system.url, 1, system.token(1), await pngClaiming(100_000, 100_000), { contentType: 'image/png' });
    expect(response.status).toBe(422);
    expect(JSON.parse(response.text)).toMatchObject({ code: 'image_too_large' });
    expect(await storedFiles()).toEqual(before);
    expect(await filesLeftIn(system.stagingDir)).toEqual([]);
    expect(await intents()).toEqual([]);
  });

  it("sweeps an orphaned intent's file (a request that died before its row), and only releases an intent a live upload names", async () => {
    const orphan = await system.fastdfs.upload(Buffer.from('orphaned original'), { ext: 'upload' });
    const named = await system.fastdfs.upload(Buffer.from('original of a live upload'), { ext: 'upload' });
    const repository = system.repos.stagedOriginals;
    await repository.record(orphan);
    await repository.record(named);
    const longAgo = new Date(Date.now() - 3_600_000);
    await system.db('staged_originals').update({ created_at: longAgo });
    const journal = system.repos.journal;
    const live = await journal.accept({
      id: randomUUID(), userId: 2, idempotencyKey: null, declaredType: null, detectedType: 'image/png',
      sizeBytes: 25, sha256: 'x', width: 1, height: 1, stagedPath: named,
    });

    // the worker's own parts, as its runtime builds them from this config
    const logger = createLogger({ level: 'silent', name: 'test' });
    const worker = buildWorkerContext(system.config, logger, system.fastdfs);
    let removed: number;
    try {
      removed = await new StagingSweeper({ uploads: worker.repos.uploads, staged: worker.adapters.staged, workflow: worker.workflow, logger }, { graceMs: 600_000 }).sweep();
    } finally {
      await worker.close();
    }

    expect(removed).toBe(1);
    expect(await isStored(orphan)).toBe(false);
    expect(await isStored(named)).toBe(true);
    expect(await intents()).toEqual([]);
    await system.repos.uploads.delete(live.id);
    await system.fastdfs.delete(named);
  });

  it("answers an operator retry's `has` from FastDFS, and forgets the intent with the file", async () => {
    const staging = new FastdfsStagingStore({ tempDir: system.stagingDir, client: system.fastdfs, intents: system.repos.stagedOriginals, leftoverAgeMs: 600_000 });
    const fileId = await system.fastdfs.upload(Buffer.from('kept original'), { ext: 'upload' });
    await system.repos.stagedOriginals.record(fileId);

    expect(await staging.has(fileId)).toBe(true);
    await staging.remove(fileId);
    expect(await staging.has(fileId)).toBe(false);
    expect(await intents()).toEqual([]);
    // a row staged by the local backend before a switch names a path: not an original here
    expect(await staging.has(path.join(system.stagingDir, 'old.upload'))).toBe(false);
  });
});
