import { isTerminal, pickVariant, type Upload, type UploadStatus } from '@avatar/shared';
import type { UploadSnapshot } from '../schemas/upload-schemas.js';

export function toSnapshot(upload: Upload): UploadSnapshot {
  const variants = (upload.variants ?? []).map((v) => ({ size: v.size, url: v.url }));
  return {
    id: upload.id,
    userId: upload.userId,
    status: upload.status,
    progress: upload.progress,
    avatarUrl: upload.status === 'done' ? (pickVariant(upload.variants ?? [], undefined)?.url ?? null) : null,
    variants,
    error: upload.errorCode ? { code: upload.errorCode, message: upload.errorMessage ?? '' } : null,
    createdAt: upload.createdAt.toISOString(),
    updatedAt: upload.updatedAt.toISOString(),
  };
}

/**
 * Status changes append an event; bookkeeping (removing the staged original, marking files
 * deleted) only moves `updated_at`, which the snapshot shows too: both go into the tag.
 */
export function snapshotEtag(upload: Upload): string {
  return `"${upload.id}.${upload.lastEventSeq}.${upload.updatedAt.getTime()}"`;
}

export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*');
}

/** Seconds a poller should wait; undefined once the upload cannot change any more. */
export function retryAfterSeconds(status: UploadStatus): number | undefined {
  if (isTerminal(status)) return undefined;
  return status === 'queued' ? 2 : 1;
}
