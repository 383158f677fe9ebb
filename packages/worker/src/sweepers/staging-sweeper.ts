import { originalKeepingCodes, type Logger, type UploadsRepository } from '@avatar/shared';
import type { StagedOriginalStore } from '../adapters/staged-originals.js';
import type { AvatarWorkflow } from '../workflow/avatar-workflow.js';
import { forEachIsolated } from './for-each-isolated.js';

export interface StagingSweeperDeps {
  uploads: Pick<UploadsRepository, 'findTerminalWithStagedFile' | 'liveStagedPaths'>;
  staged: Pick<StagedOriginalStore, 'remove' | 'stagedBefore' | 'release'>;
  workflow: Pick<AvatarWorkflow, 'removeStagedOriginal'>;
  logger: Logger;
}

export interface StagingSweeperOptions {
  /** An original no upload names is removed once it is this old (the API may still be recording it). */
  graceMs: number;
  /** FAILED_ORIGINAL_RETENTION_MS: how long a failure that was the system's fault keeps its original (default none). */
  failedRetentionMs?: number;
}

/**
 * Removes staged originals nobody needs: those of finished uploads, and originals staged
 * longer than the grace period ago that no live upload names (the API died mid-stream or
 * before recording). One staged longer ago that a live upload does name is only released
 * from the orphan watch. A failure that was the system's fault keeps its original for
 * `failedRetentionMs`, so an operator can retry the upload.
 */
export class StagingSweeper {
  constructor(
    private readonly deps: StagingSweeperDeps,
    private readonly options: StagingSweeperOptions,
  ) {}

  /** Returns how many originals it removed. */
  async sweep(): Promise<number> {
    const { uploads, staged, workflow, logger } = this.deps;
    const kept = this.options.failedRetentionMs ? { codes: originalKeepingCodes, since: new Date(Date.now() - this.options.failedRetentionMs) } : undefined;
    let removed = 0;
    await forEachIsolated(await uploads.findTerminalWithStagedFile(500, kept), logger, 'staging', (u) => u.id, async (upload) => {
      await workflow.removeStagedOriginal(upload);
      removed++;
    });
    // read before listing: an original recorded after this read is younger than the grace anyway
    const live = await uploads.liveStagedPaths(kept);
    const candidates = await staged.stagedBefore(new Date(Date.now() - this.options.graceMs));
    await forEachIsolated(candidates, logger, 'staging', (ref) => ref, async (ref) => {
      if (live.has(ref)) {
        await staged.release(ref);
        return;
      }
      await staged.remove(ref);
      removed++;
    });
    return removed;
  }
}
