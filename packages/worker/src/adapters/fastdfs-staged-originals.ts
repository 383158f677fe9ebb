import { FastdfsError, type FastdfsClient } from '@avatar/fastdfs';
import { AppError, StagedOriginalsRepository, type Db } from '@avatar/shared';
import type { StagedOriginalStore } from './staged-originals.js';

/** Intents looked at per sweep; the rest wait for the next one. */
const SWEEP_BATCH = 500;

/**
 * Staging in FastDFS (no disk shared with the API). FastDFS cannot list files, so what is
 * staged is known from the `staged_originals` intents the API writes next to each upload.
 */
export class FastdfsStagedOriginals implements StagedOriginalStore {
  private readonly intents: StagedOriginalsRepository;

  constructor(private readonly client: FastdfsClient, db: Db) {
    this.intents = new StagedOriginalsRepository(db);
  }

  async read(fileId: string): Promise<Buffer> {
    try {
      return await this.client.download(fileId);
    } catch (error) {
      if (isGone(error)) throw new AppError('staged_file_missing', 'The staged original is gone', { cause: error });
      throw error;
    }
  }

  async remove(fileId: string): Promise<void> {
    try {
      await this.client.delete(fileId);
    } catch (error) {
      if (!isGone(error)) throw error;
    }
    await this.intents.forget(fileId);
  }

  stagedBefore(before: Date): Promise<string[]> {
    return this.intents.recordedBefore(before, SWEEP_BATCH);
  }

  async release(fileId: string): Promise<void> {
    await this.intents.forget(fileId);
  }
}

/** Missing, or not a FastDFS file id at all (a path left by the local backend): nothing to read or delete. */
function isGone(error: unknown): boolean {
  return error instanceof FastdfsError && (error.notFound || error.kind === 'invalid_argument');
}
