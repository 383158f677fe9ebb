import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '@avatar/shared';
import { failureLimit, lockedOut } from '../external/rate-limit.js';
import type { AdminSessionStore } from './admin-session.js';
import { principalFromClaims } from './authenticate.js';
import { isCrossOrigin, requestSource } from './cross-site.js';
import { sendProblem, toAppError } from './error-handler.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for operator pages (dashboard, metrics); answers 401/429 itself. */
    requireAdmin: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
    /** The same check for the operator console: its 401 points a browser at the login page instead of asking for Basic. */
    requireAdminPage: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
    /**
     * The console's login form: true for the right password. A wrong one counts against the
     * address's failure limit like a wrong Basic login; a locked-out address gets `rate_limited`.
     */
    checkAdminPassword: (request: FastifyRequest, password: string) => Promise<boolean>;
  }
  interface FastifyRequest {
    /** How an admin request proved itself: a session cookie needs a CSRF token to change anything, a header does not. */
    adminVia: AdminScheme | undefined;
  }
}

type Scheme = 'basic' | 'bearer' | 'session' | 'none';
export type AdminScheme = Exclude<Scheme, 'none'>;

/**
 * Compares fixed-length keyed digests, so neither the time taken nor an early length check
 * tells how long the secret is or how much of it matched.
 */
export function sameSecret(given: string, expected: string, key: Buffer): boolean {
  const digest = (value: string): Buffer => createHmac('sha256', key).update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Browsers and Prometheus use HTTP Basic (`admin` / ADMIN_PASSWORD); scripts may send an admin
 * bearer token; the console's browsers carry a session cookie (only looked at without an
 * Authorization header).
 */
async function checkAdmin(request: FastifyRequest, adminPassword: string, key: Buffer, sessions: AdminSessionStore | undefined): Promise<{ admin: boolean; scheme: Scheme }> {
  const header = request.headers.authorization ?? '';
  if (/^basic /i.test(header)) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // both compared every time: a wrong user name must not skip the password's comparison
    const user = sameSecret(colon < 0 ? decoded : decoded.slice(0, colon), 'admin', key);
    const password = sameSecret(colon < 0 ? '' : decoded.slice(colon + 1), adminPassword, key);
    return { admin: colon > 0 && user && password, scheme: 'basic' };
  }
  if (/^bearer /i.test(header)) {
    try {
      return { admin: principalFromClaims(await request.jwtVerify()).admin, scheme: 'bearer' };
    } catch {
      return { admin: false, scheme: 'bearer' };
    }
  }
  // a missing, unknown or expired session is a visit without credentials: refused, not counted
  if (sessions && (await sessions.current(request))) return { admin: true, scheme: 'session' };
  return { admin: false, scheme: 'none' };
}

/** The login form's 429: `retryAfter` (seconds) goes into the page's Retry-After. */
function loginsLockedOut(retryAfter: number): AppError {
  return new AppError('rate_limited', 'Too many failed admin logins from this address; retry later', { extra: { retryAfter } });
}

/**
 * `app.requireAdmin`. Failed logins are counted per address in Redis (shared by every API
 * process); once an address has used up `failuresPerIp` in a minute it gets 429 before its
 * credentials are even checked, so a right guess looks the same as a wrong one. A request
 * with no credentials at all (a browser's first visit) is refused but not counted. A change
 * (any method but GET, HEAD, OPTIONS) with the session cookie or Basic is refused 403
 * `csrf_token_invalid` when the browser says it came from another origin: this covers the
 * console and bull-board's API alike. The hook answers itself: plugins with their own error
 * handler (bull-board) would turn a thrown error into a 500.
 */
export const adminAuthPlugin = fp(async (app: FastifyInstance, opts: { adminPassword: string; failuresPerIp: number; sessions?: AdminSessionStore }) => {
  const key = randomBytes(32);
  const failures = opts.failuresPerIp > 0 ? failureLimit(app, { name: 'admin-auth-failures', max: opts.failuresPerIp }) : undefined;
  app.decorateRequest('adminVia', undefined);

  const guard = (refuse: (request: FastifyRequest, reply: FastifyReply) => FastifyReply) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const lockedFor = await failures?.lockedFor(request);
      if (lockedFor !== undefined) {
        request.log.warn({ ip: request.ip }, 'admin authentication refused: address locked out');
        return sendProblem(reply, request, lockedOut(reply, lockedFor, 'failed admin logins'));
      }
      const { admin, scheme } = await checkAdmin(request, opts.adminPassword, key, opts.sessions);
      if (admin) {
        // a browser sends the cookie (to sibling subdomains too, despite SameSite=Strict) and cached
        // Basic credentials along with another site's request: a change must come from our own pages
        if ((scheme === 'session' || scheme === 'basic') && isCrossOrigin(requestSource(request))) {
          request.log.warn({ ip: request.ip, scheme, method: request.method }, 'admin request from another origin refused');
          return sendProblem(reply, request, new AppError('csrf_token_invalid', 'A change with a session or Basic login must come from this origin'));
        }
        request.adminVia = scheme as AdminScheme;
        return undefined;
      }
      if (scheme !== 'none') {
        request.log.warn({ ip: request.ip, scheme }, 'admin authentication failed');
        await failures?.recordFailure(request);
      }
      return refuse(request, reply);
    } catch (error) {
      // Redis down: the limit cannot be checked, so nobody gets in
      request.log.error({ err: error }, 'admin authentication could not be checked');
      return sendProblem(reply, request, toAppError(error));
    }
  };

  app.decorate('requireAdmin', guard((request, reply) => {
    reply.header('www-authenticate', 'Basic realm="avatar admin", charset="UTF-8"');
    return sendProblem(reply, request, new AppError('unauthorized', 'Admin credentials required'));
  }));
  // a Basic challenge would make the browser ask for the password in its own dialog instead of the login page
  app.decorate('requireAdminPage', guard((request, reply) => {
    reply.header('www-authenticate', 'Bearer realm="avatar admin"');
    if (!request.headers.accept?.includes('text/html')) return sendProblem(reply, request, new AppError('unauthorized', 'Log in at /admin/login'));
    return reply
      .code(401)
      .header('x-error-code', 'unauthorized')
      .type('text/html; charset=utf-8')
      .send('<!doctype html><meta charset="utf-8"><title>Log in</title><p>Operators only. <a href="/admin/login">Log in</a></p>');
  }));

  app.decorate('checkAdminPassword', async (request: FastifyRequest, password: string) => {
    const lockedFor = await failures?.lockedFor(request);
    if (lockedFor !== undefined) {
      request.log.warn({ ip: request.ip }, 'admin login refused: address locked out');
      throw loginsLockedOut(lockedFor);
    }
    if (sameSecret(password, opts.adminPassword, key)) return true;
    request.log.warn({ ip: request.ip, scheme: 'login' }, 'admin authentication failed');
    const over = await failures?.recordFailure(request);
    if (over !== undefined) throw loginsLockedOut(over);
    return false;
  });
});
