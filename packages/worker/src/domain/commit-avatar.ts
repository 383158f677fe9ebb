import {
  UploadJournal,
  UploadsRepository,
  UserDetailRepository,
  isTerminal,
  type AvatarVariant,
  type CurrentAvatar,
  type Db,
  type Upload,
} from '@avatar/shared';

export type CommitOutcome =
  | { kind: 'done'; replaced: { uploadId: string | null; fileIds: string[] } | null }
  /** `by` the newer upload that is the avatar, or null: an operator removed the avatar after this upload was accepted */
  | { kind: 'superseded'; by: string | null }
  | { kind: 'user_gone' }
  | { kind: 'already_terminal' }
  /** another run of the job claimed the upload: it owns the row, these variants and the staged original now */
  | { kind: 'claim_lost' };

/**
 * Where the avatar is committed. In one transaction, under a lock on the user's
 * `user_detail` row: if a newer accepted upload already set the avatar, or an operator removed
 * the avatar after this upload was accepted, this one is superseded; otherwise `user_detail` points at these variants and the upload is `done`.
 * A retry after a commit that already happened changes nothing. `upload` is the row as this
 * run claimed it: the commit happens only while the row still holds its `claimToken`.
 */
export async function commitAvatar(
  db: Db,
  tables: { users: string; userDetail: string },
  upload: Upload,
  variants: AvatarVariant[],
): Promise<CommitOutcome> {
  const claim = upload.claimToken;
  if (!claim) throw new Error('commitAvatar needs the upload as its run claimed it');
  return db.transaction(async (trx) => {
    const details = new UserDetailRepository(trx, tables);
    const uploads = new UploadsRepository(trx);
    const journal = new UploadJournal(trx);
    const current = await details.lockForAvatarChange(upload.userId);
    if (!current) return { kind: 'user_gone' };

    if (current.avatarUploadId === upload.id) {
      // the commit landed but the job died before it was acknowledged
      const recorded = await journal.record(upload.id, doneChange(variants), trx, { claim });
      return recorded ? { kind: 'done', replaced: null } : refused(uploads, upload.id);
    }
    const winner = await standsInTheWay(details, uploads, current, upload);
    if (winner) {
      const recorded = await journal.record(upload.id, { status: 'superseded', event: { type: 'superseded', data: { by: winner.by } } }, trx, { claim });
      return recorded ? { kind: 'superseded', by: winner.by } : refused(uploads, upload.id);
    }

    const main = variants[0];
    if (!main) throw new Error('commitAvatar needs at least one variant');
    const recorded = await journal.record(upload.id, doneChange(variants), trx, { claim });
    if (!recorded) return refused(uploads, upload.id);
    await details.setAvatar(upload.userId, {
      avatar: main.url,
      fileId: main.fileId,
      uploadId: upload.id,
      variants,
    });
    const previousFileIds = current.variants.length > 0 ? current.variants.map((v) => v.fileId) : current.avatarFileId ? [current.avatarFileId] : [];
    return { kind: 'done', replaced: previousFileIds.length > 0 ? { uploadId: current.avatarUploadId, fileIds: previousFileIds } : null };
  });
}

/**
 * What keeps this upload from becoming the avatar, if anything: a newer accepted upload that
 * already is the avatar, or (no avatar upload set) an operator's removal at or after this
 * upload's acceptance, kept as the watermark `acceptedAt`.
 */
async function standsInTheWay(details: UserDetailRepository, uploads: UploadsRepository, current: CurrentAvatar, upload: Upload): Promise<{ by: string | null } | undefined> {
  if (current.avatarUploadId) return (await uploads.isAcceptedAfter(current.avatarUploadId, upload.id)) ? { by: current.avatarUploadId } : undefined;
  if (current.acceptedAt && (await details.isAcceptedBeforeRemoval(upload.userId, upload.id))) return { by: null };
  return undefined;
}

/**
 * Why the journal refused the commit: the upload is finished, or (still live) another run
 * claimed it. The journal locked the row in this transaction, so the answer cannot change.
 */
async function refused(uploads: UploadsRepository, uploadId: string): Promise<CommitOutcome> {
  const row = await uploads.findById(uploadId);
  return row && !isTerminal(row.status) ? { kind: 'claim_lost' } : { kind: 'already_terminal' };
}

function doneChange(variants: AvatarVariant[]) {
  const avatarUrl = variants[0]?.url ?? '';
  return {
    status: 'done' as const,
    patch: { progress: 100, errorCode: null, errorMessage: null },
    event: { type: 'done' as const, data: { avatarUrl, variants } },
  };
}
