import type { Knex } from 'knex';
import type { AvatarVariant } from '../domain/upload-event.js';
import type { NewUpload, Upload } from '../domain/upload.js';
import type { UploadStatus } from '../domain/upload-status.js';

interface UploadRow {
  id: string;
  user_id: string | number;
  status: UploadStatus;
  progress: number;
  idempotency_key: string | null;
  declared_type: string | null;
  detected_type: string;
  size_bytes: string | number;
  sha256: string;
  width: number;
  height: number;
  staged_path: string | null;
  master_file_id: string | null;
  variants: AvatarVariant[] | null;
  claim_token: string | null;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  last_event_seq: number;
  files_deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface UploadPatch {
  status?: UploadStatus;
  progress?: number;
  stagedPath?: string | null;
  masterFileId?: string | null;
  variants?: AvatarVariant[] | null;
  claimToken?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  attempts?: number;
  lastEventSeq?: number;
}

/** What a list of uploads shows (the console's): a few columns, not the whole upload. */
export type UploadSummary = Pick<Upload, 'id' | 'userId' | 'status' | 'detectedType' | 'sizeBytes' | 'errorCode' | 'createdAt' | 'updatedAt'>;

/** The columns an `UploadSummary` is read from: select only these for a list. */
export const uploadSummaryColumns = ['id', 'user_id', 'status', 'detected_type', 'size_bytes', 'error_code', 'created_at', 'updated_at'] as const satisfies ReadonlyArray<keyof UploadRow>;
export type UploadSummaryRow = Pick<UploadRow, (typeof uploadSummaryColumns)[number]>;

/** The one mapping of those columns; `toUpload` adds the rest. */
export function toUploadSummary(row: UploadSummaryRow): UploadSummary {
  return {
    id: row.id,
    userId: Number(row.user_id),
    status: row.status,
    detectedType: row.detected_type,
    sizeBytes: Number(row.size_bytes),
    errorCode: row.error_code,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toUpload(row: UploadRow): Upload {
  return {
    ...toUploadSummary(row),
    progress: row.progress,
    idempotencyKey: row.idempotency_key,
    declaredType: row.declared_type,
    sha256: row.sha256,
    width: row.width,
    height: row.height,
    stagedPath: row.staged_path,
    masterFileId: row.master_file_id,
    variants: row.variants,
    claimToken: row.claim_token,
    errorMessage: row.error_message,
    attempts: row.attempts,
    lastEventSeq: row.last_event_seq,
  };
}

function toRowPatch(patch: UploadPatch): Partial<UploadRow> {
  const row: Partial<UploadRow> = {};
  if (patch.status !== undefined) row.status = patch.status;
  if (patch.progress !== undefined) row.progress = patch.progress;
  if (patch.stagedPath !== undefined) row.staged_path = patch.stagedPath;
  if (patch.masterFileId !== undefined) row.master_file_id = patch.masterFileId;
  if (patch.variants !== undefined) row.variants = patch.variants === null ? null : (JSON.stringify(patch.variants) as unknown as AvatarVariant[]);
  if (patch.claimToken !== undefined) row.claim_token = patch.claimToken;
  if (patch.errorCode !== undefined) row.error_code = patch.errorCode;
  if (patch.errorMessage !== undefined) row.error_message = patch.errorMessage;
  if (patch.attempts !== undefined) row.attempts = patch.attempts;
  if (patch.lastEventSeq !== undefined) row.last_event_seq = patch.lastEventSeq;
  return row;
}

/** Failed uploads whose staged original waits for an operator's retry: failed with one of `codes` at or after `since`. */
export interface KeptOriginals {
  codes: readonly string[];
  since: Date;
}

/** Reads and writes `uploads` rows; no product rules here (those are in UploadJournal and the worker). */
export class UploadsRepository {
  constructor(private readonly db: Knex) {}

  async insert(upload: NewUpload): Promise<Upload> {
    const [row] = await this.db<UploadRow>('uploads')
      .insert({
        id: upload.id,
        user_id: upload.userId,
        status: 'queued',
        idempotency_key: upload.idempotencyKey,
        declared_type: upload.declaredType,
        detected_type: upload.detectedType,
        size_bytes: upload.sizeBytes,
        sha256: upload.sha256,
        width: upload.width,
        height: upload.height,
        staged_path: upload.stagedPath,
      })
      .returning('*');
    return toUpload(row as UploadRow);
  }

  async findById(id: string, options: { forUpdate?: boolean } = {}): Promise<Upload | undefined> {
    const query = this.db<UploadRow>('uploads').where({ id }).first();
    const row = await (options.forUpdate ? query.forUpdate() : query);
    return row ? toUpload(row as UploadRow) : undefined;
  }

  async findByIdempotencyKey(userId: number, key: string): Promise<Upload | undefined> {
    const row = await this.db<UploadRow>('uploads').where({ user_id: userId, idempotency_key: key }).first();
    return row ? toUpload(row as UploadRow) : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.db('uploads').where({ id }).delete();
  }

  /**
   * True when upload `a` was accepted after upload `b`: `created_at` (to the microsecond,
   * which a JS Date cannot hold), then `id`. The newest accepted upload wins the avatar.
   */
  async isAcceptedAfter(a: string, b: string): Promise<boolean> {
    const result = await this.db.raw<{ rows: Array<{ newer: boolean }> }>(
      `select (a.created_at, a.id) > (b.created_at, b.id) as newer from uploads a, uploads b where a.id = ? and b.id = ?`,
      [a, b],
    );
    // b gone (should not happen: rows are never deleted once processed) counts as older
    return result.rows[0]?.newer ?? true;
  }

  async markFilesDeleted(id: string): Promise<void> {
    await this.db('uploads').where({ id }).update({ files_deleted_at: this.db.fn.now() });
  }

  /** Frees a key whose 24 h window has passed, so the unique index admits it again. */
  async releaseIdempotencyKey(id: string): Promise<void> {
    await this.db('uploads').where({ id }).update({ idempotency_key: null });
  }

  /**
   * Applies `patch`; undefined when no row matched. With `claim`, only while the row still
   * holds that claim token: a run that lost its upload to another run changes nothing.
   */
  async update(id: string, patch: UploadPatch, options: { claim?: string } = {}): Promise<Upload | undefined> {
    const match = options.claim === undefined ? { id } : { id, claim_token: options.claim };
    const [row] = await this.db<UploadRow>('uploads')
      .where(match)
      .update({ ...toRowPatch(patch), updated_at: this.db.raw('clock_timestamp()') as unknown as Date })
      .returning('*');
    return row ? toUpload(row as UploadRow) : undefined;
  }

  /** Non-terminal uploads untouched since `before`: candidates for the outbox re-enqueue. */
  /**
   * In acceptance order; `afterId` continues after that upload, so a sweep can page through a
   * backlog instead of re-reading its oldest rows every time.
   */
  async findStale(before: Date, limit: number, afterId?: string): Promise<Upload[]> {
    const query = this.db<UploadRow>('uploads')
      .whereIn('status', ['queued', 'processing', 'retrying'])
      .andWhere('updated_at', '<', before)
      .orderBy([{ column: 'created_at' }, { column: 'id' }])
      .limit(limit);
    if (afterId) query.andWhereRaw('(created_at, id) > (select created_at, id from uploads where id = ?)', [afterId]);
    const rows = await query;
    return rows.map((row) => toUpload(row as UploadRow));
  }

  /**
   * Terminal uploads that still name a staged file (its removal failed or was interrupted),
   * except failed uploads whose original is `kept` for an operator's retry and that failed
   * after `kept.since`.
   */
  async findTerminalWithStagedFile(limit: number, kept?: KeptOriginals): Promise<Upload[]> {
    const query = this.db<UploadRow>('uploads')
      .whereIn('status', ['done', 'failed', 'superseded'])
      .whereNotNull('staged_path')
      .limit(limit);
    // coalesce: a failed row without a code must still be swept, not dropped by a null comparison
    if (kept) query.whereRaw(`not (status = 'failed' and coalesce(error_code, '') = any(?) and updated_at >= ?)`, [[...kept.codes], kept.since]);
    const rows = await query;
    return rows.map((row) => toUpload(row as UploadRow));
  }

  /** Every staged path a live (non-terminal) upload still needs, and those `kept` for a retry. */
  async liveStagedPaths(kept?: KeptOriginals): Promise<Set<string>> {
    const query = this.db('uploads').whereNotNull('staged_path').select('staged_path');
    query.where((q) => {
      q.whereIn('status', ['queued', 'processing', 'retrying']);
      if (kept) q.orWhere((k) => k.where('status', 'failed').whereIn('error_code', kept.codes).andWhere('updated_at', '>=', kept.since));
    });
    const rows = await query;
    return new Set(rows.map((r: { staged_path: string }) => r.staged_path));
  }

  /** Terminal uploads whose stored files are not the user's current avatar: their files may be deleted. */
  async findOrphanedStoredFiles(before: Date, limit: number, userDetailTable: string): Promise<Upload[]> {
    const rows: UploadRow[] = await this.db('uploads as u')
      .select('u.*')
      .whereIn('u.status', ['done', 'failed', 'superseded'])
      .whereNotNull('u.master_file_id')
      .whereNull('u.files_deleted_at')
      .andWhere('u.updated_at', '<', before)
      .whereNotExists(function () {
        this.select(this.client.raw('1')).from(`${userDetailTable} as d`).whereRaw('d.avatar_upload_id = u.id');
      })
      .limit(limit);
    return rows.map(toUpload);
  }
}
