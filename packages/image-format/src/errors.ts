import { AppError, type AppErrorOptions } from '@avatar/shared';

/** The bytes claim a format but break its rules: no retry and no other reader would help. */
export function undecodable(detail: string, options?: AppErrorOptions): AppError {
  return new AppError('image_undecodable', detail, options);
}

/** Not a format we accept, or a variant of one that nothing here decodes. */
export function unsupported(detail: string): AppError {
  return new AppError('unsupported_media_type', detail);
}
