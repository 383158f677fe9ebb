import { AppError } from '@avatar/shared';

/**
 * Types a browser would render as a document or script. Bytes that sniff as an image but are
 * declared as one of these are a polyglot attempt, so they are refused even though the worker
 * would re-encode them.
 */
const dangerous = [/^text\//i, /html/i, /xml/i, /svg/i, /javascript/i, /ecmascript/i, /^application\/pdf/i, /^application\/x-sh/i];

/**
 * What busboy reports for a part with no Content-Type, an empty one, or one past the part
 * header limit. It exposes nothing else about the part's headers, so a declared `text/plain`
 * reads the same as no declaration; neither is a type a browser runs, and the type is judged
 * by the bytes anyway.
 */
const BUSBOY_DEFAULT_TYPE = 'text/plain';

/** The part's declared type, or undefined where the client declared none (see BUSBOY_DEFAULT_TYPE). */
export function declaredTypeOf(reportedType: string | undefined): string | undefined {
  const type = reportedType?.trim().toLowerCase();
  return type && type !== BUSBOY_DEFAULT_TYPE ? type : undefined;
}

export function assertDeclaredTypeIsSafe(declaredType: string | undefined): void {
  if (declaredType && dangerous.some((pattern) => pattern.test(declaredType))) {
    throw new AppError('unsupported_media_type', `Declared type ${declaredType.slice(0, 100)} is not an image`);
  }
}
