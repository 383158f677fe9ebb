import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UploadsRepository, originalKeepingCodes, type Db, type Logger } from '@avatar/shared';
import type { StagedOriginals } from '../adapters/staged-originals.js';
import { forEachIsolated } from './for-each-isolated.js';

/**
 * Removes staged originals nobody needs: those of finished uploads, and files older than the
 * grace period that no live upload names (the API died mid-stream or before recording).
 * A failure that was the system's fault keeps its original for `failedRetentionMs` (default
 * none), so an operator can retry the upload.
 */
export async function sweepStaging(
  deps: { db: Db; staged: Pick<StagedOriginals, 'remove'>; stagingDir: string; logger: Logger },
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
  const live = await uploads.liveStagedPaths(kept);
  const cutoff = Date.now() - options.graceMs;
  let names: string[];
  try {
    names = await readdir(deps.stagingDir);
  } catch {
    return removed;
  }
  await forEachIsolated(names, deps.logger, 'staging', (name) => name, async (name) => {
    const full = path.join(path.resolve(deps.stagingDir), name);
    if (live.has(full)) return;
    const info = await stat(full).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs < cutoff) {
      await deps.staged.remove(full);
      removed++;
    }
  });
  return removed;
}
