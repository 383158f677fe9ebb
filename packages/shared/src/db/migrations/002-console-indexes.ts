import type { Knex } from 'knex';

/** A migration knex runs outside any transaction (`config.transaction`, which knex's own type omits). */
export type NonTransactionalMigration = Knex.Migration & { config: { transaction: false } };

const indexes = [
  { name: 'uploads_created_at_id_index', columns: '(created_at, id)' },
  { name: 'uploads_status_created_at_id_index', columns: '(status, created_at, id)' },
] as const;

/**
 * Indexes for the operator console. Its recent list pages newest first by the key
 * (created_at, id), alone or within one status; its stats count a window of created_at.
 * The existing (user_id, created_at) index serves a search by user, (status, updated_at) the sweepers.
 *
 * Built `concurrently`, so uploads keep being accepted while a large table is indexed (a
 * plain build blocks every insert until it ends). That cannot run inside a transaction,
 * hence `transaction: false`. A concurrent build that was interrupted leaves an invalid
 * index behind, which `if not exists` would keep: such a leftover is dropped and rebuilt.
 */
export const consoleIndexes: NonTransactionalMigration = {
  config: { transaction: false },
  async up(knex) {
    for (const index of indexes) {
      const invalid = await knex.raw<{ rows: unknown[] }>('select 1 from pg_index where indexrelid = to_regclass(?) and not indisvalid', [index.name]);
      if (invalid.rows.length > 0) await knex.raw(`drop index concurrently if exists ${index.name}`);
      await knex.raw(`create index concurrently if not exists ${index.name} on uploads ${index.columns}`);
    }
  },
  async down(knex) {
    for (const index of [...indexes].reverse()) await knex.raw(`drop index concurrently if exists ${index.name}`);
  },
};
