import { isTerminal, type AvatarVariant, type LockedAvatar, type Repositories, type Upload, type UploadChange } from '@avatar/shared';

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
 *
 * `forgetStagedOriginal`: the terminal write also clears `staged_path`, for a staging backend
 * whose sweeper finds any original no upload names; the caller removes the file afterwards.
 */
export async function commitAvatar(repos: Repositories, upload: Upload, variants: AvatarVariant[], options: { forgetStagedOriginal?: boolean } = {}): Promise<CommitOutcome> {
  const claim = upload.claimToken;
  if (!claim) throw new Error('commitAvatar needs the upload as its run claimed it');
  const stagedPatch = options.forgetStagedOriginal ? { stagedPath: null } : {};
  return repos.transaction(async (tx) => {
    const current = await tx.userDetail.lockForAvatarChange(upload.userId, upload.id);
    if (!current) return { kind: 'user_gone' };

    if (current.avatarUploadId === upload.id) {
      // the commit landed but the job died before it was acknowledged
      const recorded = await tx.journal.record(upload.id, doneChange(variants, stagedPatch), { claim });
      return recorded ? { kind: 'done', replaced: null } : refused(tx, upload.id);
    }
    const winner = standsInTheWay(current);
    if (winner) {
      const recorded = await tx.journal.record(upload.id, { status: 'superseded', patch: stagedPatch, event: { type: 'superseded', data: { by: winner.by } } }, { claim });
      return recorded ? { kind: 'superseded', by: winner.by } : refused(tx, upload.id);
    }

    const main = variants[0];
    if (!main) throw new Error('commitAvatar needs at least one variant');
    const recorded = await tx.journal.record(upload.id, doneChange(variants, stagedPatch), { claim });
    if (!recorded) return refused(tx, upload.id);
    await tx.userDetail.setAvatar(upload.userId, {
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
 * upload's acceptance, kept as the watermark `acceptedAt` (both compared by the lock's query).
 */
function standsInTheWay(current: LockedAvatar): { by: string | null } | undefined {
  if (current.avatarUploadId) return current.avatarAcceptedAfter ? { by: current.avatarUploadId } : undefined;
  if (current.removedAfterAcceptance) return { by: null };
  return undefined;
}

/**
 * Why the journal refused the commit: the upload is finished, or (still live) another run
 * claimed it. The journal locked the row in this transaction, so the answer cannot change.
 */
async function refused(tx: Repositories, uploadId: string): Promise<CommitOutcome> {
  const row = await tx.uploads.findById(uploadId);
  return row && !isTerminal(row.status) ? { kind: 'claim_lost' } : { kind: 'already_terminal' };
}

function doneChange(variants: AvatarVariant[], stagedPatch: { stagedPath?: null }): UploadChange {
  const avatarUrl = variants[0]?.url ?? '';
  return {
    status: 'done',
    patch: { progress: 100, errorCode: null, errorMessage: null, ...stagedPatch },
    event: { type: 'done', data: { avatarUrl, variants } },
  };
}
