import { UnrecoverableError, type Job } from 'bullmq';
import { UploadsRepository, deleteFilesJobSchema, type Db, type DeleteFilesJob } from '@avatar/shared';
import type { AvatarFileStore } from '../adapters/avatar-file-store.js';

/** Deletes a replaced, superseded or failed upload's files; BullMQ retries while FastDFS is away. */
export function createDeleteFilesHandler(deps: { db: Db; files: AvatarFileStore }): (job: Job<DeleteFilesJob>) => Promise<number> {
  const uploads = new UploadsRepository(deps.db);
  return async (job) => {
    const parsed = deleteFilesJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed job payload: ${parsed.error.message}`);
    await deps.files.deleteFiles(parsed.data.fileIds);
    if (parsed.data.uploadId) await uploads.markFilesDeleted(parsed.data.uploadId);
    return parsed.data.fileIds.length;
  };
}
