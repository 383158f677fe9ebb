import { AppError } from '@avatar/shared';

/**
 * Types a browser would render as a document or script. Bytes that sniff as an image but are
 * declared as one of these are a polyglot attempt, so they are refused even though the worker
 * would re-encode them.
 */
const dangerous = [/^text\//i, /html/i, /xml/i, /svg/i, /javascript/i, /ecmascript/i, /^application\/pdf/i, /^application\/x-sh/i];

export function assertDeclaredTypeIsSafe(declaredType: string | undefined): void {
  if (declaredType && dangerous.some((pattern) => pattern.test(declaredType))) {
    throw new AppError('unsupported_media_type', `Declared type ${declaredType.slice(0, 100)} is not an image`);
  }
}
