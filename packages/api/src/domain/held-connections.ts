/**
 * How many connections one principal may hold open at once on the routes that wait: event
 * streams and long polls. Each holds a socket and re-reads the database every few seconds.
 * 0 turns a limit off.
 */
export interface HeldConnectionLimits {
  /** per user id, whether it reads with its bearer token or with upload tokens of its uploads */
  perUser: number;
  /** per upload, for readers with that upload's token (a browser tab needs one or two) */
  perUploadToken: number;
}

/** What a refused client should wait: a slot frees when another stream or poll ends, within 60 s. */
export const HELD_CONNECTION_RETRY_AFTER_SECONDS = 5;

export interface HoldKey {
  key: string;
  max: number;
}

export type HoldOutcome = { kind: 'held'; release: () => void } | { kind: 'full'; full: HoldKey };

/**
 * The counters a reader takes a slot under: a bearer reader its user; an upload-token reader
 * that upload and the upload's user, so minting tokens for many uploads does not multiply what
 * one user may hold.
 */
export function holdKeys(
  reader: { principal: { userId: number } | null; uploadGrant: { uploadId: string; userId: number } | null },
  limits: HeldConnectionLimits,
): HoldKey[] {
  const keys: HoldKey[] = [];
  if (reader.uploadGrant) keys.push({ key: `upload:${reader.uploadGrant.uploadId}`, max: limits.perUploadToken });
  const userId = reader.principal?.userId ?? reader.uploadGrant?.userId;
  if (userId !== undefined) keys.push({ key: `user:${userId}`, max: limits.perUser });
  return keys.filter(({ max }) => max > 0);
}

/**
 * Counts the connections held open per key, in this process only (several API processes each
 * allow the limit). One instance per app, passed to the routes that hold connections.
 */
export class HeldConnections {
  private readonly counts = new Map<string, number>();

  /** Takes a slot under every key, or none when one of them is full. `release` gives the slots back (once, however often it is called). */
  tryHold(keys: readonly HoldKey[]): HoldOutcome {
    const full = keys.find(({ key, max }) => this.held(key) >= max);
    if (full) return { kind: 'full', full };
    for (const { key } of keys) this.counts.set(key, this.held(key) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      for (const { key } of keys) {
        const left = this.held(key) - 1;
        if (left > 0) this.counts.set(key, left);
        else this.counts.delete(key);
      }
    };
    return { kind: 'held', release };
  }

  held(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
