import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, removeIfPresent } from '@avatar/shared';

/** The worker's side of staging: reads originals the API wrote, and removes them when done. */
export class StagedOriginals {
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

  /** Paths come from the database; still, never touch anything outside the staging folder. */
  private inside(stagedPath: string): string {
    const resolved = path.resolve(stagedPath);
    if (path.dirname(resolved) !== path.resolve(this.dir)) throw new AppError('staged_file_missing', 'Staged path outside the staging folder');
    return resolved;
  }
}
