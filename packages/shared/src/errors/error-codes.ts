/**
 * The one table of error codes. Each code has an HTTP status (what the API answers) and a
 * retry policy (what the worker does when a job fails with it). Clients rely on the codes.
 */
export const errorCatalog = {
  validation_failed: { status: 400, title: 'Invalid request', retry: false },
  malformed_request: { status: 400, title: 'Malformed HTTP request', retry: false },
  headers_too_large: { status: 431, title: 'Request headers too large', retry: false },
  file_missing: { status: 400, title: 'No file part named "file"', retry: false },
  too_many_parts: { status: 400, title: 'Too many parts or fields', retry: false },
  malformed_multipart: { status: 400, title: 'Malformed multipart body', retry: false },
  not_multipart: { status: 415, title: 'Expected multipart/form-data', retry: false },
  unauthorized: { status: 401, title: 'Missing or invalid token', retry: false },
  forbidden: { status: 403, title: 'Not allowed', retry: false },
  user_not_found: { status: 404, title: 'No such user', retry: false },
  upload_not_found: { status: 404, title: 'No such upload', retry: false },
  avatar_not_found: { status: 404, title: 'No avatar', retry: false },
  not_found: { status: 404, title: 'Not found', retry: false },
  // the operator console: only a failed upload is retried, and only while its staged original exists
  upload_not_retryable: { status: 409, title: 'Only a failed upload can be retried', retry: false },
  original_gone: { status: 410, title: 'The original is gone; the user must upload again', retry: false },
  csrf_token_invalid: { status: 403, title: 'Missing or invalid CSRF token', retry: false },
  idempotency_conflict: { status: 409, title: 'Idempotency-Key reused with different content', retry: false },
  file_too_large: { status: 413, title: 'File too large', retry: false },
  unsupported_media_type: { status: 415, title: 'Not a supported image', retry: false },
  image_undecodable: { status: 422, title: 'Image cannot be decoded', retry: false },
  image_too_large: { status: 422, title: 'Image dimensions over the limit', retry: false },
  image_too_complex: { status: 422, title: 'Image structure over the limit', retry: false },
  // the worker's render deadline: the same input would run out of time again, so no retry
  render_timeout: { status: 422, title: 'Image took too long to process', retry: false },
  request_timeout: { status: 408, title: 'Request not received in time', retry: false },
  // the client closed the connection mid-request: nobody reads the answer; its own code keeps it out of server errors
  client_aborted: { status: 400, title: 'Client closed the request', retry: false },
  rate_limited: { status: 429, title: 'Too many requests', retry: false },
  service_unavailable: { status: 503, title: 'A dependency is unavailable', retry: true },
  shutting_down: { status: 503, title: 'Server is shutting down', retry: true },
  storage_unavailable: { status: 503, title: 'File storage unavailable', retry: true },
  storage_error: { status: 502, title: 'File storage refused the file', retry: false },
  staged_file_missing: { status: 500, title: 'The staged original is missing', retry: false },
  internal_error: { status: 500, title: 'Internal error', retry: true },
} as const satisfies Record<string, { status: number; title: string; retry: boolean }>;

export type ErrorCode = keyof typeof errorCatalog;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(errorCatalog, value);
}

/** Every code, for schemas that carry one (`z.enum(errorCodes)`). */
export const errorCodes = Object.keys(errorCatalog) as [ErrorCode, ...ErrorCode[]];
