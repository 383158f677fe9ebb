import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '@avatar/shared';
import type { Principal } from '../plugins/app/authenticate.js';

export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthorized');
  return request.principal;
}

export function uploadLinks(uploadId: string): { statusUrl: string; eventsUrl: string } {
  return { statusUrl: `/v1/uploads/${uploadId}`, eventsUrl: `/v1/uploads/${uploadId}/events` };
}

const uuid = z.uuid();

/** Upload ids are uuids; anything else is "no such upload" without asking the database. */
export function isUuid(value: string): boolean {
  return uuid.safeParse(value).success;
}
