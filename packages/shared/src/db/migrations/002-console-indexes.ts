import type { Knex } from 'knex';

/**
 * Indexes for the operator console. Its recent list pages newest first by the key
 * (created_at, id), alone or within one status; its stats count a window of created_at.
 * The existing (user_id, created_at) index serves a search by user, (status, updated_at) the sweepers.
 */
export const consoleIndexes: Knex.Migration = {
  async up(knex) {
    await knex.raw('create index if not exists uploads_created_at_id_index on uploads (created_at, id)');
    await knex.raw('create index if not exists uploads_status_created_at_id_index on uploads (status, created_at, id)');
  },
  async down(knex) {
    await knex.raw('drop index if exists uploads_status_created_at_id_index');
    await knex.raw('drop index if exists uploads_created_at_id_index');
  },
};
