import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, removeIfPresent } from '@avatar/shared';

/**
 * The worker's side of staging: reads originals the API staged, removes them when done, and
 * tells the sweeper which ones exist. A reference is a path (`LocalStagedOriginals`) or a
 * FastDFS file id (`FastdfsStagedOriginals`), as the upload row records it.
 */
export interface StagedOriginalStore {
  /** The original's bytes; `staged_file_missing` when it is gone. */
  read(ref: string): Promise<Buffer>;
  /** Removes an original; one already gone is fine. */
  remove(ref: string): Promise<void>;
  /** Originals staged before `before`, whether or not an upload names them (the sweeper decides). */
  stagedBefore(before: Date): Promise<string[]>;
  /** An upload names `ref`: the sweeper stops tracking it as a possible orphan. */
  release(ref: string): Promise<void>;
  /**
   * `stagedBefore` lists every original, released or not (the folder is its own record): an
   * upload may then forget its original in its terminal write and remove the file after, as a
   * crash in between leaves an orphan the staging sweeper finds. False where a released
   * original is found only through the row that names it.
   */
  readonly listsEveryOriginal: boolean;
}

/** Staging on a folder the API and the worker share. */
export class StagedOriginals implements StagedOriginalStore {
  readonly listsEveryOriginal = true;

  constructor(private readonly dir: string) {}

  async read(stagedPath: string): Promise<Buffer> {
    try {
      return await readFile(this.inside(stagedPath));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('staged_file_missing', 'The staged original is gone', { cause: error });
      throw error;
    }
  }

  async remove(stagedPath: string): Promise<void> {
    await removeIfPresent(this.inside(stagedPath));
  }

  async stagedBefore(before: Date): Promise<string[]> {
    const dir = path.resolve(this.dir);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const found: string[] = [];
    for (const name of names) {
      const full = path.join(dir, name);
      const info = await stat(full).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < before.getTime()) found.push(full);
    }
    return found;
  }

  /** The folder itself is the record of what is staged: nothing to release. */
  release(): Promise<void> {
    return Promise.resolve();
  }

  /** Paths come from the database; still, never touch anything outside the staging folder. */
  private inside(stagedPath: string): string {
    const resolved = path.resolve(stagedPath);
    if (path.dirname(resolved) !== path.resolve(this.dir)) throw new AppError('staged_file_missing', 'Staged path outside the staging folder');
    return resolved;
  }
}
