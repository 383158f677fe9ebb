import type { Upload } from '@avatar/shared';
import { AvatarFileStore } from '../adapters/avatar-file-store.js';

/**
 * The file ids of an upload's stored set: the recorded variants, or, for a set recorded only
 * by its master (a run died mid-store), the master and the slaves derived from `sizes`.
 */
export function storedSetFileIds(upload: Pick<Upload, 'variants' | 'masterFileId'>, sizes: readonly number[]): string[] {
  if (upload.variants && upload.variants.length > 0) return upload.variants.map((v) => v.fileId);
  return upload.masterFileId ? AvatarFileStore.setFileIds(upload.masterFileId, sizes) : [];
}
