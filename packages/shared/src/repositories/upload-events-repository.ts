import type { Knex } from 'knex';
import type { UploadEvent, UploadEventType } from '../domain/upload-event.js';

interface EventRow {
  upload_id: string;
  seq: number;
  type: UploadEventType;
  data: Record<string, unknown>;
  created_at: Date;
}

/** The channel on which each committed event is announced as `<uploadId>:<seq>`. */
export const UPLOAD_EVENTS_CHANNEL = 'upload_events';

export class UploadEventsRepository {
  constructor(private readonly db: Knex) {}

  /** Inserts the event and queues a NOTIFY, which PostgreSQL delivers only if the transaction commits. */
  async insert(uploadId: string, seq: number, type: UploadEventType, data: object): Promise<void> {
    await this.db('upload_events').insert({ upload_id: uploadId, seq, type, data: JSON.stringify(data) });
    await this.db.raw('select pg_notify(?, ?)', [UPLOAD_EVENTS_CHANNEL, `${uploadId}:${seq}`]);
  }

  /** Whether the `retrying` event of a given attempt was already written (a re-run after a crash keeps its attempt number). */
  async hasRetryForAttempt(uploadId: string, attempt: number): Promise<boolean> {
    const row = await this.db('upload_events')
      .where({ upload_id: uploadId, type: 'retrying' })
      .whereRaw("(data->>'attempt')::int = ?", [attempt])
      .first('seq');
    return row !== undefined;
  }

  async listAfter(uploadId: string, afterSeq: number, limit: number): Promise<UploadEvent[]> {
    const rows: EventRow[] = await this.db('upload_events')
      .where({ upload_id: uploadId })
      .andWhere('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit);
    return rows.map((row) => ({ uploadId: row.upload_id, seq: row.seq, type: row.type, data: row.data, createdAt: row.created_at }));
  }
}
