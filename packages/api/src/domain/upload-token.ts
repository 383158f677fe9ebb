import { createSigner, createVerifier } from 'fast-jwt';
import { AppError } from '@avatar/shared';

/**
 * The audience of upload tokens. Bearer tokens are verified with another key, so neither kind
 * can pass for the other; the audience says what this one is for even to someone decoding it.
 */
export const UPLOAD_TOKEN_AUDIENCE = 'avatar:upload-read';

/** What an upload token lets its holder do: read this one upload's snapshot and events. */
export interface UploadGrant {
  uploadId: string;
  userId: number;
  /** the token itself and its expiry, handed back unchanged in the snapshot (a token never renews itself) */
  token: string;
  expiresAt: Date;
}

export interface IssuedUploadToken {
  token: string;
  expiresAt: Date;
}

export interface UploadTokens {
  issue(upload: { id: string; userId: number }): IssuedUploadToken;
  /** The grant a token carries; `unauthorized` for a bad, expired or foreign token. */
  verify(token: string): UploadGrant;
}

interface UploadTokenClaims {
  sub?: unknown;
  upl?: unknown;
  exp?: unknown;
}

/**
 * The `exp` of a token issued at `nowSeconds`: the end of the period of half the TTL after the
 * current one. Every token for an upload issued within one period is then the same token, so a
 * snapshot's strong ETag can cover it, and a token lives more than half the TTL, never more
 * than the TTL: a client revalidating its cached snapshot gets 304 only while its token has
 * more than half its life left, and a fresh token once the period turns.
 */
export function uploadTokenExpiry(nowSeconds: number, ttlSeconds: number): number {
  const half = Math.max(1, Math.floor(ttlSeconds / 2));
  return Math.min((Math.floor(nowSeconds / half) + 2) * half, nowSeconds + ttlSeconds);
}

/**
 * Short-lived tokens scoped to one upload, for clients that cannot send Authorization
 * (a browser's EventSource): HS256 with a key of their own (`UPLOAD_TOKEN_SECRET`, or one
 * derived from `JWT_SECRET`), a fixed audience and an `upl` claim naming the upload. No `iat`:
 * a token is a function of the upload, its user and its expiry only (see uploadTokenExpiry).
 */
export function createUploadTokens(options: { secret: string; ttlSeconds: number; now?: () => number }): UploadTokens {
  const now = options.now ?? Date.now;
  const sign = createSigner({ key: options.secret, algorithm: 'HS256', aud: UPLOAD_TOKEN_AUDIENCE, noTimestamp: true });
  const verifyClaims = createVerifier({
    key: options.secret,
    algorithms: ['HS256'],
    allowedAud: UPLOAD_TOKEN_AUDIENCE,
    requiredClaims: ['sub', 'upl', 'exp', 'aud'],
    clockTolerance: 5,
  });
  return {
    issue(upload) {
      // whole seconds, as `exp` holds them: the expiry answered is exactly the one verified
      const exp = uploadTokenExpiry(Math.floor(now() / 1000), options.ttlSeconds);
      return { token: sign({ sub: String(upload.userId), upl: upload.id, exp }), expiresAt: new Date(exp * 1000) };
    },
    verify(token) {
      let claims: UploadTokenClaims;
      try {
        claims = verifyClaims(token) as UploadTokenClaims;
      } catch (error) {
        throw new AppError('unauthorized', 'Missing, malformed or expired upload token', { cause: error });
      }
      const userId = typeof claims.sub === 'string' ? Number(claims.sub) : NaN;
      if (typeof claims.upl !== 'string' || !Number.isSafeInteger(userId) || typeof claims.exp !== 'number') {
        throw new AppError('unauthorized', 'The upload token is incomplete');
      }
      return { uploadId: claims.upl, userId, token, expiresAt: new Date(claims.exp * 1000) };
    },
  };
}
