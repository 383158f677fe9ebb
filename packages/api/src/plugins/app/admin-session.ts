import { createHash, randomBytes } from 'node:crypto';
import { fastifyCookie, type CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { RedisClient } from '@avatar/shared';

/** The console's session cookie: only sent to /admin paths. */
export const ADMIN_SESSION_COOKIE = 'avatar_admin';
export const ADMIN_COOKIE_PATH = '/admin';

/**
 * Operator console logins, kept in Redis so every API process knows them and logout really
 * ends one. The cookie holds an opaque random token (256 bits); Redis holds only its SHA-256,
 * with the session's lifetime as the key's TTL. Nothing in the cookie is derived from the
 * admin password, so a stolen cookie gives no way to guess it offline.
 */
export class AdminSessionStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  readonly ttlSeconds: number;

  constructor(options: { redis: RedisClient; prefix: string; ttlSeconds: number }) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.ttlSeconds = options.ttlSeconds;
  }

  /** Starts a session and returns the token for the cookie. */
  async create(meta: { ip: string }): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.redis.set(this.key(token), JSON.stringify({ ip: meta.ip, at: new Date().toISOString() }), 'EX', this.ttlSeconds);
    return token;
  }

  /** The request's session token if it names a live session; throws when Redis is away. */
  async current(request: FastifyRequest): Promise<string | undefined> {
    const token = sessionToken(request);
    if (!token) return undefined;
    return (await this.redis.exists(this.key(token))) === 1 ? token : undefined;
  }

  async revoke(token: string): Promise<void> {
    await this.redis.del(this.key(token));
  }

  private key(token: string): string {
    return `${this.prefix}:admin-session:${sessionDigest(token)}`;
  }
}

/** What the server keeps of a session token (its SHA-256, hex): names the session without revealing the cookie. */
export function sessionDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The session cookie's value, read from the header itself: bull-board's scope has no cookie plugin. */
export function sessionToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  const token = fastifyCookie.parse(header)[ADMIN_SESSION_COOKIE];
  // our tokens are 43 base64url characters: anything else is not worth a Redis round trip
  return token && /^[A-Za-z0-9_-]{43}$/.test(token) ? token : undefined;
}

/**
 * HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure when
 * the request came over TLS (`request.protocol` honours X-Forwarded-Proto only with TRUST_PROXY),
 * and limited to /admin.
 */
export function adminCookieOptions(request: FastifyRequest, maxAgeSeconds?: number): CookieSerializeOptions {
  return {
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    path: ADMIN_COOKIE_PATH,
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  };
}
