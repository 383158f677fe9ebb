import { FastdfsError } from '@avatar/fastdfs';
import { isAppError, isInfrastructureError, type ErrorCode } from '@avatar/shared';

export interface Failure {
  /** false: fail the upload now (BullMQ's UnrecoverableError); true: let BullMQ retry with backoff. */
  retry: boolean;
  /** What the upload row, its `failed`/`retrying` event and the job's `lastFailure` carry. */
  code: ErrorCode;
  /** For people (logs, the event, BullMQ's failedReason); never parsed. */
  message: string;
}

/**
 * The one place that decides "try again" or "fail for good", by the error's type or code:
 * bad input (undecodable image, bombs, a deleted user) fails at once; anything that looks
 * like an outage retries.
 */
export function classifyFailure(error: unknown): Failure {
  if (isAppError(error)) return { retry: error.retryable, code: error.code, message: error.message };
  if (error instanceof FastdfsError) {
    return error.transient
      ? { retry: true, code: 'storage_unavailable', message: `FastDFS: ${error.message}` }
      : { retry: false, code: 'storage_error', message: `FastDFS: ${error.message}` };
  }
  if (isInfrastructureError(error)) return { retry: true, code: 'service_unavailable', message: (error as Error).message };
  const message = error instanceof Error ? error.message : String(error);
  // unknown errors get the retries: a bug then shows as a `failed` upload after the last attempt
  return { retry: true, code: 'internal_error', message };
}
