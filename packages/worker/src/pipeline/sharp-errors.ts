/**
 * What went wrong inside sharp. sharp rejects with a plain Error whose message is libvips'
 * error text, with no code, so this is the one place that reads those messages; its test
 * pins the texts of the sharp version in use.
 */
export type SharpFailure = 'timeout' | 'pixel_limit' | 'other';

export function sharpFailureKind(error: unknown): SharpFailure {
  const message = error instanceof Error ? error.message : String(error);
  // `.timeout()`: libvips' progress callback sets "timeout: 6% complete", then kills the image
  if (/^timeout: \d+% complete/m.test(message)) return 'timeout';
  // `limitInputPixels`: "Input image exceeds pixel limit"
  if (/pixel limit/i.test(message)) return 'pixel_limit';
  return 'other';
}
