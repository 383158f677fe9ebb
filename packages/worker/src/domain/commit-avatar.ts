import {
  UploadJournal,
  UploadsRepository,
  UserDetailRepository,
  type AvatarVariant,
  type Db,
  type Upload,
} from '@avatar/shared';

export type CommitOutcome =
  | { kind: 'done'; replaced: { uploadId: string | null; fileIds: string[] } | null }
  | { kind: 'superseded'; by: string }
  | { kind: 'user_gone' }
  | { kind: 'already_terminal' };

/**
 * Where the avatar is committed. In one transaction, under a lock on the user's
 * `user_detail` row: if a newer accepted upload already set the avatar, this one is
 * superseded; otherwise `user_detail` points at these variants and the upload is `done`.
 * A retry after a commit that already happened changes nothing.
 */
export async function commitAvatar(
  db: Db,
  tables: { users: string; userDetail: string },
  upload: Upload,
  variants: AvatarVariant[],
): Promise<CommitOutcome> {
  return db.transaction(async (trx) => {
    const details = new UserDetailRepository(trx, tables);
    const uploads = new UploadsRepository(trx);
    const journal = new UploadJournal(trx);
    const current = await details.lockForAvatarChange(upload.userId);
    if (!current) return { kind: 'user_gone' };

    if (current.avatarUploadId === upload.id) {
      // the commit landed but the job died before it was acknowledged
      const recorded = await journal.record(upload.id, doneChange(variants), trx);
      return recorded ? { kind: 'done', replaced: null } : { kind: 'already_terminal' };
    }
    if (current.avatarUploadId && (await uploads.isAcceptedAfter(current.avatarUploadId, upload.id))) {
      const recorded = await journal.record(
        upload.id,
        { status: 'superseded', event: { type: 'superseded', data: { by: current.avatarUploadId } } },
        trx,
      );
      return recorded ? { kind: 'superseded', by: current.avatarUploadId } : { kind: 'already_terminal' };
    }

    const main = variants[0];
    if (!main) throw new Error('commitAvatar needs at least one variant');
    const recorded = await journal.record(upload.id, doneChange(variants), trx);
    if (!recorded) return { kind: 'already_terminal' };
    await details.setAvatar(upload.userId, {
      avatar: main.url,
      fileId: main.fileId,
      uploadId: upload.id,
      variants,
      acceptedAt: upload.createdAt,
    });
    const previousFileIds = current.variants.length > 0 ? current.variants.map((v) => v.fileId) : current.avatarFileId ? [current.avatarFileId] : [];
    return { kind: 'done', replaced: previousFileIds.length > 0 ? { uploadId: current.avatarUploadId, fileIds: previousFileIds } : null };
  });
}

function doneChange(variants: AvatarVariant[]) {
  const avatarUrl = variants[0]?.url ?? '';
  return {
    status: 'done' as const,
    patch: { progress: 100, errorCode: null, errorMessage: null },
    event: { type: 'done' as const, data: { avatarUrl, variants } },
  };
}
