import { createDb, migrateToLatest, Repositories, type Config } from '@avatar/shared';

export interface RunDatabase {
  name: string;
  url: string;
  /** Drops the database (with the system's connections still open, if any). */
  drop(): Promise<void>;
}

/** Users are inserted this many at a time. */
const USER_BATCH = 1000;

/**
 * The load test's own database on the developer's PostgreSQL server: created, migrated and
 * given users `1…userCount`, then dropped, so a run never touches the developer's data.
 */
export async function createRunDatabase(serverUrl: string, name: string, tables: Config['tables'], userCount: number): Promise<RunDatabase> {
  const adminUrl = new URL(serverUrl);
  adminUrl.pathname = '/postgres';
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const admin = createDb({ databaseUrl: adminUrl.toString(), poolMax: 1 });
  try {
    await admin.raw('create database ??', [name]);
  } finally {
    await admin.destroy();
  }
  const drop = async (): Promise<void> => {
    const dropper = createDb({ databaseUrl: adminUrl.toString(), poolMax: 1 });
    try {
      await dropper.raw('drop database if exists ?? with (force)', [name]);
    } finally {
      await dropper.destroy();
    }
  };
  const db = createDb({ databaseUrl: url.toString(), poolMax: 2 });
  try {
    await migrateToLatest(db, tables);
    const users = new Repositories(db, tables).userDetail;
    for (let from = 1; from <= userCount; from += USER_BATCH) {
      const batch = Array.from({ length: Math.min(USER_BATCH, userCount - from + 1) }, (_, i) => ({ id: from + i, username: `load${from + i}` }));
      await users.ensureUsers(batch);
    }
  } catch (error) {
    await db.destroy();
    await drop();
    throw error;
  }
  await db.destroy();
  return { name, url: url.toString(), drop };
}
