import { unlink } from 'node:fs/promises';

/** Deletes a file; one that is already gone counts as deleted, so callers may repeat it. */
export async function removeIfPresent(filePath: string): Promise<void> {
  try {
    await unlink(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
