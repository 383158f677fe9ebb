import type { ErrorCode } from '../errors/error-codes.js';
import type { AvatarVariant } from './upload-event.js';
import type { UploadStatus } from './upload-status.js';

/** One accepted upload, as the `uploads` table holds it. */
export interface Upload {
  id: string;
  userId: number;
  status: UploadStatus;
  progress: number;
  idempotencyKey: string | null;
  declaredType: string | null;
  detectedType: string;
  sizeBytes: number;
  sha256: string;
  width: number;
  height: number;
  stagedPath: string | null;
  masterFileId: string | null;
  variants: AvatarVariant[] | null;
  /** The run that last started processing it; only that run may write to it (see UploadJournal.record). */
  claimToken: string | null;
  /** Why it failed, as data: set with status `failed`, never parsed back from a message. */
  errorCode: ErrorCode | null;
  errorMessage: string | null;
  attempts: number;
  lastEventSeq: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What the API knows when it accepts an upload; the rest starts at its defaults. */
export type NewUpload = Pick<Upload, 'id' | 'userId' | 'idempotencyKey' | 'declaredType' | 'detectedType' | 'sizeBytes' | 'sha256' | 'width' | 'height'> & {
  stagedPath: string;
};

/** The avatar a user has now, as `user_detail` holds it. */
export interface UserAvatar {
  userId: number;
  avatar: string | null;
  avatarFileId: string | null;
  avatarUploadId: string | null;
  variants: AvatarVariant[];
  updatedAt: Date;
}
