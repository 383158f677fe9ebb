import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UploadJournal, createLogger } from '@avatar/shared';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import { StagedOriginals } from '../src/adapters/staged-originals.js';
import { sweepStaging } from '../src/sweepers/staging-sweeper.js';

let tdb: TestDatabase;
let dir: string;
beforeAll(async () => {
  tdb = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'staging-sweep-'));
});
afterAll(async () => {
  await tdb.drop();
  await rm(dir, { recursive: true, force: true });
});

async function accepted(stagedPath: string, status: 'queued' | 'failed'): Promise<string> {
  const journal = new UploadJournal(tdb.db);
  const upload = await journal.accept({ id: randomUUID(), userId: 1, idempotencyKey: null, declaredType: null, detectedType: 'image/png', sizeBytes: 1, sha256: 'x', width: 1, height: 1, stagedPath });
  if (status === 'failed') await journal.record(upload.id, { status: 'failed', patch: { errorCode: 'x', errorMessage: 'x' }, event: { type: 'failed', data: { code: 'x', message: 'x' } } });
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
  await accepted('/etc/passwd', 'failed');
  const finishedId = await accepted(finished, 'failed');
  await accepted(live, 'queued');

  const removed = await sweepStaging(
    { db: tdb.db, staged: new StagedOriginals(dir), logger: createLogger({ level: 'silent', name: 'test' }) },
    { graceMs: 600_000 },
  );
  expect(removed).toBe(2);
  expect((await readdir(dir)).sort()).toEqual(['live.upload', 'stray-new.upload']);
  expect((await tdb.db('uploads').where({ id: finishedId }).first()).staged_path).toBeNull();
});

it("keeps a failed upload's original for the retry window when the failure was the system's fault, not when the image was", async () => {
  const outage = path.join(dir, 'outage.upload');
  const badImage = path.join(dir, 'bad-image.upload');
  for (const file of [outage, badImage]) await writeFile(file, 'x');
  const longAgo = new Date(Date.now() - 3_600_000);
  for (const file of [outage, badImage]) await utimes(file, longAgo, longAgo);
  const journal = new UploadJournal(tdb.db);
  const fail = async (stagedPath: string, code: string): Promise<string> => {
    const upload = await journal.accept({ id: randomUUID(), userId: 1, idempotencyKey: null, declaredType: null, detectedType: 'image/png', sizeBytes: 1, sha256: 'x', width: 1, height: 1, stagedPath });
    await journal.record(upload.id, { status: 'failed', patch: { errorCode: code, errorMessage: code }, event: { type: 'failed', data: { code, message: code } } });
    return upload.id;
  };
  const outageId = await fail(outage, 'storage_unavailable');
  await fail(badImage, 'image_undecodable');
  const sweep = (failedRetentionMs: number): Promise<number> =>
    sweepStaging({ db: tdb.db, staged: new StagedOriginals(dir), logger: createLogger({ level: 'silent', name: 'test' }) }, { graceMs: 600_000, failedRetentionMs });

  await sweep(3_600_000);
  expect(await readdir(dir)).toContain('outage.upload');
  expect(await readdir(dir)).not.toContain('bad-image.upload');
  // past the window it goes too
  await tdb.db('uploads').where({ id: outageId }).update({ updated_at: new Date(Date.now() - 7_200_000) });
  await sweep(3_600_000);
  expect(await readdir(dir)).not.toContain('outage.upload');
  expect((await tdb.db('uploads').where({ id: outageId }).first()).staged_path).toBeNull();
});
