import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repositories, createDb, type Db, type NewUpload } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';

function newUpload(userId = 1): NewUpload {
  return { id: randomUUID(), userId, idempotencyKey: null, declaredType: 'image/jpeg', detectedType: 'image/jpeg', sizeBytes: 10, sha256: 'ab', width: 10, height: 10, stagedPath: '/tmp/x' };
}

describe('the hot statements as prepared statements (real PostgreSQL)', () => {
  let tdb: TestDatabase;
  // one connection, so what is prepared on it can be read back from it
  let db: Db;
  let repos: Repositories;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb({ databaseUrl: tdb.url, poolMax: 1 });
    repos = new Repositories(db, { users: 'users', userDetail: 'user_detail' });
  });
  afterAll(async () => {
    await db?.destroy();
    await tdb?.drop();
  });

  it("parses the journal's write once per connection, whatever the patch, and knex's query event still sees every call", async () => {
    const seen: string[] = [];
    const listener = (query: { sql: string }): void => {
      seen.push(query.sql);
    };
    db.on('query', listener);
    try {
      const upload = await repos.journal.accept(newUpload());
      const claim = randomUUID();
      await repos.journal.record(upload.id, { status: 'processing', patch: { attempts: 1, claimToken: claim }, event: { type: 'processing', data: { attempt: 1 } } });
      await repos.journal.record(upload.id, { patch: { progress: 50 }, event: { type: 'progress', data: { step: 'rendered', percent: 50 } } }, { claim });
    } finally {
      db.off('query', listener);
    }
    const journalWrites = (sql: string): boolean => sql.includes('for update') && sql.includes('insert into upload_events');
    expect(seen.filter(journalWrites)).toHaveLength(2);
    const prepared = await db.raw<{ rows: Array<{ statement: string }> }>('select statement from pg_prepared_statements');
    expect(prepared.rows.filter((row) => journalWrites(row.statement))).toHaveLength(1);
  });

  it('changes only the columns a patch names (null clears one), and only under the claim it is given', async () => {
    const upload = await repos.journal.accept(newUpload());
    const claim = randomUUID();
    await repos.journal.record(upload.id, { status: 'processing', patch: { claimToken: claim }, event: { type: 'processing', data: { attempt: 1 } } });
    expect(await repos.uploads.update(upload.id, { masterFileId: 'group1/M00/00/00/a.webp' }, { claim: randomUUID() })).toBeUndefined();
    const mastered = await repos.uploads.update(upload.id, { masterFileId: 'group1/M00/00/00/a.webp' }, { claim });
    expect(mastered).toMatchObject({ masterFileId: 'group1/M00/00/00/a.webp', stagedPath: '/tmp/x', status: 'processing', claimToken: claim });

    const forgotten = await repos.journal.record(upload.id, { patch: { stagedPath: null, progress: 80 }, event: { type: 'progress', data: { step: 'storing', percent: 80 } } }, { claim });
    expect(forgotten).toMatchObject({ stagedPath: null, progress: 80, masterFileId: 'group1/M00/00/00/a.webp', claimToken: claim, lastEventSeq: 3 });
  });

  it('runs in the transaction it is given: a rollback takes its write and event back', async () => {
    const upload = await repos.journal.accept(newUpload());
    await expect(
      repos.transaction(async (tx) => {
        await tx.journal.record(upload.id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await repos.uploads.findById(upload.id)).toMatchObject({ status: 'queued', lastEventSeq: 1 });
    expect(await repos.events.listAfter(upload.id, 0, 10)).toHaveLength(1);
  });

  it('keeps working when a migration adds a column while the statements are prepared (they never return *)', async () => {
    const first = await repos.journal.accept(newUpload());
    await repos.journal.record(first.id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
    await db.raw('alter table uploads add column added_later text');
    await db.raw('alter table user_detail add column added_later text');
    try {
      const second = await repos.journal.accept(newUpload());
      expect(await repos.journal.record(second.id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } })).toMatchObject({ status: 'processing' });
      expect(await repos.uploads.update(second.id, { progress: 10 })).toMatchObject({ progress: 10 });
      await repos.userDetail.ensureUsers([{ id: 1, username: 'one' }]);
      expect(await repos.transaction((tx) => tx.userDetail.lockForAvatarChange(1, second.id))).toMatchObject({ userId: 1 });
    } finally {
      await db.raw('alter table uploads drop column added_later');
      await db.raw('alter table user_detail drop column added_later');
    }
  });
});
