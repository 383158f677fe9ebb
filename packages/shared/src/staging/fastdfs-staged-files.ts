import { FastdfsError, type FastdfsClient } from '@avatar/fastdfs';
import type { StagedOriginalsRepository } from '../repositories/staged-originals-repository.js';

/**
 * Originals staged in FastDFS (`STAGING_BACKEND=fastdfs`) with their staging intents: what
 * the API's staging store and the worker both do with them, in one place.
 */
export class FastdfsStagedFiles {
  constructor(
    private readonly client: FastdfsClient,
    readonly intents: StagedOriginalsRepository,
  ) {}

  /** Missing, or not a FastDFS file id at all (a path left by the local backend): nothing to read or delete. */
  static isGone(error: unknown): boolean {
    return error instanceof FastdfsError && (error.notFound || error.kind === 'invalid_argument');
  }

  async has(fileId: string): Promise<boolean> {
    try {
      await this.client.fileInfo(fileId);
      return true;
    } catch (error) {
      if (FastdfsStagedFiles.isGone(error)) return false;
      throw error;
    }
  }

  /** Deletes the file (one already gone counts as deleted) and then its intent. */
  async remove(fileId: string): Promise<void> {
    try {
      await this.client.delete(fileId);
    } catch (error) {
      if (!FastdfsStagedFiles.isGone(error)) throw error;
    }
    await this.intents.forget(fileId);
  }
}
