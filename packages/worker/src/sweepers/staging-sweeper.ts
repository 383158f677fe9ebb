import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UploadsRepository, type Db } from '@avatar/shared';
import type { StagedOriginals } from '../adapters/staged-originals.js';

/**
 * Removes staged originals nobody needs: those of finished uploads, and files older than the
 * grace period that no live upload names (the API died mid-stream or before recording).
 */
export async function sweepStaging(deps: { db: Db; staged: StagedOriginals; stagingDir: string }, options: { graceMs: number }): Promise<number> {
  const uploads = new UploadsRepository(deps.db);
  let removed = 0;
  for (const upload of await uploads.findTerminalWithStagedFile(500)) {
    await deps.staged.remove(upload.stagedPath as string);
    await uploads.update(upload.id, { stagedPath: null });
    removed++;
  }
  const live = await uploads.liveStagedPaths();
  const cutoff = Date.now() - options.graceMs;
  let names: string[];
  try {
    names = await readdir(deps.stagingDir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const full = path.join(path.resolve(deps.stagingDir), name);
    if (live.has(full)) continue;
    const info = await stat(full).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs < cutoff) {
      await deps.staged.remove(full);
      removed++;
    }
  }
  return removed;
}
