/** What several routes share: routes never import each other. */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, type Upload, type UploadsRepository } from '@avatar/shared';
import { canActFor } from '../plugins/app/authenticate.js';

export function uploadLinks(uploadId: string): { statusUrl: string; eventsUrl: string } {
  return { statusUrl: `/v1/uploads/${uploadId}`, eventsUrl: `/v1/uploads/${uploadId}/events` };
}

const uuid = z.uuid();

/** Upload ids are uuids; anything else is "no such upload" without asking the database. */
export function isUuid(value: string): boolean {
  return uuid.safeParse(value).success;
}

/**
 * Loads an upload the caller may see (the snapshot and the events routes): with a bearer token
 * its owner's or any (admin); with an upload token only the upload it names. Any other upload
 * is "not found", exactly like a missing one, so upload ids cannot be probed.
 */
export async function loadVisibleUpload(uploads: Pick<UploadsRepository, 'findById'>, request: FastifyRequest, uploadId: string): Promise<Upload> {
  const { principal, uploadGrant } = request;
  if (!principal && !uploadGrant) throw new AppError('unauthorized');
  const upload = isUuid(uploadId) ? await uploads.findById(uploadId) : undefined;
  const visible = upload !== undefined && (principal ? canActFor(principal, upload.userId) : uploadGrant?.uploadId === upload.id);
  if (!upload || !visible) throw new AppError('upload_not_found', 'No such upload');
  return upload;
}
