import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import { commitAvatar } from '../src/domain/commit-avatar.js';
import { acceptUpload, ensureUsers, eventTypes, startProcessing, variantsFor } from './support/upload-fixtures.js';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.repos, 3);
});
afterAll(async () => {
  await tdb?.drop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function addUser(id: number): Promise<void> {
  await tdb.repos.userDetail.ensureUsers([{ id, username: `user${id}` }]);
}

describe('commitAvatar: the per-user commit decides done or superseded', () => {
  it('an older upload committing after a newer one ends superseded and leaves the newer avatar', async () => {
    const older = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 1));
    const newer = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 1));

    expect(await commitAvatar(tdb.repos, newer, variantsFor('newer'))).toEqual({ kind: 'done', replaced: null });
    expect(await commitAvatar(tdb.repos, older, variantsFor('older'))).toEqual({ kind: 'superseded', by: newer.id });

    const avatar = await tdb.repos.userDetail.findAvatar(1);
    expect(avatar?.avatarUploadId).toBe(newer.id);
    expect(avatar?.avatarFileId).toBe('group1/M00/00/00/newer.webp');
    expect((await tdb.repos.uploads.findById(older.id))?.status).toBe('superseded');
  });

  it('a newer upload committing after an older one replaces it and reports the files to delete', async () => {
    const older = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 2));
    const newer = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 2));
    await commitAvatar(tdb.repos, older, variantsFor('old2'));
    const outcome = await commitAvatar(tdb.repos, newer, variantsFor('new2'));
    expect(outcome).toEqual({ kind: 'done', replaced: { uploadId: older.id, fileIds: variantsFor('old2').map((v) => v.fileId) } });
    expect((await tdb.repos.userDetail.findAvatar(2))?.avatarUploadId).toBe(newer.id);
  });

  it('a retry after the commit changes nothing a second time', async () => {
    const upload = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 3));
    await commitAvatar(tdb.repos, upload, variantsFor('once'));
    const before = await tdb.db('user_detail').where({ user_id: 3 }).first();
    const eventsBefore = await eventTypes(tdb.repos, upload.id);

    expect(await commitAvatar(tdb.repos, upload, variantsFor('twice'))).toEqual({ kind: 'already_terminal' });

    expect(await tdb.db('user_detail').where({ user_id: 3 }).first()).toEqual(before);
    expect(await eventTypes(tdb.repos, upload.id)).toEqual(eventsBefore);
    expect(eventsBefore.filter((t) => t === 'done')).toHaveLength(1);
  });

  it('a deleted user gives user_gone and writes no avatar', async () => {
    await ensureUsers(tdb.repos, 4);
    const upload = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 4));
    await tdb.db('users').where({ id: 4 }).delete();
    expect(await commitAvatar(tdb.repos, upload, variantsFor('gone'))).toEqual({ kind: 'user_gone' });
    expect(await tdb.db('user_detail').where({ user_id: 4 }).first()).toBeUndefined();
  });

  it('a newer upload whose commit waited for an older one\'s lock still wins', async () => {
    await addUser(8);
    // the row exists, as it does after a user's first avatar: both commits lock it (no insert path)
    await tdb.db('user_detail').insert({ user_id: 8 });
    const older = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 8));
    const newer = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 8));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let olderCommitted!: () => void;
    const olderInside = new Promise<void>((resolve) => (olderCommitted = resolve));
    // the older upload commits in a transaction kept open, holding the user_detail row's lock
    const olderCommit = tdb.repos.transaction(async (tx) => {
      const outcome = await commitAvatar(tx, older, variantsFor('older8'));
      olderCommitted();
      await held;
      return outcome;
    });
    await olderInside;
    const newerCommit = commitAvatar(tdb.repos, newer, variantsFor('newer8'));
    // wait until the newer commit is queued behind the lock, then let the older one commit
    await vi.waitFor(async () => {
      const waiting = await tdb.db.raw<{ rows: unknown[] }>(`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
      expect(waiting.rows.length).toBeGreaterThan(0);
    }, { timeout: 10_000, interval: 20 });
    release();
    expect(await olderCommit).toEqual({ kind: 'done', replaced: null });
    // PostgreSQL re-reads the locked row as the older commit left it: the newer upload replaces it
    expect(await newerCommit).toEqual({ kind: 'done', replaced: { uploadId: older.id, fileIds: variantsFor('older8').map((v) => v.fileId) } });
    expect((await tdb.repos.userDetail.findAvatar(8))?.avatarUploadId).toBe(newer.id);
  });

  it("lockForAvatarChange maps the foreign key violation to 'user gone' and leaves the caller's transaction usable", async () => {
    await addUser(6);
    const upload = await acceptUpload(tdb.repos, 6);
    // no user_detail row yet: the lock falls back to inserting one, which the foreign key refuses
    await tdb.db('users').where({ id: 6 }).delete();
    await tdb.repos.transaction(async (tx) => {
      expect(await tx.userDetail.lockForAvatarChange(6, upload.id)).toBeUndefined();
      // a failed statement outside a savepoint would have aborted the transaction (25P02)
      expect(await tx.userDetail.findAvatar(6)).toBeUndefined();
    });
  });

  it("avatar_accepted_at is the committed upload's created_at to the microsecond", async () => {
    await addUser(7);
    const upload = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 7));
    // a time with microseconds, which a JS Date (milliseconds) cannot carry
    await tdb.db('uploads').where({ id: upload.id }).update({ created_at: tdb.db.raw(`'2024-05-01 12:34:56.123456+00'::timestamptz`) });
    expect((await commitAvatar(tdb.repos, upload, variantsFor('micro'))).kind).toBe('done');
    const result = await tdb.db.raw<{ rows: Array<{ same: boolean; micros: string }> }>(
      `select d.avatar_accepted_at = u.created_at as same, to_char(d.avatar_accepted_at at time zone 'UTC', 'US') as micros
         from user_detail d join uploads u on u.id = d.avatar_upload_id where d.user_id = ?`,
      [7],
    );
    expect(result.rows).toEqual([{ same: true, micros: '123456' }]);
  });

  it('after an operator removed the avatar, an upload accepted before the removal does not bring one back; one accepted after it does', async () => {
    await addUser(8);
    const details = tdb.repos.userDetail;
    const shown = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 8));
    await commitAvatar(tdb.repos, shown, variantsFor('shown8'));
    const inFlight = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 8));
    await details.clearAvatar(8);
    const afterRemoval = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 8));

    expect(await commitAvatar(tdb.repos, inFlight, variantsFor('late8'))).toEqual({ kind: 'superseded', by: null });
    expect(await details.findAvatar(8)).toMatchObject({ avatar: null, avatarUploadId: null, variants: [] });
    expect(await tdb.db('upload_events').where({ upload_id: inFlight.id, type: 'superseded' }).first('data')).toEqual({ data: { by: null } });

    expect(await commitAvatar(tdb.repos, afterRemoval, variantsFor('after8'))).toEqual({ kind: 'done', replaced: null });
    expect((await details.findAvatar(8))?.avatarUploadId).toBe(afterRemoval.id);
  });

  it('the removal orders uploads to the microsecond: accepted at the removal instant loses, a microsecond later wins', async () => {
    await addUser(9);
    await commitAvatar(tdb.repos, await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 9)), variantsFor('shown9'));
    await tdb.repos.userDetail.clearAvatar(9);
    const removedAt = tdb.db('user_detail').where({ user_id: 9 }).select('avatar_accepted_at');
    const atRemoval = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 9));
    const justAfter = await startProcessing(tdb.repos, await acceptUpload(tdb.repos, 9));
    await tdb.db('uploads').where({ id: atRemoval.id }).update({ created_at: removedAt.clone() });
    await tdb.db('uploads').where({ id: justAfter.id }).update({ created_at: tdb.db.raw(`(?) + interval '1 microsecond'`, [removedAt.clone()]) });

    expect(await commitAvatar(tdb.repos, atRemoval, variantsFor('at9'))).toEqual({ kind: 'superseded', by: null });
    expect(await commitAvatar(tdb.repos, justAfter, variantsFor('after9'))).toEqual({ kind: 'done', replaced: null });
  });
});
