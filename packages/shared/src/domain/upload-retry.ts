import { errorCatalog, type ErrorCode } from '../errors/error-codes.js';
import type { UploadStatus } from './upload-status.js';

/**
 * Failures that were the system's fault (an outage that outlasted the job's attempts, a
 * storage refusal, a bug): an operator may retry them once the cause is gone, so the worker
 * keeps their staged original for the retention window. A failure caused by the input
 * (undecodable, too large, too slow to render, user deleted) would fail again: its original
 * is removed at once.
 */
export const originalKeepingCodes: readonly ErrorCode[] = (Object.keys(errorCatalog) as ErrorCode[]).filter((code) => errorCatalog[code].status >= 500);

export function keepsOriginalForRetry(code: string | null): boolean {
  return code !== null && (originalKeepingCodes as readonly string[]).includes(code);
}

/**
 * Only a failed upload is retried, and only by an operator (`UploadJournal.reopenFailed`):
 * done and superseded stay final, and the worker itself never moves a failed upload.
 */
export function canRetry(status: UploadStatus): boolean {
  return status === 'failed';
}
