import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, UploadsRepository, createLogger, type ProcessAvatarJob } from '@avatar/shared';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import { StagedOriginals } from '../src/adapters/staged-originals.js';
import { classifyFailure } from '../src/domain/classify-failure.js';
import { createProcessAvatarHandler } from '../src/jobs/process-avatar-job.js';
import { renderAvatar } from '../src/pipeline/render-avatar.js';
import { sharpFailureKind } from '../src/pipeline/sharp-errors.js';
import { acceptUpload, ensureUsers, eventTypes, tables } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let stagingDir: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.db, 1);
  stagingDir = await mkdtemp(path.join(tmpdir(), 'render-timeout-test-'));
});
afterAll(async () => {
  await tdb?.drop();
  await rm(stagingDir, { recursive: true, force: true });
});

/**
 * An input that takes libvips well over a second: a flat progressive JPEG (mozjpeg writes
 * every scan with Ah = Al = 0, so a repeat is valid and decodes without a warning) whose last
 * scan is repeated. Each scan re-walks every coefficient; 8,000 of them on 16 MP take ~3.5 s
 * here, four times the 1 s timeout, so a faster machine still times out. The API refuses such
 * a file by its scan count; the worker must still end it.
 */
async function slowJpeg(): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#808080' } }).jpeg({ progressive: true, mozjpeg: true }).toBuffer();
  const sos = jpeg.lastIndexOf(Buffer.from([0xff, 0xda]));
  const dht = jpeg.lastIndexOf(Buffer.from([0xff, 0xc4]), sos);
  const eoi = jpeg.length - 2;
  const scan = jpeg.subarray(dht, eoi);
  return Buffer.concat([jpeg.subarray(0, eoi), ...Array.from({ length: 8_000 }, () => scan), jpeg.subarray(eoi)]);
}

describe('sharpFailureKind reads the messages of the sharp version in use', () => {
  it('recognises the timeout text libvips sets (sharp 0.35, libvips 8.18)', () => {
    expect(sharpFailureKind(new Error('timeout: 6% complete\nVipsImage: killed for image "temp-27"'))).toBe('timeout');
    expect(sharpFailureKind(new Error('VipsJpeg: premature end of input\ntimeout: 0% complete'))).toBe('timeout');
  });

  it('recognises a real pixel-limit refusal, and nothing else as either', async () => {
    const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: 'red' } }).png().toBuffer();
    const refused: unknown = await sharp(png, { limitInputPixels: 100 }).raw().toBuffer().catch((e: unknown) => e);
    expect(sharpFailureKind(refused)).toBe('pixel_limit');
    expect(sharpFailureKind(new Error('VipsJpeg: Premature end of JPEG file'))).toBe('other');
    expect(sharpFailureKind(new Error('the request timeout was reached'))).toBe('other');
    expect(sharpFailureKind('timeout')).toBe('other');
  });

  it('classifies render_timeout as a failure for good: the same input would time out again', () => {
    expect(classifyFailure(new AppError('render_timeout'))).toMatchObject({ retry: false, code: 'render_timeout' });
  });
});

describe('a render over RENDER_TIMEOUT_SECONDS ends the upload failed with render_timeout', () => {
  it('fails the job without retries and records the code on the row and in the failed event', async () => {
    const input = await slowJpeg();
    const stagedPath = path.join(stagingDir, 'slow.upload');
    await writeFile(stagedPath, input);
    const upload = await acceptUpload(tdb.db, 1, stagedPath);

    const handle = createProcessAvatarHandler({
      db: tdb.db,
      tables,
      sizes: [256, 128],
      staged: new StagedOriginals(stagingDir),
      logger: createLogger({ level: 'silent', name: 'render-timeout' }),
      publicUrl: 'http://files.invalid/',
      render: (bytes) => renderAvatar(bytes, { sizes: [256, 128], format: 'webp', maxInputPixels: 50_000_000, timeoutSeconds: 1 }),
      files: {
        storeSet: () => Promise.reject(new Error('a timed-out render must store nothing')),
        deleteFiles: async () => undefined,
      },
      scheduleDeletion: async () => undefined,
      backoffMs: 1,
    });
    const job = { data: { uploadId: upload.id }, attemptsMade: 0, opts: { attempts: 8 }, failedReason: undefined } as unknown as Job<ProcessAvatarJob>;

    const error: unknown = await handle(job).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError); // BullMQ will not try it again
    expect((error as Error).message).toMatch(/^render_timeout: /);

    const row = await new UploadsRepository(tdb.db).findById(upload.id);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'render_timeout', attempts: 1 });
    expect(row?.errorMessage).toBe('Rendering the avatar took longer than 1 s');
    expect(await eventTypes(tdb.db, upload.id)).toEqual(['queued', 'processing', 'failed']);
    const failed = await tdb.db('upload_events').where({ upload_id: upload.id, type: 'failed' }).first();
    expect(failed.data).toMatchObject({ code: 'render_timeout' });
    await expect(access(stagedPath)).rejects.toThrow(); // the original is released too
  }, 30_000);
});
