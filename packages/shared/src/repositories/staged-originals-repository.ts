import type { Knex } from 'knex';

/** Staging intents of the FastDFS staging backend (table `staged_originals`): see migration 003. */
export class StagedOriginalsRepository {
  constructor(private readonly db: Knex) {}

  async record(fileId: string): Promise<void> {
    await this.db('staged_originals').insert({ file_id: fileId }).onConflict('file_id').ignore();
  }

  async forget(fileId: string): Promise<void> {
    await this.db('staged_originals').where({ file_id: fileId }).delete();
  }

  /** File ids recorded before `before`, oldest first. */
  async recordedBefore(before: Date, limit: number): Promise<string[]> {
    const rows: Array<{ file_id: string }> = await this.db('staged_originals').where('created_at', '<', before).orderBy('created_at').limit(limit).select('file_id');
    return rows.map((r) => r.file_id);
  }
}
