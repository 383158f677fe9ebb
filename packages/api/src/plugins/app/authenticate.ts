import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '@avatar/shared';

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

export function principalFromClaims(claims: TokenClaims): Principal {
  const sub = typeof claims.sub === 'string' ? claims.sub : typeof claims.sub === 'number' ? String(claims.sub) : '';
  if (!/^[1-9][0-9]{0,15}$/.test(sub)) throw new AppError('unauthorized', 'The token has no valid subject');
  return { userId: Number(sub), admin: claims.role === 'admin' };
}

/** The one rule for "may this caller act for that user": the user themself, or an admin. */
export function canActFor(principal: Principal, userId: number): boolean {
  return principal.admin || principal.userId === userId;
}

/** `app.authenticate` verifies the bearer token (see the jwt plugin for pinned algorithms) and sets `request.principal`. */
export const authenticatePlugin = fp(async (app: FastifyInstance) => {
  app.decorateRequest('principal', null);
  app.decorate('authenticate', async (request: FastifyRequest) => {
    if (!request.headers.authorization) throw new AppError('unauthorized', 'A bearer token is required');
    const claims = await request.jwtVerify<TokenClaims>();
    request.principal = principalFromClaims(claims);
  });
});
