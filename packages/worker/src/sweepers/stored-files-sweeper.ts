import { UploadsRepository, type Db, type DeleteFilesJob } from '@avatar/shared';

/**
 * Stored sets that belong to no live avatar (replaced, superseded or failed uploads whose
 * deletion never completed) are scheduled for deletion again after the grace period.
 */
export async function sweepStoredFiles(
  deps: { db: Db; userDetailTable: string; scheduleDeletion: (job: DeleteFilesJob) => Promise<void> },
  options: { graceMs: number },
): Promise<number> {
  const orphans = await new UploadsRepository(deps.db).findOrphanedStoredFiles(new Date(Date.now() - options.graceMs), 500, deps.userDetailTable);
  for (const upload of orphans) {
    await deps.scheduleDeletion({ fileIds: (upload.variants ?? []).map((v) => v.fileId), uploadId: upload.id, reason: 'sweep: not a live avatar' });
  }
  return orphans.length;
}
