import { UnrecoverableError, type Job } from 'bullmq';
import { deleteFilesJobSchema, type DeleteFilesJob } from '@avatar/shared';
import type { AvatarWorkflow } from '../workflow/avatar-workflow.js';

/** Deletes a replaced, superseded or failed upload's files; BullMQ retries while FastDFS is away. */
export function createDeleteFilesHandler(workflow: Pick<AvatarWorkflow, 'deleteFiles'>): (job: Job<DeleteFilesJob>) => Promise<number> {
  return async (job) => {
    const parsed = deleteFilesJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed job payload: ${parsed.error.message}`);
    await workflow.deleteFiles(parsed.data);
    return parsed.data.fileIds.length;
  };
}
