/**
 * A user id as written in a token's `sub` or a path: decimal digits without sign or leading
 * zero, and a safe integer. Beyond 2^53 `Number()` rounds, so `9007199254740993` would become
 * `9007199254740992` and act as another user: such ids are refused, never rounded.
 */
export function parseUserId(value: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) return undefined;
  const id = Number(value);
  return Number.isSafeInteger(id) ? id : undefined;
}
