import { randomBytes } from 'node:crypto';
import knex from 'knex';
import { createDb, type Db } from '../db/create-db.js';
import { migrateToLatest } from '../db/migration-source.js';
import { Repositories, type TableNames } from '../repositories/repositories.js';

export interface TestDatabase {
  name: string;
  url: string;
  db: Db;
  /** The repositories on `db`, built as a process's composition root builds them. */
  repos: Repositories;
  /** Destroys the pool and drops the database. */
  drop(): Promise<void>;
}

const adminUrl = (): string => process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, migrated database per test file, so files run in parallel without sharing rows. */
export async function createTestDatabase(tables: TableNames = { users: 'users', userDetail: 'user_detail' }): Promise<TestDatabase> {
  const name = `avatar_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: adminUrl(), pool: { min: 0, max: 1 } });
  try {
    await admin.raw('create database ??', [name]);
  } finally {
    await admin.destroy();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const db = createDb({ databaseUrl: url.toString(), poolMax: 5 });
  await migrateToLatest(db, tables);
  return {
    name,
    url: url.toString(),
    db,
    repos: new Repositories(db, tables),
    async drop() {
      await db.destroy();
      const dropper = knex({ client: 'pg', connection: adminUrl(), pool: { min: 0, max: 1 } });
      try {
        await dropper.raw('drop database if exists ?? with (force)', [name]);
      } finally {
        await dropper.destroy();
      }
    },
  };
}
