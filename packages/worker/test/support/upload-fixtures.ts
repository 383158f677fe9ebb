import { randomUUID } from 'node:crypto';
import type { Repositories, Upload } from '@avatar/shared';

/** Users 1..n (the ids the tests use). */
export async function ensureUsers(repos: Repositories, count = 3): Promise<void> {
  await repos.userDetail.ensureUsers(Array.from({ length: count }, (_, i) => ({ id: i + 1, username: `user${i + 1}` })));
}

/** Accepts an upload as the API does (row + `queued` event); later calls are accepted later. */
export async function acceptUpload(repos: Repositories, userId: number, stagedPath = `/tmp/staged-${randomUUID()}`): Promise<Upload> {
  return repos.journal.accept({
    id: randomUUID(),
    userId,
    idempotencyKey: null,
    declaredType: 'image/jpeg',
    detectedType: 'image/jpeg',
    sizeBytes: 100,
    sha256: 'a'.repeat(64),
    width: 200,
    height: 200,
    stagedPath,
  });
}

/** Moves an upload to `processing` under a fresh claim, as the worker does when it starts on it. */
export async function startProcessing(repos: Repositories, upload: Upload): Promise<Upload> {
  const started = await repos.journal.record(upload.id, {
    status: 'processing',
    patch: { claimToken: randomUUID() },
    event: { type: 'processing', data: { attempt: 1 } },
  });
  if (!started) throw new Error('could not start processing');
  return started;
}

export function variantsFor(tag: string): Array<{ size: number; fileId: string; url: string }> {
  const master = `group1/M00/00/00/${tag}.webp`;
  return [
    { size: 256, fileId: master, url: `http://files.invalid/${master}` },
    { size: 128, fileId: `group1/M00/00/00/${tag}_128.webp`, url: `http://files.invalid/group1/M00/00/00/${tag}_128.webp` },
  ];
}

/** The upload's event types, oldest first. */
export async function eventTypes(repos: Repositories, uploadId: string): Promise<string[]> {
  return (await repos.events.listAfter(uploadId, 0, 1_000)).map((e) => e.type);
}
