import type { Knex } from 'knex';

/**
 * Staging intents: a FastDFS file id written right after the staged original is uploaded and
 * deleted once an upload row names it (or the file is removed). FastDFS cannot list its
 * files, so this is how the sweeper finds an original whose request died before its row was
 * written. `uploads.staged_path` holds either a local path or a FastDFS file id.
 */
export const stagedOriginals: Knex.Migration = {
  async up(knex) {
    await knex.schema.createTable('staged_originals', (t) => {
      t.text('file_id').primary();
      t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
      t.index(['created_at']);
    });
  },
  async down(knex) {
    await knex.schema.dropTable('staged_originals');
  },
};
