import type { Knex } from 'knex';
import type { SchemaTables } from '../migration-source.js';

/**
 * Creates users, user_detail, uploads and upload_events. The users and user_detail names
 * come from config; where those tables already exist (an existing deployment), only the
 * avatar columns that are missing are added.
 */
export function initialSchema(tables: SchemaTables): Knex.Migration {
  return {
    async up(knex) {
      if (!(await knex.schema.hasTable(tables.users))) {
        await knex.schema.createTable(tables.users, (t) => {
          t.bigIncrements('id').primary();
          t.text('username').notNullable().unique();
          t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
        });
      }
      if (!(await knex.schema.hasTable(tables.userDetail))) {
        await knex.schema.createTable(tables.userDetail, (t) => {
          t.bigInteger('user_id').primary().references('id').inTable(tables.users).onDelete('CASCADE');
          t.text('avatar');
        });
      }
      const columns: Array<[string, (t: Knex.AlterTableBuilder) => void]> = [
        ['avatar', (t) => t.text('avatar')],
        ['avatar_file_id', (t) => t.text('avatar_file_id')],
        ['avatar_upload_id', (t) => t.uuid('avatar_upload_id')],
        ['avatar_variants', (t) => t.jsonb('avatar_variants').notNullable().defaultTo('[]')],
        ['avatar_accepted_at', (t) => t.timestamp('avatar_accepted_at', { useTz: true, precision: 6 })],
        ['updated_at', (t) => t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())],
      ];
      for (const [name, add] of columns) {
        if (!(await knex.schema.hasColumn(tables.userDetail, name))) {
          await knex.schema.alterTable(tables.userDetail, (t) => add(t));
        }
      }

      await knex.schema.createTable('uploads', (t) => {
        t.uuid('id').primary();
        // no foreign key: an upload outlives a deleted user long enough to be failed with a reason
        t.bigInteger('user_id').notNullable();
        t.text('status').notNullable().defaultTo('queued');
        t.smallint('progress').notNullable().defaultTo(0);
        t.text('idempotency_key');
        t.text('declared_type');
        t.text('detected_type').notNullable();
        t.bigInteger('size_bytes').notNullable();
        t.text('sha256').notNullable();
        t.integer('width').notNullable();
        t.integer('height').notNullable();
        t.text('staged_path');
        t.text('master_file_id');
        t.jsonb('variants');
        // the run (a fresh uuid per processing start) that may write to the upload: two runs of
        // one job (a lost BullMQ lock) must not record, commit or delete each other's files
        t.uuid('claim_token');
        // set once the stored files of a replaced, superseded or failed upload are deleted
        t.timestamp('files_deleted_at', { useTz: true });
        t.text('error_code');
        t.text('error_message');
        t.integer('attempts').notNullable().defaultTo(0);
        t.integer('last_event_seq').notNullable().defaultTo(0);
        // clock_timestamp: acceptance order must differ between uploads of one transaction-less burst
        t.timestamp('created_at', { useTz: true, precision: 6 }).notNullable().defaultTo(knex.raw('clock_timestamp()'));
        t.timestamp('updated_at', { useTz: true, precision: 6 }).notNullable().defaultTo(knex.raw('clock_timestamp()'));
        t.unique(['user_id', 'idempotency_key']);
        t.index(['user_id', 'created_at']);
        t.index(['status', 'updated_at']);
      });
      await knex.raw(
        `alter table uploads add constraint uploads_status_check check (status in ('queued','processing','retrying','done','failed','superseded'))`,
      );

      await knex.schema.createTable('upload_events', (t) => {
        t.bigIncrements('id').primary();
        t.uuid('upload_id').notNullable().references('id').inTable('uploads').onDelete('CASCADE');
        t.integer('seq').notNullable();
        t.text('type').notNullable();
        t.jsonb('data').notNullable().defaultTo('{}');
        t.timestamp('created_at', { useTz: true, precision: 6 }).notNullable().defaultTo(knex.raw('clock_timestamp()'));
        t.unique(['upload_id', 'seq']);
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('upload_events');
      await knex.schema.dropTableIfExists('uploads');
    },
  };
}
