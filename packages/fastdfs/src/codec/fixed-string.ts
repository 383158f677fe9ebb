/**
 * Writes `value` as a NUL-padded fixed-size field. The caller validated the length; the
 * target is expected to be zero-filled or is filled here.
 */
export function writeFixedString(target: Buffer, offset: number, size: number, value: string): void {
  const written = target.write(value, offset, size, 'latin1');
  if (written < size) target.fill(0, offset + written, offset + size);
}

/** Reads a NUL-padded fixed-size field; a full field has no NUL. */
export function readFixedString(source: Buffer, offset: number, size: number): string {
  const end = Math.min(offset + size, source.length);
  let stop = offset;
  while (stop < end && source[stop] !== 0) stop++;
  return source.toString('latin1', offset, stop);
}
