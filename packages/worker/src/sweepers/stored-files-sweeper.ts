import type { UploadsRepository } from '@avatar/shared';
import type { AvatarWorkflow } from '../workflow/avatar-workflow.js';

export interface StoredFilesSweeperDeps {
  uploads: Pick<UploadsRepository, 'findOrphanedStoredFiles'>;
  workflow: Pick<AvatarWorkflow, 'deleteStoredFiles'>;
}

/**
 * Stored sets that belong to no live avatar (replaced, superseded or failed uploads whose
 * deletion never completed) are scheduled for deletion again after the grace period.
 */
export class StoredFilesSweeper {
  constructor(
    private readonly deps: StoredFilesSweeperDeps,
    private readonly options: { graceMs: number },
  ) {}

  /** Returns how many uploads' sets it scheduled for deletion. */
  async sweep(): Promise<number> {
    const orphans = await this.deps.uploads.findOrphanedStoredFiles(new Date(Date.now() - this.options.graceMs), 500);
    // a set recorded only by its master id (the worker died mid-store) is derived from it
    for (const upload of orphans) await this.deps.workflow.deleteStoredFiles(upload, 'sweep: not a live avatar');
    return orphans.length;
  }
}
