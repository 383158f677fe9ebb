import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError, jobNames, type ProcessAvatarJob } from '@avatar/shared';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import { classifyFailure } from '../src/domain/classify-failure.js';
import { sharpFailureKind } from '../src/pipeline/sharp-errors.js';
import type { WorkerContext } from '../src/runtime/build-worker-context.js';
import { startJobWorkers, type JobWorkers } from '../src/runtime/job-workers.js';
import { testWorkerContext } from './support/test-worker.js';
import { acceptUpload, ensureUsers } from './support/upload-fixtures.js';

let tdb: TestDatabase;
let redis: TestRedis;
let stagingDir: string;
let slow: Buffer;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 1);
  redis = createTestRedis();
  stagingDir = await mkdtemp(path.join(tmpdir(), 'render-timeout-test-'));
  slow = await slowJpeg();
});
afterAll(async () => {
  await redis?.cleanup();
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
  it("recognises the text of a real `.timeout()` (libvips' progress callback kills the image)", async () => {
    // a wide blur of 64 MP takes many seconds; libvips stops it after one, as pixels flow
    const busy = sharp({ create: { width: 8000, height: 8000, channels: 3, background: '#808080' } }).blur(30);
    const refused: unknown = await busy.timeout({ seconds: 1 }).png().toBuffer().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(/^timeout: \d+% complete/m);
    expect(sharpFailureKind(refused)).toBe('timeout');
  }, 30_000);

  it('recognises a real pixel-limit refusal', async () => {
    const png = await sharp({ create: { width: 20, height: 20, channels: 3, background: 'red' } }).png().toBuffer();
    const refused: unknown = await sharp(png, { limitInputPixels: 100 }).raw().toBuffer().catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/pixel limit/i);
    expect(sharpFailureKind(refused)).toBe('pixel_limit');
  });

  it('recognises the timeout text wherever libvips puts it, and nothing else as either', () => {
    // sharp 0.35, libvips 8.18: the timeout line may follow a decoder's own message
    expect(sharpFailureKind(new Error('timeout: 6% complete\nVipsImage: killed for image "temp-27"'))).toBe('timeout');
    expect(sharpFailureKind(new Error('VipsJpeg: premature end of input\ntimeout: 0% complete'))).toBe('timeout');
    expect(sharpFailureKind(new Error('VipsJpeg: Premature end of JPEG file'))).toBe('other');
    expect(sharpFailureKind(new Error('the request timeout was reached'))).toBe('other');
    expect(sharpFailureKind('timeout')).toBe('other');
  });

  it('classifies render_timeout as a failure for good: the same input would time out again', () => {
    expect(classifyFailure(new AppError('render_timeout'))).toMatchObject({ retry: false, code: 'render_timeout' });
  });
});

describe('a render over RENDER_TIMEOUT_SECONDS ends the upload failed with render_timeout', () => {
  let worker: WorkerContext | undefined;
  let jobs: JobWorkers | undefined;
  afterAll(async () => {
    await jobs?.close(5_000);
    await worker?.close();
  });

  it('fails the job without retries and records the code on the row, in the failed event and on the job', async () => {
    const stagedPath = path.join(stagingDir, 'slow.upload');
    await writeFile(stagedPath, slow);
    const upload = await acceptUpload(tdb.repos, 1, stagedPath);
    // the production worker with the real renderer; a store that must never be reached
    worker = testWorkerContext({
      database: tdb,
      redis,
      stagingDir,
      env: { RENDER_TIMEOUT_SECONDS: '1', JOB_ATTEMPTS: '8' },
      adapters: { files: { storeSet: () => Promise.reject(new Error('a timed-out render must store nothing')), deleteFiles: async () => undefined } },
    });
    jobs = startJobWorkers(worker);

    await worker.queues.avatar.add(jobNames.processAvatar, { uploadId: upload.id }, { jobId: upload.id });
    const queue = worker.queues.avatar;
    // the state first, then the job: read after it failed, its data and attempts are final
    await vi.waitFor(async () => expect(await queue.getJobState(upload.id)).toBe('failed'), { timeout: 60_000, interval: 100 });
    const job = (await queue.getJob(upload.id)) as Job<ProcessAvatarJob>;
    // one attempt, never a retry: no `retrying` event, and BullMQ made one attempt (UnrecoverableError)
    const events = await tdb.repos.events.listAfter(upload.id, 0, 10);
    expect(events.map((e) => [e.type, e.data.code])).toEqual([
      ['queued', undefined],
      ['processing', undefined],
      ['failed', 'render_timeout'],
    ]);
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('Rendering the avatar took longer than 1 s'); // for people; the code travels as data
    expect(job.data.lastFailure).toMatchObject({ attempt: 1, code: 'render_timeout', final: true });

    const row = await tdb.repos.uploads.findById(upload.id);
    expect(row).toMatchObject({ status: 'failed', errorCode: 'render_timeout', attempts: 1 });
    expect(row?.errorMessage).toBe('Rendering the avatar took longer than 1 s');
    await expect(access(stagedPath)).rejects.toThrow(); // the original is released too
  }, 90_000);
});
