import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, Queue } from 'bullmq';
import { AppError, createLogger, type ProcessAvatarJob } from '@avatar/shared';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import { acceptUpload, type AcceptUploadDeps } from '../src/domain/accept-upload.js';

type QueueDouble = Pick<Queue<ProcessAvatarJob>, 'add' | 'getJob'>;

/** A queue whose `add` fails; `landed` says whether the job got into Redis anyway (a lost answer). */
function failingQueue(landed: boolean): QueueDouble & { jobs: Set<string> } {
  const jobs = new Set<string>();
  return {
    jobs,
    add: (async (_name: string, _data: ProcessAvatarJob, opts?: { jobId?: string }) => {
      if (landed && opts?.jobId) jobs.add(opts.jobId);
      throw Object.assign(new Error('Command timed out'), { name: 'Error' });
    }) as unknown as QueueDouble['add'],
    getJob: (async (id: string) => (jobs.has(id) ? ({ id } as Job<ProcessAvatarJob>) : undefined)) as unknown as QueueDouble['getJob'],
  };
}

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb.drop();
});

function deps(queue: QueueDouble, removed: string[]): AcceptUploadDeps {
  return {
    journal: tdb.repos.journal,
    uploads: tdb.repos.uploads,
    queue,
    removeStaged: async (p) => {
      removed.push(p);
    },
    logger: createLogger({ level: 'silent', name: 'test' }),
  };
}

const input = (ref: string) => ({
  userId: 1,
  idempotencyKey: undefined,
  declaredType: 'image/jpeg',
  staged: { ref, sizeBytes: 10, sha256: 'abc' },
  image: { mime: 'image/jpeg', ext: 'jpg', width: 10, height: 10, frames: 1 },
});

describe('acceptUpload when the enqueue fails', () => {
  it('withdraws the upload and answers 503 when the job did not land: nothing half-done', async () => {
    const removed: string[] = [];
    const error = await acceptUpload(deps(failingQueue(false), removed), input('/staging/a.upload')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('service_unavailable');
    expect(await tdb.db('uploads').count<Array<{ count: string }>>({ count: '*' }).first()).toEqual({ count: '0' });
    expect(removed).toEqual(['/staging/a.upload']);
  });

  it('keeps the upload (202) when the add landed and only its answer was lost', async () => {
    const removed: string[] = [];
    const queue = failingQueue(true);
    const { upload } = await acceptUpload(deps(queue, removed), input('/staging/b.upload'));
    expect(queue.jobs.has(upload.id)).toBe(true);
    expect((await tdb.db('uploads').where({ id: upload.id }).first()).status).toBe('queued');
    expect(removed).toEqual([]);
  });
});

describe('acceptUpload when a concurrent request with the same Idempotency-Key wins the insert', () => {
  it('answers as the winner did (replayed) and removes its own staged copy', async () => {
    const key = randomUUID();
    const winner = await tdb.repos.journal.accept({
      id: randomUUID(), userId: 1, idempotencyKey: key, declaredType: 'image/jpeg', detectedType: 'image/jpeg',
      sizeBytes: 10, sha256: 'abc', width: 10, height: 10, stagedPath: '/staging/winner.upload',
    });
    // the first look finds nothing, as when the winner had not committed yet
    let looks = 0;
    const uploads: AcceptUploadDeps['uploads'] = Object.assign(Object.create(tdb.repos.uploads) as AcceptUploadDeps['uploads'], {
      findByIdempotencyKey: async (userId: number, idempotencyKey: string) => (++looks === 1 ? undefined : tdb.repos.uploads.findByIdempotencyKey(userId, idempotencyKey)),
    });
    const removed: string[] = [];
    const queue = failingQueue(false);
    const { upload, replayed } = await acceptUpload({ ...deps(queue, removed), uploads }, { ...input('/staging/loser.upload'), idempotencyKey: key });
    expect({ id: upload.id, replayed }).toEqual({ id: winner.id, replayed: true });
    expect(looks).toBe(2);
    expect(removed).toEqual(['/staging/loser.upload']);
    expect(await tdb.db('uploads').where({ idempotency_key: key }).count<Array<{ count: string }>>({ count: '*' }).first()).toEqual({ count: '1' });
  });
});
