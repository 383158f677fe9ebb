import { createDb, demoUsers, migrateToLatest, Repositories, type Config } from '@avatar/shared';

/** Done once by `pnpm start` before any process starts: the database, its schema and (outside production) the demo users. */
export async function prepareDatabase(config: Config): Promise<void> {
  await ensureDatabaseExists(config.databaseUrl);
  const db = createDb({ databaseUrl: config.databaseUrl, poolMax: 2 });
  try {
    await migrateToLatest(db, config.tables);
    if (config.env !== 'production') await new Repositories(db, config.tables).userDetail.ensureUsers(demoUsers);
  } finally {
    await db.destroy();
  }
}

/** One-machine convenience: the default database is created if the server does not have it yet. */
async function ensureDatabaseExists(databaseUrl: string): Promise<void> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const db = createDb({ databaseUrl: admin.toString(), poolMax: 1 });
  try {
    const found = await db.raw<{ rows: unknown[] }>('select 1 from pg_database where datname = ?', [name]);
    if (found.rows.length === 0) await db.raw('create database ??', [name]);
  } catch {
    // no rights on the maintenance database: the migration step reports a missing database clearly
  } finally {
    await db.destroy();
  }
}
