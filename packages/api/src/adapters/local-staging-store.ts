import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { removeIfPresent } from '@avatar/shared';
import { receiveToFile } from './receive-to-file.js';
import type { ReceiveOptions, StagedFile, StagingStore } from './staging-store.js';

/**
 * Staging on a folder every API and worker shares: a received file is already where the
 * worker reads it, and its path is the reference.
 */
export class LocalStagingStore implements StagingStore {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  receive(source: Readable, options: ReceiveOptions): Promise<StagedFile> {
    return receiveToFile(this.dir, source, options);
  }

  async discard(file: StagedFile): Promise<void> {
    await removeIfPresent(file.path);
  }

  publish(file: StagedFile): Promise<string> {
    return Promise.resolve(file.path);
  }

  recorded(): Promise<void> {
    return Promise.resolve();
  }

  /** A path outside the folder never exists as far as staging is concerned. */
  async has(ref: string): Promise<boolean> {
    const resolved = path.resolve(ref);
    if (path.dirname(resolved) !== path.resolve(this.dir)) return false;
    return stat(resolved).then((info) => info.isFile(), () => false);
  }

  async remove(ref: string): Promise<void> {
    await removeIfPresent(ref);
  }
}
