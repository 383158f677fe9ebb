import type { Knex } from 'knex';
import { columnList, preparedStatement, quoteIdentifier, runPrepared, type PreparedStatement } from '../db/prepared-statement.js';
import type { AvatarVariant } from '../domain/upload-event.js';
import type { UserAvatar } from '../domain/upload.js';

interface DetailRow {
  user_id: string | number;
  avatar: string | null;
  avatar_file_id: string | null;
  avatar_upload_id: string | null;
  avatar_variants: AvatarVariant[] | null;
  avatar_accepted_at: Date | null;
  updated_at: Date;
}

/** The committed upload's avatar; its acceptance time is read from `uploads` in SQL (see setAvatar). */
export interface AvatarRecord {
  avatar: string;
  fileId: string;
  uploadId: string;
  variants: AvatarVariant[];
}

export interface CurrentAvatar extends UserAvatar {
  /**
   * The avatar's upload's acceptance time; with no avatar upload set, when an operator removed
   * the avatar (a watermark: uploads accepted until then never become the avatar), else null.
   */
  acceptedAt: Date | null;
}

/** The user's avatar as `lockForAvatarChange` locked it, compared with the upload being committed. */
export interface LockedAvatar extends CurrentAvatar {
  /** The avatar's upload is another one, accepted after the upload being committed: it keeps the avatar. */
  avatarAcceptedAfter: boolean;
  /** No avatar upload is set because an operator removed the avatar at or after the upload being committed was accepted. */
  removedAfterAcceptance: boolean;
}

function toAvatar(row: DetailRow): CurrentAvatar {
  return {
    userId: Number(row.user_id),
    avatar: row.avatar,
    avatarFileId: row.avatar_file_id,
    avatarUploadId: row.avatar_upload_id,
    variants: row.avatar_variants ?? [],
    acceptedAt: row.avatar_accepted_at,
    updatedAt: row.updated_at,
  };
}

/** Every column of `user_detail` read here: what its statements return (never `*`, see PreparedStatement). */
const detailColumns = ['user_id', 'avatar', 'avatar_file_id', 'avatar_upload_id', 'avatar_variants', 'avatar_accepted_at', 'updated_at'] as const satisfies ReadonlyArray<keyof DetailRow>;

/**
 * The rule that decides the avatar, in SQL over the locked or read `user_detail` row `d`: true
 * when `d`'s avatar upload was accepted after the upload `$<upload>` (`created_at` to the
 * microsecond, which a JS Date cannot hold, then `id`), or when either row is gone. A subquery
 * on `d`'s columns, not a join: after a lock wait PostgreSQL re-reads `d` and re-evaluates it.
 */
function avatarAcceptedAfter(upload: string): string {
  return `coalesce((select (a.created_at, a.id) > (b.created_at, b.id) from uploads a, uploads b
  where a.id = d.avatar_upload_id and b.id = ${upload}), true)`;
}

/** The statements of every job (and of every accepted upload: `userExists`), under the deployment's table names. */
interface DetailStatements {
  userExists: PreparedStatement;
  newerAvatarUpload: PreparedStatement;
  lockDetail: PreparedStatement;
  insertEmptyDetail: PreparedStatement;
  setAvatar: PreparedStatement;
}

function detailStatements(tables: { users: string; userDetail: string }): DetailStatements {
  const users = quoteIdentifier(tables.users);
  const details = quoteIdentifier(tables.userDetail);
  return {
    userExists: preparedStatement(`select 1 from ${users} where id = $1`),
    newerAvatarUpload: preparedStatement(
      `select d.avatar_upload_id from ${details} d where d.user_id = $1 and d.avatar_upload_id <> $2 and ${avatarAcceptedAfter('$2')}`,
    ),
    // Times compared in SQL: created_at has microseconds, which a JS Date drops. The comparisons
    // are subqueries on d's columns, not joins: when the lock had to wait for another commit,
    // PostgreSQL re-reads d as that commit left it and re-evaluates these against it, while a
    // joined row of the old avatar would stay the old one (and no longer match: newer by default).
    lockDetail: preparedStatement(`select ${columnList(detailColumns, 'd')},
  ${avatarAcceptedAfter('$2')} as avatar_accepted_after,
  coalesce(d.avatar_upload_id is null and (select created_at from uploads where id = $2) <= d.avatar_accepted_at, false)
    as removed_after_acceptance
from ${details} d
where d.user_id = $1
for update of d`),
    // The user's row is locked against deletion first (key share), so the foreign key cannot
    // refuse the insert: no error to abort the caller's transaction, hence no savepoint (two
    // round trips on every first avatar). Always one row: whether the user exists, and the
    // inserted columns (all null when another commit added the row meanwhile).
    insertEmptyDetail: preparedStatement(`with u as (select id from ${users} where id = $1 for key share),
ins as (insert into ${details} (user_id) select id from u on conflict (user_id) do nothing returning ${columnList(detailColumns)})
select exists (select 1 from u) as user_exists, ${columnList(detailColumns, 'ins')}
from (values (1)) as one left join ins on true`),
    // the acceptance time from the upload's row in SQL: created_at has microseconds, which a JS Date would drop
    setAvatar: preparedStatement(`update ${details} set avatar = $2, avatar_file_id = $3, avatar_upload_id = $4, avatar_variants = $5::jsonb,
  avatar_accepted_at = (select created_at from uploads where id = $4), updated_at = now()
where user_id = $1`),
  };
}

/** `users` and `user_detail`, under the table names the deployment configured. */
export class UserDetailRepository {
  private readonly statements: DetailStatements;

  constructor(
    private readonly db: Knex,
    private readonly tables: { users: string; userDetail: string },
  ) {
    this.statements = detailStatements(tables);
  }

  async userExists(userId: number): Promise<boolean> {
    const rows = await runPrepared(this.db, this.statements.userExists, [userId]);
    return rows.length > 0;
  }

  async findAvatar(userId: number, options: { forUpdate?: boolean } = {}): Promise<CurrentAvatar | undefined> {
    const query = this.db<DetailRow>(this.tables.userDetail).where({ user_id: userId }).first();
    const row = await (options.forUpdate ? query.forUpdate() : query);
    return row ? toAvatar(row as DetailRow) : undefined;
  }

  /**
   * Locks the user's row (adding it when missing), so two commits for one user run one after
   * the other, and compares the current avatar with upload `uploadId` in the same statement.
   * The row usually exists: the insert-if-missing path runs only when the lock found none.
   * Returns undefined when the user itself is gone.
   */
  async lockForAvatarChange(userId: number, uploadId: string): Promise<LockedAvatar | undefined> {
    const locked = await this.lockDetail(userId, uploadId);
    if (locked) return locked;
    const inserted = await this.insertEmptyDetail(userId);
    if (inserted === 'user_gone') return undefined;
    // a row this transaction inserted is its own until it commits, and has no avatar to compare
    if (inserted) return { ...toAvatar(inserted), avatarAcceptedAfter: false, removedAfterAcceptance: false };
    // another commit added the row meanwhile: wait for its lock like everyone else
    return this.lockDetail(userId, uploadId);
  }

  /**
   * The id of the user's avatar upload when it is not `uploadId` and was accepted after it (it
   * keeps the avatar), in one query. An avatar upload whose row is gone counts as newer.
   */
  async newerAvatarUpload(userId: number, uploadId: string): Promise<string | undefined> {
    const [row] = await runPrepared<{ avatar_upload_id: string }>(this.db, this.statements.newerAvatarUpload, [userId, uploadId]);
    return row?.avatar_upload_id;
  }

  /** `select … for update` of the row with the comparisons LockedAvatar carries; undefined when there is no row. */
  private async lockDetail(userId: number, uploadId: string): Promise<LockedAvatar | undefined> {
    const [row] = await runPrepared<DetailRow & { avatar_accepted_after: boolean; removed_after_acceptance: boolean }>(this.db, this.statements.lockDetail, [userId, uploadId]);
    if (!row) return undefined;
    return {
      ...toAvatar(row),
      avatarAcceptedAfter: row.avatar_upload_id !== null && row.avatar_upload_id !== uploadId && row.avatar_accepted_after,
      removedAfterAcceptance: row.removed_after_acceptance,
    };
  }

  /**
   * Adds the user's empty `user_detail` row and returns it; undefined when a row exists
   * (another commit added it meanwhile), 'user_gone' when the user is gone, which is not an error.
   */
  private async insertEmptyDetail(userId: number): Promise<DetailRow | 'user_gone' | undefined> {
    const [row] = await runPrepared<{ [K in keyof DetailRow]: DetailRow[K] | null } & { user_exists: boolean }>(this.db, this.statements.insertEmptyDetail, [userId]);
    if (!row?.user_exists) return 'user_gone';
    const { user_exists: _exists, ...inserted } = row;
    return inserted.user_id === null ? undefined : (inserted as DetailRow);
  }

  async setAvatar(userId: number, record: AvatarRecord): Promise<void> {
    await runPrepared(this.db, this.statements.setAvatar, [userId, record.avatar, record.fileId, record.uploadId, JSON.stringify(record.variants)]);
  }

  /**
   * Clears the user's avatar (an operator removed it); the caller deletes the files. The removal
   * time stays in `avatar_accepted_at`, on the clock `uploads.created_at` is read from, so an
   * upload accepted before the removal that finishes later does not bring an avatar back.
   */
  async clearAvatar(userId: number): Promise<void> {
    await this.db(this.tables.userDetail)
      .where({ user_id: userId })
      .update({ avatar: null, avatar_file_id: null, avatar_upload_id: null, avatar_variants: '[]', avatar_accepted_at: this.db.raw('clock_timestamp()'), updated_at: this.db.fn.now() });
  }

  /** Demo accounts for one-machine runs; ids are fixed so the README's examples work. */
  async ensureUsers(users: ReadonlyArray<{ id: number; username: string }>): Promise<void> {
    if (users.length === 0) return;
    await this.db(this.tables.users).insert(users).onConflict('id').ignore();
    // keep the id sequence ahead of the fixed ids
    await this.db.raw(`select setval(pg_get_serial_sequence(?, 'id'), greatest((select max(id) from ??), 1))`, [this.tables.users, this.tables.users]);
  }
}
