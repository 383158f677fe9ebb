import type { Knex } from 'knex';
import { columnList, preparedStatement, runPrepared } from '../db/prepared-statement.js';
import type { AvatarVariant, NewUploadEvent } from '../domain/upload-event.js';
import { isErrorCode, type ErrorCode } from '../errors/error-codes.js';
import type { NewUpload, Upload } from '../domain/upload.js';
import { liveStatuses, terminalStatusList, type UploadStatus } from '../domain/upload-status.js';
import type { TableNames } from './repositories.js';
import { UPLOAD_EVENTS_CHANNEL } from './upload-events-repository.js';

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

/** Every column of `uploads`: what the prepared statements return (never `*`, see PreparedStatement). */
const uploadColumns = [
  'id', 'user_id', 'status', 'progress', 'idempotency_key', 'declared_type', 'detected_type', 'size_bytes', 'sha256', 'width', 'height', 'staged_path',
  'master_file_id', 'variants', 'claim_token', 'error_code', 'error_message', 'attempts', 'last_event_seq', 'files_deleted_at', 'created_at', 'updated_at',
] as const satisfies ReadonlyArray<keyof UploadRow>;

export interface UploadPatch {
  status?: UploadStatus;
  progress?: number;
  stagedPath?: string | null;
  masterFileId?: string | null;
  variants?: AvatarVariant[] | null;
  claimToken?: string | null;
  errorCode?: ErrorCode | null;
  errorMessage?: string | null;
  attempts?: number;
  lastEventSeq?: number;
}

/** What a list of uploads shows (the console's): a few columns, not the whole upload. */
export type UploadSummary = Pick<Upload, 'id' | 'userId' | 'status' | 'detectedType' | 'sizeBytes' | 'errorCode' | 'createdAt' | 'updatedAt'>;

/** The columns an `UploadSummary` is read from: select only these for a list. */
export const uploadSummaryColumns = ['id', 'user_id', 'status', 'detected_type', 'size_bytes', 'error_code', 'created_at', 'updated_at'] as const satisfies ReadonlyArray<keyof UploadRow>;
export type UploadSummaryRow = Pick<UploadRow, (typeof uploadSummaryColumns)[number]>;

/** A code written by an older release and since renamed reads as `internal_error`, never as an unknown string. */
function knownErrorCode(code: string): ErrorCode {
  return isErrorCode(code) ? code : 'internal_error';
}

/** The one mapping of those columns; `toUpload` adds the rest. */
export function toUploadSummary(row: UploadSummaryRow): UploadSummary {
  return {
    id: row.id,
    userId: Number(row.user_id),
    status: row.status,
    detectedType: row.detected_type,
    sizeBytes: Number(row.size_bytes),
    errorCode: row.error_code === null ? null : knownErrorCode(row.error_code),
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

/** Each patch field's column, and the type its value is sent as. */
const patchColumns = {
  status: ['status', 'text'],
  progress: ['progress', 'smallint'],
  stagedPath: ['staged_path', 'text'],
  masterFileId: ['master_file_id', 'text'],
  variants: ['variants', 'jsonb'],
  claimToken: ['claim_token', 'uuid'],
  errorCode: ['error_code', 'text'],
  errorMessage: ['error_message', 'text'],
  attempts: ['attempts', 'integer'],
  lastEventSeq: ['last_event_seq', 'integer'],
} as const satisfies { [field in keyof UploadPatch]-?: readonly [keyof UploadRow, string] };

type PatchField = keyof typeof patchColumns;

/**
 * A patch as a prepared statement applies it, with one text whatever the patch: `$<first>` is
 * the list of columns the patch sets, then one value per field of `fields` (null when not
 * set). A column outside the list keeps its value; one in it with a null value becomes null.
 */
function patchAssignments(fields: readonly PatchField[], first: number): string {
  return fields
    .map((field, i) => {
      const [column, type] = patchColumns[field];
      return `${column} = case when '${column}' = any($${first}::text[]) then $${first + 1 + i}::${type} else u.${column} end`;
    })
    .join(',\n    ');
}

/** The values `patchAssignments(fields, …)` reads: the columns `patch` sets, then each field's value. */
function patchValues(patch: UploadPatch, fields: readonly PatchField[]): unknown[] {
  const set: string[] = [];
  const values = fields.map((field) => {
    const value = patch[field];
    if (value === undefined) return null;
    set.push(patchColumns[field][0]);
    return field === 'variants' && value !== null ? JSON.stringify(value) : value;
  });
  return [set, ...values];
}

/** The fields a journal write may patch: the event's number is the statement's own. */
const journalFields = (Object.keys(patchColumns) as PatchField[]).filter((field) => field !== 'lastEventSeq');
const updateFields = Object.keys(patchColumns) as PatchField[];

/**
 * The journal's write (`updateWithEvent`): locks the row, checks its status (`$2`) and claim
 * (`$3`, none when null) on the row as locked (after any commit it waited for, not on the
 * statement's snapshot), applies the patch, appends the next event with its NOTIFY.
 */
const updateWithEventStatement = preparedStatement(`with current as (
  select id, status, claim_token, last_event_seq from uploads where id = $1 for update
), updated as (
  update uploads u set
    ${patchAssignments(journalFields, 7)},
    last_event_seq = current.last_event_seq + 1,
    updated_at = clock_timestamp()
  from current where u.id = current.id and current.status = any($2::text[]) and ($3::uuid is null or current.claim_token = $3)
  returning ${columnList(uploadColumns, 'u')}
), event as (
  insert into upload_events (upload_id, seq, type, data) select id, last_event_seq, $4, $5::jsonb from updated
)
select ${columnList(uploadColumns, 'updated')}, pg_notify($6, updated.id::text || ':' || updated.last_event_seq) is null as notified from updated`);

/** `update`: the patch (from `$3`), while the row holds claim `$2` (any claim when null). */
const updateStatement = preparedStatement(`update uploads u set
    ${patchAssignments(updateFields, 3)},
    updated_at = clock_timestamp()
  where u.id = $1 and ($2::uuid is null or u.claim_token = $2)
  returning ${columnList(uploadColumns, 'u')}`);

/** `insertWithFirstEvent`: the row (`queued`, event 1), its event and the NOTIFY, in one statement. */
const insertWithFirstEventStatement = preparedStatement(`with inserted as (
  insert into uploads (id, user_id, status, idempotency_key, declared_type, detected_type, size_bytes, sha256, width, height, staged_path, last_event_seq)
  values ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, 1)
  returning ${columnList(uploadColumns)}
), event as (
  insert into upload_events (upload_id, seq, type, data) select id, 1, $11, $12::jsonb from inserted
)
select ${columnList(uploadColumns, 'inserted')}, pg_notify($13, inserted.id::text || ':1') is null as notified from inserted`);

const markFilesDeletedStatement = preparedStatement('update uploads set files_deleted_at = now() where id = $1');

/** Failed uploads whose staged original waits for an operator's retry: failed with one of `codes` at or after `since`. */
export interface KeptOriginals {
  codes: readonly string[];
  since: Date;
}

/** The unique index on `(user_id, idempotency_key)` (migration 001). */
const IDEMPOTENCY_KEY_CONSTRAINT = 'uploads_user_id_idempotency_key_unique';
/** PostgreSQL's SQLSTATE for a unique violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * `insert` met another upload of the same user under the same Idempotency-Key: a concurrent
 * request with that key recorded its upload first. Nothing was written.
 */
export class IdempotencyKeyTakenError extends Error {
  readonly userId: number;
  readonly idempotencyKey: string;

  constructor(taken: { userId: number; idempotencyKey: string; cause?: unknown }) {
    super(`User ${taken.userId} already has an upload under this Idempotency-Key`, { cause: taken.cause });
    this.name = 'IdempotencyKeyTakenError';
    this.userId = taken.userId;
    this.idempotencyKey = taken.idempotencyKey;
  }
}

function violatesIdempotencyKey(error: unknown): boolean {
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === UNIQUE_VIOLATION && constraint === IDEMPOTENCY_KEY_CONSTRAINT;
}

/** Reads and writes `uploads` rows; no product rules here (those are in UploadJournal and the worker). */
export class UploadsRepository {
  constructor(
    private readonly db: Knex,
    private readonly tables: Pick<TableNames, 'userDetail'>,
  ) {}

  /** Throws IdempotencyKeyTakenError when the user already has an upload under `upload.idempotencyKey`. */
  /**
   * Inserts the upload (`queued`, `last_event_seq` 1) with its first event and queues the
   * NOTIFY, in one statement: one round trip, and atomic on its own. Throws
   * IdempotencyKeyTakenError, with nothing written, when the user's key is taken.
   */
  async insertWithFirstEvent(upload: NewUpload, event: NewUploadEvent): Promise<Upload> {
    const rows = await runPrepared<UploadRow>(this.db, insertWithFirstEventStatement, [
      upload.id, upload.userId, upload.idempotencyKey, upload.declaredType, upload.detectedType,
      upload.sizeBytes, upload.sha256, upload.width, upload.height, upload.stagedPath,
      event.type, JSON.stringify(event.data), UPLOAD_EVENTS_CHANNEL,
    ]).catch((error: unknown) => {
      if (upload.idempotencyKey !== null && violatesIdempotencyKey(error)) {
        throw new IdempotencyKeyTakenError({ userId: upload.userId, idempotencyKey: upload.idempotencyKey, cause: error });
      }
      throw error;
    });
    return toUpload(rows[0] as UploadRow);
  }

  /**
   * Applies `patch` and appends the row's next event (with its NOTIFY) in one statement,
   * only while the row's status is one of `from` and, with `claim`, it holds that claim
   * token; undefined when nothing matched. The row lock (FOR UPDATE re-reads a row another
   * transaction changed meanwhile) numbers events without gaps or duplicates. Which
   * statuses a change may start from is the caller's rule (UploadJournal's).
   */
  async updateWithEvent(id: string, change: { from: readonly UploadStatus[]; claim?: string; patch: UploadPatch; event: NewUploadEvent }): Promise<Upload | undefined> {
    const [row] = await runPrepared<UploadRow>(this.db, updateWithEventStatement, [
      id,
      change.from,
      change.claim ?? null,
      change.event.type,
      JSON.stringify(change.event.data),
      UPLOAD_EVENTS_CHANNEL,
      ...patchValues(change.patch, journalFields),
    ]);
    return row ? toUpload(row) : undefined;
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

  async markFilesDeleted(id: string): Promise<void> {
    await runPrepared(this.db, markFilesDeletedStatement, [id]);
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
    const [row] = await runPrepared<UploadRow>(this.db, updateStatement, [id, options.claim ?? null, ...patchValues(patch, updateFields)]);
    return row ? toUpload(row) : undefined;
  }

  /** Non-terminal uploads untouched since `before`: candidates for the outbox re-enqueue. */
  /**
   * In acceptance order; `afterId` continues after that upload, so a sweep can page through a
   * backlog instead of re-reading its oldest rows every time.
   */
  async findStale(before: Date, limit: number, afterId?: string): Promise<Upload[]> {
    const query = this.db<UploadRow>('uploads')
      .whereIn('status', liveStatuses)
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
      .whereIn('status', terminalStatusList)
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
      q.whereIn('status', liveStatuses);
      if (kept) q.orWhere((k) => k.where('status', 'failed').whereIn('error_code', kept.codes).andWhere('updated_at', '>=', kept.since));
    });
    const rows = await query;
    return new Set(rows.map((r: { staged_path: string }) => r.staged_path));
  }

  /** Terminal uploads whose stored files are not the user's current avatar: their files may be deleted. */
  async findOrphanedStoredFiles(before: Date, limit: number): Promise<Upload[]> {
    const userDetailTable = this.tables.userDetail;
    const rows: UploadRow[] = await this.db('uploads as u')
      .select('u.*')
      .whereIn('u.status', terminalStatusList)
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
