import type { FastdfsClient } from '@avatar/fastdfs';
import { AppError, FastdfsStagedFiles, type StagedOriginalsRepository } from '@avatar/shared';
import type { StagedOriginalStore } from './staged-originals.js';

/** Intents looked at per sweep; the rest wait for the next one. */
const SWEEP_BATCH = 500;

/**
 * Staging in FastDFS (no disk shared with the API). FastDFS cannot list files, so what is
 * staged is known from the `staged_originals` intents the API writes next to each upload.
 */
export class FastdfsStagedOriginals implements StagedOriginalStore {
  /** An intent the sweeper released is gone: only the upload row still names the original. */
  readonly listsEveryOriginal = false;
  private readonly staged: FastdfsStagedFiles;

  constructor(
    private readonly client: FastdfsClient,
    intents: StagedOriginalsRepository,
  ) {
    this.staged = new FastdfsStagedFiles(client, intents);
  }

  async read(fileId: string): Promise<Buffer> {
    try {
      return await this.client.download(fileId);
    } catch (error) {
      if (FastdfsStagedFiles.isGone(error)) throw new AppError('staged_file_missing', 'The staged original is gone', { cause: error });
      throw error;
    }
  }

  remove(fileId: string): Promise<void> {
    return this.staged.remove(fileId);
  }

  stagedBefore(before: Date): Promise<string[]> {
    return this.staged.intents.recordedBefore(before, SWEEP_BATCH);
  }

  async release(fileId: string): Promise<void> {
    await this.staged.intents.forget(fileId);
  }
}
