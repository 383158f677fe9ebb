import type { Knex } from 'knex';
import { initialSchema } from './migrations/001-initial-schema.js';
import { consoleIndexes } from './migrations/002-console-indexes.js';
import { stagedOriginals } from './migrations/003-staged-originals.js';

export interface SchemaTables {
  users: string;
  userDetail: string;
}

/**
 * Migrations are TypeScript modules imported here rather than files knex finds on disk, so
 * they run the same under tsx, vitest and a bundle.
 */
export class AppMigrationSource implements Knex.MigrationSource<string> {
  constructor(private readonly tables: SchemaTables) {}

  private migrations(): Record<string, Knex.Migration> {
    return { '001-initial-schema': initialSchema(this.tables), '002-console-indexes': consoleIndexes, '003-staged-originals': stagedOriginals };
  }

  getMigrations(): Promise<string[]> {
    return Promise.resolve(Object.keys(this.migrations()));
  }

  getMigrationName(migration: string): string {
    return migration;
  }

  getMigration(migration: string): Promise<Knex.Migration> {
    const found = this.migrations()[migration];
    if (!found) throw new Error(`unknown migration ${migration}`);
    return Promise.resolve(found);
  }
}

export async function migrateToLatest(db: Knex, tables: SchemaTables): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: new AppMigrationSource(tables) })) as [number, string[]];
  return applied;
}
