import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '@avatar/shared';
import { sendProblem } from './error-handler.js';
import { principalFromClaims } from './authenticate.js';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Browsers and Prometheus use HTTP Basic (`admin` / ADMIN_PASSWORD); scripts may send an admin bearer token. */
export async function isAdmin(request: FastifyRequest, adminPassword: string): Promise<boolean> {
  const header = request.headers.authorization ?? '';
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon > 0 && decoded.slice(0, colon) === 'admin' && sameSecret(decoded.slice(colon + 1), adminPassword);
  }
  if (header.startsWith('Bearer ')) {
    try {
      return principalFromClaims(await request.jwtVerify()).admin;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * An onRequest hook for operator pages (dashboard, metrics). It answers the 401 itself:
 * plugins with their own error handler (bull-board) would turn a thrown error into a 500.
 */
export function requireAdmin(adminPassword: string): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    if (await isAdmin(request, adminPassword)) return undefined;
    reply.header('www-authenticate', 'Basic realm="avatar admin", charset="UTF-8"');
    return sendProblem(reply, request, new AppError('unauthorized', 'Admin credentials required'));
  };
}
