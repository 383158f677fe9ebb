import { isTerminal, pickVariant, type Upload, type UploadStatus } from '@avatar/shared';
import type { UploadSnapshot } from '../schemas/upload-schemas.js';
import type { IssuedUploadToken } from './upload-token.js';

export interface UploadAccess {
  accessToken: string;
  accessTokenExpiresAt: string;
  eventStreamUrl: string;
}

/** The answer fields that hand a client its upload token, and the stream URL that carries it. */
export function uploadAccess(uploadId: string, issued: IssuedUploadToken): UploadAccess {
  return {
    accessToken: issued.token,
    accessTokenExpiresAt: issued.expiresAt.toISOString(),
    eventStreamUrl: `/v1/uploads/${uploadId}/events?access_token=${encodeURIComponent(issued.token)}`,
  };
}

export function toSnapshot(upload: Upload, access: UploadAccess): UploadSnapshot {
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
    ...access,
  };
}

/**
 * Status changes append an event; bookkeeping (removing the staged original, marking files
 * deleted) only moves `updated_at`, which the snapshot shows too: both go into the tag. So
 * does the expiry of the upload token in the body, which with the upload determines the token:
 * a client's cached token is kept (304) only while the server would hand out that same one.
 */
export function snapshotEtag(upload: Upload, token: { expiresAt: Date }): string {
  return `"${upload.id}.${upload.lastEventSeq}.${upload.updatedAt.getTime()}.${token.expiresAt.getTime() / 1000}"`;
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
