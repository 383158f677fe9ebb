import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IdempotencyKeyTakenError, canTransition, liveStatuses, terminalStatusList, uploadStatuses, type NewUpload } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';

function newUpload(userId = 1): NewUpload {
  return { id: randomUUID(), userId, idempotencyKey: null, declaredType: 'image/jpeg', detectedType: 'image/jpeg', sizeBytes: 10, sha256: 'ab', width: 10, height: 10, stagedPath: '/tmp/x' };
}

describe('status rules', () => {
  it('never leaves a terminal status', () => {
    for (const to of ['queued', 'processing', 'retrying', 'done', 'failed', 'superseded'] as const) {
      expect(canTransition('done', to)).toBe(false);
      expect(canTransition('failed', to)).toBe(false);
      expect(canTransition('superseded', to)).toBe(false);
    }
    expect(canTransition('queued', 'processing')).toBe(true);
    expect(canTransition('retrying', 'processing')).toBe(true);
    expect(canTransition('queued', 'done')).toBe(false);
  });
});

describe('UploadJournal (real PostgreSQL)', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => {
    await tdb.drop();
  });

  it('numbers events from 1 and refuses changes after a terminal status', async () => {
    const journal = tdb.repos.journal;
    const accepted = await journal.accept(newUpload());
    expect(accepted.status).toBe('queued');
    expect(accepted.lastEventSeq).toBe(1);

    await journal.record(accepted.id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
    await journal.record(accepted.id, { patch: { progress: 50 }, event: { type: 'progress', data: { step: 'rendered', percent: 50 } } });
    const done = await journal.record(accepted.id, { status: 'done', patch: { progress: 100 }, event: { type: 'done', data: { avatarUrl: 'u', variants: [] } } });
    expect(done?.status).toBe('done');
    const late = await journal.record(accepted.id, { status: 'processing', event: { type: 'processing', data: { attempt: 2 } } });
    expect(late).toBeUndefined();
    const lateEvent = await journal.record(accepted.id, { event: { type: 'progress', data: { step: 'storing', percent: 90 } } });
    expect(lateEvent).toBeUndefined();

    const events = await tdb.repos.events.listAfter(accepted.id, 0, 100);
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'queued'],
      [2, 'processing'],
      [3, 'progress'],
      [4, 'done'],
    ]);
    const after2 = await tdb.repos.events.listAfter(accepted.id, 2, 100);
    expect(after2.map((e) => e.seq)).toEqual([3, 4]);
    expect((await tdb.repos.uploads.findById(accepted.id))?.progress).toBe(100);
  });

  it('orders uploads by acceptance (created_at to the microsecond, then id)', async () => {
    const journal = tdb.repos.journal;
    const first = await journal.accept(newUpload(7));
    const second = await journal.accept(newUpload(7));
    await tdb.repos.userDetail.ensureUsers([{ id: 7, username: 'user7' }]);
    const details = tdb.repos.userDetail;
    // whichever is the avatar, the rule in SQL says whether it was accepted after the other
    await tdb.db('user_detail').insert({ user_id: 7, avatar_upload_id: second.id });
    expect(await details.newerAvatarUpload(7, first.id)).toBe(second.id);
    await tdb.db('user_detail').where({ user_id: 7 }).update({ avatar_upload_id: first.id });
    expect(await details.newerAvatarUpload(7, second.id)).toBeUndefined();
  });

  it('keeps event numbers dense under concurrent writers', async () => {
    const journal = tdb.repos.journal;
    const accepted = await journal.accept(newUpload());
    await journal.record(accepted.id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => journal.record(accepted.id, { event: { type: 'progress', data: { step: 'storing', percent: i } } })),
    );
    const events = await tdb.repos.events.listAfter(accepted.id, 0, 100);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
  });

  it('judges a change by the row as it is once locked, after a change it waited for', async () => {
    const journal = tdb.repos.journal;
    const accepted = await journal.accept(newUpload());
    const claim = randomUUID();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let claimed!: () => void;
    const inside = new Promise<void>((resolve) => (claimed = resolve));
    // a run moves it queued → processing in a transaction kept open: the row stays locked
    const claiming = tdb.repos.transaction(async (tx) => {
      await tx.journal.record(accepted.id, { status: 'processing', patch: { claimToken: claim }, event: { type: 'processing', data: { attempt: 1 } } });
      claimed();
      await held;
    });
    await inside;
    // allowed only from processing, under that run's claim: true only of the row the lock hands over
    const retrying = journal.record(accepted.id, { status: 'retrying', event: { type: 'retrying', data: { attempt: 1, code: 'service_unavailable', reason: 'x', delayMs: 1 } } }, { claim });
    await vi.waitFor(async () => {
      const waiting = await tdb.db.raw<{ rows: unknown[] }>(`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
      expect(waiting.rows.length).toBeGreaterThan(0);
    }, { timeout: 10_000, interval: 20 });
    release();
    await claiming;
    expect((await retrying)?.status).toBe('retrying');
    expect((await tdb.repos.events.listAfter(accepted.id, 0, 10)).map((e) => [e.seq, e.type])).toEqual([[1, 'queued'], [2, 'processing'], [3, 'retrying']]);
  });

  it('refuses a second upload under a user\'s Idempotency-Key with IdempotencyKeyTakenError, recording nothing', async () => {
    const journal = tdb.repos.journal;
    const key = randomUUID();
    const first = await journal.accept({ ...newUpload(8), idempotencyKey: key });
    const second = { ...newUpload(8), idempotencyKey: key };
    const refusal = await journal.accept(second).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(IdempotencyKeyTakenError);
    expect(refusal).toMatchObject({ userId: 8, idempotencyKey: key });
    expect(await tdb.repos.uploads.findById(second.id)).toBeUndefined();
    expect(await tdb.repos.events.listAfter(second.id, 0, 10)).toEqual([]);
    expect((await tdb.repos.uploads.findByIdempotencyKey(8, key))?.id).toBe(first.id);
    // the key is the user's own: another user may use the same one, and so may an upload without a key
    await expect(journal.accept({ ...newUpload(9), idempotencyKey: key })).resolves.toMatchObject({ userId: 9 });
    await expect(journal.accept(newUpload(8))).resolves.toMatchObject({ idempotencyKey: null });
  });
});

describe('the status lists', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => {
    await tdb.drop();
  });

  it('split every status into live and terminal, once each', () => {
    expect([...liveStatuses, ...terminalStatusList].sort()).toEqual([...uploadStatuses].sort());
    expect(liveStatuses).toEqual(['queued', 'processing', 'retrying']);
  });

  // the migration keeps its own literal list (a migration is history and must not change
  // when the code does): this pins that the table still admits exactly the code's statuses
  it('are the statuses the table admits', async () => {
    const result = await tdb.db.raw<{ rows: Array<{ definition: string }> }>(
      `select pg_get_constraintdef(oid) as definition from pg_constraint where conname = 'uploads_status_check'`,
    );
    const admitted = [...(result.rows[0]?.definition ?? '').matchAll(/'([a-z]+)'/g)].map((m) => m[1]);
    expect(admitted.sort()).toEqual([...uploadStatuses].sort());
  });
});
