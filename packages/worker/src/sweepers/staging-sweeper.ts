import { UploadsRepository, originalKeepingCodes, type Db, type Logger } from '@avatar/shared';
import type { StagedOriginalStore } from '../adapters/staged-originals.js';
import { forEachIsolated } from './for-each-isolated.js';

/**
 * Removes staged originals nobody needs: those of finished uploads, and originals staged
 * longer than the grace period ago that no live upload names (the API died mid-stream or
 * before recording). One staged longer ago that a live upload does name is only released
 * from the orphan watch. A failure that was the system's fault keeps its original for
 * `failedRetentionMs` (default none), so an operator can retry the upload.
 */
export async function sweepStaging(
  deps: { db: Db; staged: Pick<StagedOriginalStore, 'remove' | 'stagedBefore' | 'release'>; logger: Logger },
  options: { graceMs: number; failedRetentionMs?: number },
): Promise<number> {
  const uploads = new UploadsRepository(deps.db);
  const kept = options.failedRetentionMs ? { codes: originalKeepingCodes, since: new Date(Date.now() - options.failedRetentionMs) } : undefined;
  let removed = 0;
  await forEachIsolated(await uploads.findTerminalWithStagedFile(500, kept), deps.logger, 'staging', (u) => u.id, async (upload) => {
    await deps.staged.remove(upload.stagedPath as string);
    await uploads.update(upload.id, { stagedPath: null });
    removed++;
  });
  // read before listing: an original recorded after this read is younger than the grace anyway
  const live = await uploads.liveStagedPaths(kept);
  const candidates = await deps.staged.stagedBefore(new Date(Date.now() - options.graceMs));
  await forEachIsolated(candidates, deps.logger, 'staging', (ref) => ref, async (ref) => {
    if (live.has(ref)) {
      await deps.staged.release(ref);
      return;
    }
    await deps.staged.remove(ref);
    removed++;
  });
  return removed;
}
