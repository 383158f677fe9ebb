import { errorCatalog, type ErrorCode } from './error-codes.js';

export interface AppErrorOptions {
  cause?: unknown;
  /** Extra fields rendered into the problem document (e.g. limits). Never secrets or paths. */
  extra?: Record<string, unknown>;
  /** Overrides the catalog's retry policy for this instance. */
  retry?: boolean;
}

/**
 * The product's one error type: a stable code, a status from the catalog and a detail
 * safe to show a client. The API renders it as problem+json; the worker decides from
 * `retryable` whether BullMQ may try the job again.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly retryable: boolean;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, options: AppErrorOptions = {}) {
    const entry = errorCatalog[code];
    super(detail ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = entry.status;
    this.title = entry.title;
    this.retryable = options.retry ?? entry.retry;
    this.extra = options.extra;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
