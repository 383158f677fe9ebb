import { UploadsRepository, type Db, type DeleteFilesJob } from '@avatar/shared';
import { storedSetFileIds } from '../domain/process-avatar.js';

/**
 * Stored sets that belong to no live avatar (replaced, superseded or failed uploads whose
 * deletion never completed) are scheduled for deletion again after the grace period.
 */
export async function sweepStoredFiles(
  deps: { db: Db; userDetailTable: string; sizes: readonly number[]; scheduleDeletion: (job: DeleteFilesJob) => Promise<void> },
  options: { graceMs: number },
): Promise<number> {
  const orphans = await new UploadsRepository(deps.db).findOrphanedStoredFiles(new Date(Date.now() - options.graceMs), 500, deps.userDetailTable);
  for (const upload of orphans) {
    // a set recorded only by its master id (the worker died mid-store) is derived from it
    await deps.scheduleDeletion({ fileIds: storedSetFileIds(deps, upload), uploadId: upload.id, reason: 'sweep: not a live avatar' });
  }
  return orphans.length;
}
