import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppMigrationSource, type Db } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';

const tables = { users: 'users', userDetail: 'user_detail' };
const consoleIndexNames = ['uploads_created_at_id_index', 'uploads_status_created_at_id_index'];

/** The console indexes that exist, with whether each is valid (a failed concurrent build leaves an invalid one). */
async function consoleIndexes(db: Db): Promise<Record<string, { valid: boolean; definition: string }>> {
  const result = await db.raw<{ rows: Array<{ name: string; valid: boolean; definition: string }> }>(
    `select c.relname as name, i.indisvalid as valid, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = any(?)`,
    [consoleIndexNames],
  );
  return Object.fromEntries(result.rows.map((r) => [r.name, { valid: r.valid, definition: r.definition }]));
}

async function insertUpload(db: Db, userId = 1): Promise<void> {
  await db('uploads').insert({ id: randomUUID(), user_id: userId, status: 'queued', detected_type: 'image/png', size_bytes: 1, sha256: 'x', width: 1, height: 1 });
}

describe('the console index migration (002)', () => {
  let tdb: TestDatabase;
  const source = new AppMigrationSource(tables);
  beforeAll(async () => {
    tdb = await createTestDatabase(tables);
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('migrates up, down and up again', async () => {
    expect(Object.values(await consoleIndexes(tdb.db))).toEqual([expect.objectContaining({ valid: true }), expect.objectContaining({ valid: true })]);
    await tdb.db.migrate.down({ migrationSource: source, name: '002-console-indexes' });
    expect(await consoleIndexes(tdb.db)).toEqual({});
    expect(await tdb.db.migrate.latest({ migrationSource: source })).toEqual([expect.any(Number), ['002-console-indexes']]);
    const built = await consoleIndexes(tdb.db);
    expect(Object.keys(built).sort()).toEqual(consoleIndexNames);
    expect(Object.values(built).every((i) => i.valid)).toBe(true);
  });

  it('builds without blocking uploads: an insert goes through while the build waits for an open transaction', async () => {
    await tdb.db.migrate.down({ migrationSource: source, name: '002-console-indexes' });
    // an upload being accepted, its transaction still open: any index build must wait for it
    const accepting = await tdb.db.transaction();
    await insertUpload(accepting);
    const migrating = tdb.db.migrate.latest({ migrationSource: source });
    try {
      await waitForIndexBuildToWait(tdb.db);
      // a plain CREATE INDEX queues a table lock that blocks this insert behind it; a concurrent one does not
      await tdb.db.transaction(async (trx) => {
        await trx.raw(`set local lock_timeout = '5s'`);
        await insertUpload(trx, 2);
      });
    } finally {
      await accepting.commit();
      await migrating;
    }
    expect(Object.values(await consoleIndexes(tdb.db)).map((i) => i.valid)).toEqual([true, true]);
  });

  it('rebuilds an index a failed concurrent build left invalid', async () => {
    await tdb.db.migrate.down({ migrationSource: source, name: '002-console-indexes' });
    await insertUpload(tdb.db, 7);
    await insertUpload(tdb.db, 7);
    // a unique build over duplicates fails half-way, leaving an invalid index under the migration's name
    await expect(tdb.db.raw('create unique index concurrently uploads_created_at_id_index on uploads (user_id)')).rejects.toThrow(/could not create unique index/);
    expect((await consoleIndexes(tdb.db)).uploads_created_at_id_index?.valid).toBe(false);

    await tdb.db.migrate.latest({ migrationSource: source });
    const rebuilt = (await consoleIndexes(tdb.db)).uploads_created_at_id_index;
    expect(rebuilt?.valid).toBe(true);
    expect(rebuilt?.definition).toContain('(created_at, id)');
  });
});

/** Until a CREATE INDEX of the migration is waiting on a lock in pg_stat_activity. */
async function waitForIndexBuildToWait(db: Db): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const result = await db.raw<{ rows: unknown[] }>(`select 1 from pg_stat_activity where datname = current_database() and query ilike 'create index%' and wait_event_type = 'Lock'`);
    if (result.rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the index build never started waiting');
}
