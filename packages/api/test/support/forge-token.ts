import { createHmac, createSign, type KeyObject } from 'node:crypto';

/** Signs `header.payload` (the JWS signing input) and returns the raw signature bytes. */
export type TokenSigner = (signingInput: string) => Buffer;

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

/**
 * Builds a JWT by hand, so a test can make the ones no library would: `alg: none`,
 * a header that lies about its algorithm, missing claims. Without a signer the
 * signature part is empty.
 */
export function forgeToken(header: Record<string, unknown>, payload: Record<string, unknown>, sign?: TokenSigner): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  return `${signingInput}.${sign ? base64url(sign(signingInput)) : ''}`;
}

export function hmacSha256(secret: string | Buffer): TokenSigner {
  return (input) => createHmac('sha256', secret).update(input).digest();
}

export function rsaSha256(privateKey: KeyObject): TokenSigner {
  return (input) => createSign('RSA-SHA256').update(input).sign(privateKey);
}

/** Seconds since the epoch, as JWT `exp`/`iat` want them. */
export function epochSeconds(offsetSeconds = 0): number {
  return Math.floor(Date.now() / 1000) + offsetSeconds;
}
