import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '@avatar/shared';
import { parseUserId } from '../../domain/user-id.js';
import { failureLimit, lockedOut } from '../external/rate-limit.js';

export interface Principal {
  userId: number;
  admin: boolean;
}

interface TokenClaims {
  sub?: unknown;
  role?: unknown;
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string; role?: 'admin' | 'user' };
    user: TokenClaims;
  }
}

/** A numeric `sub` was already rounded by JSON.parse if it was unsafe, so it is refused like an unsafe string. */
export function principalFromClaims(claims: TokenClaims): Principal {
  const sub = typeof claims.sub === 'string' ? claims.sub : typeof claims.sub === 'number' ? String(claims.sub) : '';
  const userId = parseUserId(sub);
  if (userId === undefined) throw new AppError('unauthorized', 'The token has no valid subject');
  return { userId, admin: claims.role === 'admin' };
}

/** The one rule for "may this caller act for that user": the user themself, or an admin. Both ids are safe integers. */
export function canActFor(principal: Principal, userId: number): boolean {
  return principal.admin || principal.userId === userId;
}

/**
 * A hook for routes with a `:userId` the caller acts for, after `authenticate`. As an onRequest
 * hook it decides before any of the body is read, so a stranger cannot make the server parse
 * (or wait for) a body it would refuse anyway.
 */
export async function requireActingForUserParam(request: FastifyRequest): Promise<void> {
  const userId = parseUserId((request.params as { userId?: string }).userId ?? '');
  if (userId === undefined) throw new AppError('validation_failed', 'userId must be a positive integer below 2^53');
  if (!request.principal) throw new AppError('unauthorized');
  if (!canActFor(request.principal, userId)) throw new AppError('forbidden', 'You may change only your own avatar');
}

/**
 * `app.authenticate` verifies the bearer token (see the jwt plugin for pinned algorithms) and
 * sets `request.principal`. Refusals are counted per address on their own limit: past it the
 * address gets 429 instead of 401, while a valid token from there still gets in (bearer
 * tokens cannot be guessed, so there is nothing to lock out; the limit only bounds the work).
 */
export const authenticatePlugin = fp(async (app: FastifyInstance, opts: { failuresPerIp: number }) => {
  const failures = opts.failuresPerIp > 0 ? failureLimit(app, { name: 'auth-failures', max: opts.failuresPerIp }) : undefined;
  app.decorateRequest('principal', null);
  app.decorate('authenticate', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      if (!request.headers.authorization) throw new AppError('unauthorized', 'A bearer token is required');
      request.principal = principalFromClaims(await request.jwtVerify<TokenClaims>());
    } catch (refusal) {
      const retryAfter = await failures?.recordFailure(request);
      if (retryAfter !== undefined) throw lockedOut(reply, retryAfter, 'refused authentications');
      throw refusal;
    }
  });
});
