import { FastdfsError, type FastdfsClient } from '@avatar/fastdfs';
import type { RenderedVariant } from '../pipeline/render-avatar.js';

export interface StoredVariant {
  size: number;
  fileId: string;
}

/** FastDFS status for "no such file": a delete that finds nothing has nothing left to do. */
const ENOENT = 2;

/**
 * Stores an avatar's variants as one FastDFS set: the largest as the master file, the others
 * as its slaves (`…/name_256.webp`), so one file id names the set.
 */
export class AvatarFileStore {
  constructor(private readonly client: FastdfsClient) {}

  /** Stores the set; if any part fails, removes what was stored before rethrowing. */
  async storeSet(variants: readonly RenderedVariant[]): Promise<StoredVariant[]> {
    const [master, ...slaves] = [...variants].sort((a, b) => b.size - a.size);
    if (!master) throw new Error('no variants to store');
    const masterId = await this.client.upload(master.data, { ext: master.ext });
    const results = await Promise.allSettled(
      slaves.map(async (v) => ({ size: v.size, fileId: await this.client.uploadSlave(masterId, `_${v.size}`, v.data, { ext: v.ext }) })),
    );
    const stored: StoredVariant[] = [{ size: master.size, fileId: masterId }];
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const r of results) if (r.status === 'fulfilled') stored.push(r.value);
    if (failure) {
      await this.deleteFiles(stored.map((s) => s.fileId)).catch(() => undefined);
      throw failure.reason;
    }
    return stored;
  }

  /** Deletes files; ones already gone count as deleted, so retries are safe. */
  async deleteFiles(fileIds: readonly string[]): Promise<void> {
    // slaves first: a master is never left without the set it names, nor a slave without its master
    for (const fileId of [...fileIds].reverse()) {
      try {
        await this.client.delete(fileId);
      } catch (error) {
        if (!(error instanceof FastdfsError && error.kind === 'status' && error.status === ENOENT)) throw error;
      }
    }
  }
}
