import type { Knex } from 'knex';
import { terminalStatusList, uploadStatuses, type UploadStatus } from '../domain/upload-status.js';
import { toUploadSummary, uploadSummaryColumns, type UploadSummary, type UploadSummaryRow } from './uploads-repository.js';

export interface MinuteCount {
  /** the start of the minute */
  minute: Date;
  total: number;
  failed: number;
  /** done, failed or superseded: the denominator of a failure rate */
  finished: number;
}

export interface UploadPage {
  uploads: UploadSummary[];
  /** the last row's id: pass as `after` for the next page; undefined on the last page */
  next: string | undefined;
}

export interface ListFilter {
  status?: UploadStatus;
  userId?: number;
  /** continue after this upload (keyset on (created_at, id), newest first) */
  after?: string;
  limit: number;
}

/**
 * The console's read-only questions about `uploads`. Every window is on `created_at` (when
 * the upload was accepted; its status is the current one), so each query is a range scan of
 * the (created_at, id) or (status, created_at, id) index, never a scan of the table.
 */
export class UploadStatsRepository {
  constructor(private readonly db: Knex) {}

  /** Uploads accepted in [since, until), by current status; every status is present. */
  async countByStatus(since: Date, until: Date): Promise<Record<UploadStatus, number>> {
    const rows = (await this.db('uploads').where('created_at', '>=', since).andWhere('created_at', '<', until).groupBy('status').select('status').count('* as count')) as Array<{ status: UploadStatus; count: string }>;
    const counts = Object.fromEntries(uploadStatuses.map((status) => [status, 0])) as Record<UploadStatus, number>;
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  }

  /** Per-minute counts of uploads accepted in [since, until); minutes with none are absent. */
  async countPerMinute(since: Date, until: Date): Promise<MinuteCount[]> {
    const result = await this.db.raw<{ rows: Array<{ minute: Date; total: string; failed: string; finished: string }> }>(
      `select date_trunc('minute', created_at) as minute, count(*) as total,
              count(*) filter (where status = 'failed') as failed,
              count(*) filter (where status = any(?)) as finished
         from uploads where created_at >= ? and created_at < ? group by 1 order by 1`,
      [[...terminalStatusList], since, until],
    );
    return result.rows.map((r) => ({ minute: r.minute, total: Number(r.total), failed: Number(r.failed), finished: Number(r.finished) }));
  }

  /** The most frequent error codes of failed uploads accepted in [since, until), most frequent first. */
  async topFailureCodes(since: Date, until: Date, limit: number): Promise<Array<{ code: string; count: number }>> {
    const rows = (await this.db('uploads')
      .where('status', 'failed')
      .andWhere('created_at', '>=', since)
      .andWhere('created_at', '<', until)
      .groupBy('error_code')
      .select('error_code as code')
      .count('* as count')
      .orderBy([{ column: 'count', order: 'desc' }, { column: 'code' }])
      .limit(limit)) as Array<{ code: string | null; count: string }>;
    return rows.map((r) => ({ code: r.code ?? 'unknown', count: Number(r.count) }));
  }

  /**
   * A page of uploads, newest first, optionally of one status or one user. Keyset paging on
   * (created_at, id): the cursor is the last row's id and its key is read in SQL, so the
   * microseconds of created_at (which a JS Date drops) never leave the database.
   */
  async list(filter: ListFilter): Promise<UploadPage> {
    const query = this.db<UploadSummaryRow>('uploads')
      .select(...uploadSummaryColumns)
      .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
      .limit(filter.limit + 1);
    if (filter.status) query.where('status', filter.status);
    if (filter.userId !== undefined) query.where('user_id', filter.userId);
    if (filter.after) query.whereRaw('(created_at, id) < (select created_at, id from uploads where id = ?)', [filter.after]);
    const rows = (await query) as UploadSummaryRow[];
    const page = rows.slice(0, filter.limit).map(toUploadSummary);
    return { uploads: page, next: rows.length > filter.limit ? page.at(-1)?.id : undefined };
  }
}
