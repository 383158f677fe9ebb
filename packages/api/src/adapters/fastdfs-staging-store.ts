import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FastdfsClient } from '@avatar/fastdfs';
import { AppError, FastdfsStagedFiles, removeIfPresent, type StagedOriginalsRepository } from '@avatar/shared';
import { receiveToFile } from './receive-to-file.js';
import type { ReceiveOptions, StagedFile, StagingStore } from './staging-store.js';

/** FastDFS extension of staged originals (at most 6 characters): tells them apart from avatars. */
const STAGED_EXT = 'upload';

/**
 * Staging in FastDFS, so APIs and workers share no disk. A body is received into this API's
 * own temp folder first: its size must be known before a FastDFS upload starts (a multipart
 * part does not declare one), and the header probes need random access to it. Only a body
 * the probes passed is uploaded, so a refused one never reaches FastDFS. Right after the
 * upload a staging intent is written; the sweeper removes a file whose intent outlived the
 * grace period with no live upload naming it.
 */
export class FastdfsStagingStore implements StagingStore {
  private readonly tempDir: string;
  private readonly client: FastdfsClient;
  private readonly staged: FastdfsStagedFiles;
  private readonly leftoverAgeMs: number;

  constructor(options: {
    /** This API's own folder for bodies being received and probed. */
    tempDir: string;
    client: FastdfsClient;
    /** The staging intents (`staged_originals`). */
    intents: StagedOriginalsRepository;
    /** Temp files older than this at start were left by a killed API and are removed. */
    leftoverAgeMs: number;
  }) {
    this.tempDir = options.tempDir;
    this.client = options.client;
    this.staged = new FastdfsStagedFiles(options.client, options.intents);
    this.leftoverAgeMs = options.leftoverAgeMs;
  }

  async init(): Promise<void> {
    await mkdir(this.tempDir, { recursive: true, mode: 0o700 });
    const cutoff = Date.now() - this.leftoverAgeMs;
    for (const name of await readdir(this.tempDir)) {
      if (!name.endsWith('.upload')) continue;
      const full = path.join(this.tempDir, name);
      const info = await stat(full).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < cutoff) await removeIfPresent(full);
    }
  }

  receive(source: Readable, options: ReceiveOptions): Promise<StagedFile> {
    return receiveToFile(this.tempDir, source, options);
  }

  async discard(file: StagedFile): Promise<void> {
    await removeIfPresent(file.path);
  }

  async publish(file: StagedFile, signal?: AbortSignal): Promise<string> {
    try {
      const fileId = await this.client.upload({ stream: createReadStream(file.path), size: file.sizeBytes }, { ext: STAGED_EXT, signal });
      try {
        await this.staged.intents.record(fileId);
      } catch (error) {
        await this.client.delete(fileId).catch(() => undefined);
        throw error;
      }
      return fileId;
    } catch (error) {
      throw new AppError('service_unavailable', 'The upload could not be staged; try again', { cause: error });
    } finally {
      await removeIfPresent(file.path);
    }
  }

  async recorded(fileId: string): Promise<void> {
    await this.staged.intents.forget(fileId);
  }

  has(fileId: string): Promise<boolean> {
    return this.staged.has(fileId);
  }

  remove(fileId: string): Promise<void> {
    return this.staged.remove(fileId);
  }
}
