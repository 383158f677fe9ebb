import type { Knex } from 'knex';
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

/** PostgreSQL's SQLSTATE for a foreign key violation. */
const FOREIGN_KEY_VIOLATION = '23503';

export interface CurrentAvatar extends UserAvatar {
  /**
   * The avatar's upload's acceptance time; with no avatar upload set, when an operator removed
   * the avatar (a watermark: uploads accepted until then never become the avatar), else null.
   */
  acceptedAt: Date | null;
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

/** `users` and `user_detail`, under the table names the deployment configured. */
export class UserDetailRepository {
  constructor(
    private readonly db: Knex,
    private readonly tables: { users: string; userDetail: string },
  ) {}

  async userExists(userId: number): Promise<boolean> {
    const row = await this.db(this.tables.users).where({ id: userId }).first('id');
    return row !== undefined;
  }

  async findAvatar(userId: number, options: { forUpdate?: boolean } = {}): Promise<CurrentAvatar | undefined> {
    const query = this.db<DetailRow>(this.tables.userDetail).where({ user_id: userId }).first();
    const row = await (options.forUpdate ? query.forUpdate() : query);
    return row ? toAvatar(row as DetailRow) : undefined;
  }

  /**
   * Makes sure the row exists and locks it, so two commits for one user run one after the
   * other. Returns undefined when the user itself is gone.
   */
  async lockForAvatarChange(userId: number): Promise<CurrentAvatar | undefined> {
    if (!(await this.userExists(userId))) return undefined;
    if (!(await this.insertEmptyDetail(userId))) return undefined;
    return this.findAvatar(userId, { forUpdate: true });
  }

  /**
   * Adds the user's `user_detail` row if missing; false when the user was deleted after
   * `userExists` looked (the row's foreign key refuses it), which is "user gone", not an error.
   */
  private async insertEmptyDetail(userId: number): Promise<boolean> {
    try {
      // in a savepoint when the caller is in a transaction: a failed insert would abort it all
      await this.db.transaction(async (trx) => {
        await trx(this.tables.userDetail).insert({ user_id: userId }).onConflict('user_id').ignore();
      });
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) return false;
      throw error;
    }
  }

  async setAvatar(userId: number, record: AvatarRecord): Promise<void> {
    await this.db(this.tables.userDetail)
      .where({ user_id: userId })
      .update({
        avatar: record.avatar,
        avatar_file_id: record.fileId,
        avatar_upload_id: record.uploadId,
        avatar_variants: JSON.stringify(record.variants),
        // from the upload's row in SQL: created_at has microseconds, which a JS Date would drop
        avatar_accepted_at: this.db.raw('(select created_at from uploads where id = ?)', [record.uploadId]),
        updated_at: this.db.fn.now(),
      });
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

  /**
   * True when the user has no avatar upload because an operator removed the avatar at or after
   * `uploadId` was accepted. Compared in SQL: both times have microseconds, which a JS Date drops.
   */
  async isAcceptedBeforeRemoval(userId: number, uploadId: string): Promise<boolean> {
    const result = await this.db.raw<{ rows: Array<{ before: boolean | null }> }>(
      `select u.created_at <= d.avatar_accepted_at as before from ?? d join uploads u on u.id = ? where d.user_id = ? and d.avatar_upload_id is null`,
      [this.tables.userDetail, uploadId, userId],
    );
    return result.rows[0]?.before === true;
  }

  /** Demo accounts for one-machine runs; ids are fixed so the README's examples work. */
  async ensureUsers(users: ReadonlyArray<{ id: number; username: string }>): Promise<void> {
    if (users.length === 0) return;
    await this.db(this.tables.users).insert(users).onConflict('id').ignore();
    // keep the id sequence ahead of the fixed ids
    await this.db.raw(`select setval(pg_get_serial_sequence(?, 'id'), greatest((select max(id) from ??), 1))`, [this.tables.users, this.tables.users]);
  }
}
