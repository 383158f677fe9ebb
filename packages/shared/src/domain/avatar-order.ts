/** Identifies an upload's place in acceptance order: `created_at`, then `id` to break ties. */
export interface AcceptanceKey {
  id: string;
  createdAt: Date;
}

/**
 * True when `candidate` was accepted after `current`. The newest accepted upload wins the
 * avatar, whatever order the jobs finish in; the acceptance scripts order the same way.
 */
export function isNewerThan(candidate: AcceptanceKey, current: AcceptanceKey): boolean {
  const a = candidate.createdAt.getTime();
  const b = current.createdAt.getTime();
  if (a !== b) return a > b;
  return candidate.id > current.id;
}
