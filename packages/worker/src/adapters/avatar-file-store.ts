import { FastdfsError, slaveFileId, type FastdfsClient } from '@avatar/fastdfs';
import type { RenderedVariant } from '../pipeline/render-avatar.js';

export interface StoredVariant {
  size: number;
  fileId: string;
}

/**
 * Stores an avatar's variants as one FastDFS set: the largest as the master file, the others
 * as its slaves (`…/name_256.webp`), so one file id names the set.
 */
export class AvatarFileStore {
  constructor(
    private readonly client: FastdfsClient,
    /** Pins masters (and so their slaves) to this group; the tracker chooses when undefined. */
    private readonly group?: string,
  ) {}

  /**
   * Stores the set; if any part fails, removes what was stored before rethrowing.
   * `onMasterStored` runs as soon as the master has its id, before any slave is sent: the
   * caller records it there, so a process killed mid-set leaves a set it can find again
   * (slave ids follow from the master's, see `setFileIds`). If it throws, the master is removed.
   */
  async storeSet(variants: readonly RenderedVariant[], onMasterStored?: (masterFileId: string) => Promise<void>): Promise<StoredVariant[]> {
    const [master, ...slaves] = [...variants].sort((a, b) => b.size - a.size);
    if (!master) throw new Error('no variants to store');
    const masterId = await this.client.upload(master.data, { ext: master.ext, group: this.group });
    if (onMasterStored) {
      try {
        await onMasterStored(masterId);
      } catch (error) {
        await this.deleteFiles([masterId]).catch(() => undefined);
        throw error;
      }
    }
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

  /**
   * Every file id of the set whose master is `masterFileId`, with a slave `_<size>` for each
   * smaller size, as the storage names them; for sets whose slaves were never recorded.
   */
  static setFileIds(masterFileId: string, sizes: readonly number[]): string[] {
    const ext = /\.([A-Za-z0-9]{1,6})$/.exec(masterFileId)?.[1] ?? '';
    const [largest, ...smaller] = [...sizes].sort((a, b) => b - a);
    if (largest === undefined) return [masterFileId];
    return [masterFileId, ...smaller.map((size) => slaveFileId(masterFileId, `_${size}`, ext))];
  }

  /**
   * Deletes files; ones a storage server reports gone count as deleted, so retries are safe.
   * A tracker with no storage available is an outage, not a deletion: that one throws.
   */
  async deleteFiles(fileIds: readonly string[]): Promise<void> {
    // slaves first: a master is never left without the set it names, nor a slave without its master
    for (const fileId of [...fileIds].reverse()) {
      try {
        await this.client.delete(fileId);
      } catch (error) {
        if (!(error instanceof FastdfsError && error.notFound)) throw error;
      }
    }
  }
}
