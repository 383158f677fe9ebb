import type { FastifyRequest } from 'fastify';
import { AppError } from '@avatar/shared';
import type { Principal } from '../plugins/app/authenticate.js';

export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthorized');
  return request.principal;
}

export function uploadLinks(uploadId: string): { statusUrl: string; eventsUrl: string } {
  return { statusUrl: `/v1/uploads/${uploadId}`, eventsUrl: `/v1/uploads/${uploadId}/events` };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
