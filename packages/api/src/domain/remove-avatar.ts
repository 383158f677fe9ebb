import type { Queue } from 'bullmq';
import { AppError, jobNames, type DeleteFilesJob, type Repositories } from '@avatar/shared';

export interface RemoveAvatarDeps {
  repos: Pick<Repositories, 'transaction'>;
  cleanupQueue: Queue<DeleteFilesJob>;
}

/**
 * An operator removes a user's avatar: `user_detail` is cleared under the row's lock (so a
 * commit running at the same time waits, then sees no avatar and sets its own), then the
 * files are deleted by the cleanup queue, which retries while FastDFS is away. Should the
 * enqueue fail, the stored-files sweeper finds the set (its upload is no user's avatar).
 */
export async function removeUserAvatar(deps: RemoveAvatarDeps, userId: number): Promise<{ uploadId: string | null; fileIds: string[] }> {
  const removed = await deps.repos.transaction(async ({ userDetail }) => {
    const current = await userDetail.findAvatar(userId, { forUpdate: true });
    if (!current?.avatar) return undefined;
    await userDetail.clearAvatar(userId);
    const fileIds = current.variants.length > 0 ? current.variants.map((v) => v.fileId) : current.avatarFileId ? [current.avatarFileId] : [];
    return { uploadId: current.avatarUploadId, fileIds };
  });
  if (!removed) throw new AppError('avatar_not_found', 'The user has no avatar');
  if (removed.fileIds.length > 0) {
    await deps.cleanupQueue.add(jobNames.deleteFiles, { fileIds: removed.fileIds, uploadId: removed.uploadId ?? undefined, reason: 'removed by an operator' });
  }
  return removed;
}
