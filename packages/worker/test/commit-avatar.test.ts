import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UploadsRepository, UserDetailRepository } from '@avatar/shared';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import { commitAvatar } from '../src/domain/commit-avatar.js';
import { acceptUpload, ensureUsers, eventTypes, startProcessing, tables, variantsFor } from './support/upload-fixtures.js';

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
  await ensureUsers(tdb.db, 3);
});
afterAll(async () => {
  await tdb?.drop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function addUser(id: number): Promise<void> {
  await new UserDetailRepository(tdb.db, tables).ensureUsers([{ id, username: `user${id}` }]);
}

/** The user is deleted (another connection, committed) right after `userExists` saw it. */
function deleteUserAfterExistenceCheck(): void {
  const userExists = UserDetailRepository.prototype.userExists;
  vi.spyOn(UserDetailRepository.prototype, 'userExists').mockImplementation(async function (this: UserDetailRepository, userId: number) {
    const exists = await userExists.call(this, userId);
    await tdb.db('users').where({ id: userId }).delete();
    return exists;
  });
}

describe('commitAvatar: the per-user commit decides done or superseded', () => {
  it('an older upload committing after a newer one ends superseded and leaves the newer avatar', async () => {
    const older = await startProcessing(tdb.db, await acceptUpload(tdb.db, 1));
    const newer = await startProcessing(tdb.db, await acceptUpload(tdb.db, 1));

    expect(await commitAvatar(tdb.db, tables, newer, variantsFor('newer'))).toEqual({ kind: 'done', replaced: null });
    expect(await commitAvatar(tdb.db, tables, older, variantsFor('older'))).toEqual({ kind: 'superseded', by: newer.id });

    const avatar = await new UserDetailRepository(tdb.db, tables).findAvatar(1);
    expect(avatar?.avatarUploadId).toBe(newer.id);
    expect(avatar?.avatarFileId).toBe('group1/M00/00/00/newer.webp');
    expect((await new UploadsRepository(tdb.db).findById(older.id))?.status).toBe('superseded');
  });

  it('a newer upload committing after an older one replaces it and reports the files to delete', async () => {
    const older = await startProcessing(tdb.db, await acceptUpload(tdb.db, 2));
    const newer = await startProcessing(tdb.db, await acceptUpload(tdb.db, 2));
    await commitAvatar(tdb.db, tables, older, variantsFor('old2'));
    const outcome = await commitAvatar(tdb.db, tables, newer, variantsFor('new2'));
    expect(outcome).toEqual({ kind: 'done', replaced: { uploadId: older.id, fileIds: variantsFor('old2').map((v) => v.fileId) } });
    expect((await new UserDetailRepository(tdb.db, tables).findAvatar(2))?.avatarUploadId).toBe(newer.id);
  });

  it('a retry after the commit changes nothing a second time', async () => {
    const upload = await startProcessing(tdb.db, await acceptUpload(tdb.db, 3));
    await commitAvatar(tdb.db, tables, upload, variantsFor('once'));
    const before = await tdb.db('user_detail').where({ user_id: 3 }).first();
    const eventsBefore = await eventTypes(tdb.db, upload.id);

    expect(await commitAvatar(tdb.db, tables, upload, variantsFor('twice'))).toEqual({ kind: 'already_terminal' });

    expect(await tdb.db('user_detail').where({ user_id: 3 }).first()).toEqual(before);
    expect(await eventTypes(tdb.db, upload.id)).toEqual(eventsBefore);
    expect(eventsBefore.filter((t) => t === 'done')).toHaveLength(1);
  });

  it('a deleted user gives user_gone and writes no avatar', async () => {
    await ensureUsers(tdb.db, 4);
    const upload = await startProcessing(tdb.db, await acceptUpload(tdb.db, 4));
    await tdb.db('users').where({ id: 4 }).delete();
    expect(await commitAvatar(tdb.db, tables, upload, variantsFor('gone'))).toEqual({ kind: 'user_gone' });
    expect(await tdb.db('user_detail').where({ user_id: 4 }).first()).toBeUndefined();
  });

  it('a user deleted between the existence check and the user_detail insert gives user_gone, not an error', async () => {
    await addUser(5);
    const upload = await startProcessing(tdb.db, await acceptUpload(tdb.db, 5));
    deleteUserAfterExistenceCheck();
    expect(await commitAvatar(tdb.db, tables, upload, variantsFor('gone5'))).toEqual({ kind: 'user_gone' });
    expect(await tdb.db('user_detail').where({ user_id: 5 }).first()).toBeUndefined();
    expect((await new UploadsRepository(tdb.db).findById(upload.id))?.status).toBe('processing');
  });

  it("lockForAvatarChange maps the foreign key violation to 'user gone' and leaves the caller's transaction usable", async () => {
    await addUser(6);
    deleteUserAfterExistenceCheck();
    await tdb.db.transaction(async (trx) => {
      expect(await new UserDetailRepository(trx, tables).lockForAvatarChange(6)).toBeUndefined();
      // a failed statement outside a savepoint would have aborted the transaction (25P02)
      expect(await trx('user_detail').where({ user_id: 6 }).first()).toBeUndefined();
    });
  });

  it("avatar_accepted_at is the committed upload's created_at to the microsecond", async () => {
    await addUser(7);
    const upload = await startProcessing(tdb.db, await acceptUpload(tdb.db, 7));
    // a time with microseconds, which a JS Date (milliseconds) cannot carry
    await tdb.db('uploads').where({ id: upload.id }).update({ created_at: tdb.db.raw(`'2024-05-01 12:34:56.123456+00'::timestamptz`) });
    expect((await commitAvatar(tdb.db, tables, upload, variantsFor('micro'))).kind).toBe('done');
    const result = await tdb.db.raw<{ rows: Array<{ same: boolean; micros: string }> }>(
      `select d.avatar_accepted_at = u.created_at as same, to_char(d.avatar_accepted_at at time zone 'UTC', 'US') as micros
         from user_detail d join uploads u on u.id = d.avatar_upload_id where d.user_id = ?`,
      [7],
    );
    expect(result.rows).toEqual([{ same: true, micros: '123456' }]);
  });

  it('after an operator removed the avatar, an upload accepted before the removal does not bring one back; one accepted after it does', async () => {
    await addUser(8);
    const details = new UserDetailRepository(tdb.db, tables);
    const shown = await startProcessing(tdb.db, await acceptUpload(tdb.db, 8));
    await commitAvatar(tdb.db, tables, shown, variantsFor('shown8'));
    const inFlight = await startProcessing(tdb.db, await acceptUpload(tdb.db, 8));
    await details.clearAvatar(8);
    const afterRemoval = await startProcessing(tdb.db, await acceptUpload(tdb.db, 8));

    expect(await commitAvatar(tdb.db, tables, inFlight, variantsFor('late8'))).toEqual({ kind: 'superseded', by: null });
    expect(await details.findAvatar(8)).toMatchObject({ avatar: null, avatarUploadId: null, variants: [] });
    expect(await tdb.db('upload_events').where({ upload_id: inFlight.id, type: 'superseded' }).first('data')).toEqual({ data: { by: null } });

    expect(await commitAvatar(tdb.db, tables, afterRemoval, variantsFor('after8'))).toEqual({ kind: 'done', replaced: null });
    expect((await details.findAvatar(8))?.avatarUploadId).toBe(afterRemoval.id);
  });

  it('the removal orders uploads to the microsecond: accepted at the removal instant loses, a microsecond later wins', async () => {
    await addUser(9);
    await commitAvatar(tdb.db, tables, await startProcessing(tdb.db, await acceptUpload(tdb.db, 9)), variantsFor('shown9'));
    await new UserDetailRepository(tdb.db, tables).clearAvatar(9);
    const removedAt = tdb.db('user_detail').where({ user_id: 9 }).select('avatar_accepted_at');
    const atRemoval = await startProcessing(tdb.db, await acceptUpload(tdb.db, 9));
    const justAfter = await startProcessing(tdb.db, await acceptUpload(tdb.db, 9));
    await tdb.db('uploads').where({ id: atRemoval.id }).update({ created_at: removedAt.clone() });
    await tdb.db('uploads').where({ id: justAfter.id }).update({ created_at: tdb.db.raw(`(?) + interval '1 microsecond'`, [removedAt.clone()]) });

    expect(await commitAvatar(tdb.db, tables, atRemoval, variantsFor('at9'))).toEqual({ kind: 'superseded', by: null });
    expect(await commitAvatar(tdb.db, tables, justAfter, variantsFor('after9'))).toEqual({ kind: 'done', replaced: null });
  });
});
