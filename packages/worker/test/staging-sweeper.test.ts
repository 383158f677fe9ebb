import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ErrorCode } from '@avatar/shared';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@avatar/shared/testing';
import type { WorkerContext } from '../src/runtime/build-worker-context.js';
import { StagingSweeper } from '../src/sweepers/staging-sweeper.js';
import { testWorkerContext } from './support/test-worker.js';

let tdb: TestDatabase;
let redis: TestRedis;
let dir: string;
let worker: WorkerContext;
beforeAll(async () => {
  tdb = await createTestDatabase();
  redis = createTestRedis();
  dir = await mkdtemp(path.join(tmpdir(), 'staging-sweep-'));
  worker = testWorkerContext({ database: tdb, redis, stagingDir: dir });
});
afterAll(async () => {
  await worker?.close();
  await redis?.cleanup();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** The staging sweeper as the worker runs it: over the worker's staging store and workflow. */
function sweep(options: { failedRetentionMs?: number } = {}): Promise<number> {
  const sweeper = new StagingSweeper(
    { uploads: worker.repos.uploads, staged: worker.adapters.staged, workflow: worker.workflow, logger: worker.logger },
    { graceMs: 600_000, ...options },
  );
  return sweeper.sweep();
}

async function accepted(stagedPath: string, failedWith?: ErrorCode): Promise<string> {
  const { journal } = tdb.repos;
  const upload = await journal.accept({ id: randomUUID(), userId: 1, idempotencyKey: null, declaredType: null, detectedType: 'image/png', sizeBytes: 1, sha256: 'x', width: 1, height: 1, stagedPath });
  if (failedWith) {
    await journal.record(upload.id, { status: 'failed', patch: { errorCode: failedWith, errorMessage: failedWith }, event: { type: 'failed', data: { code: failedWith, message: failedWith } } });
  }
  return upload.id;
}

it('removes originals of finished uploads and old unclaimed files, keeps live ones, and skips a bad row instead of stopping', async () => {
  const finished = path.join(dir, 'finished.upload');
  const live = path.join(dir, 'live.upload');
  const strayOld = path.join(dir, 'stray-old.upload');
  const strayNew = path.join(dir, 'stray-new.upload');
  for (const file of [finished, live, strayOld, strayNew]) await writeFile(file, 'x');
  const longAgo = new Date(Date.now() - 3_600_000);
  for (const file of [live, strayOld]) await utimes(file, longAgo, longAgo);
  // a row naming a path outside the staging folder: the sweeper must refuse it and go on
  await accepted('/etc/passwd', 'image_undecodable');
  const finishedId = await accepted(finished, 'image_undecodable');
  await accepted(live);

  expect(await sweep()).toBe(2);
  expect((await readdir(dir)).sort()).toEqual(['live.upload', 'stray-new.upload']);
  expect((await tdb.repos.uploads.findById(finishedId))?.stagedPath).toBeNull();
});

it("keeps a failed upload's original for the retry window when the failure was the system's fault, not when the image was", async () => {
  const outage = path.join(dir, 'outage.upload');
  const badImage = path.join(dir, 'bad-image.upload');
  for (const file of [outage, badImage]) await writeFile(file, 'x');
  const longAgo = new Date(Date.now() - 3_600_000);
  for (const file of [outage, badImage]) await utimes(file, longAgo, longAgo);
  const outageId = await accepted(outage, 'storage_unavailable');
  await accepted(badImage, 'image_undecodable');

  await sweep({ failedRetentionMs: 3_600_000 });
  expect(await readdir(dir)).toContain('outage.upload');
  expect(await readdir(dir)).not.toContain('bad-image.upload');
  // past the window it goes too
  await tdb.db('uploads').where({ id: outageId }).update({ updated_at: new Date(Date.now() - 7_200_000) });
  await sweep({ failedRetentionMs: 3_600_000 });
  expect(await readdir(dir)).not.toContain('outage.upload');
  expect((await tdb.repos.uploads.findById(outageId))?.stagedPath).toBeNull();
});
