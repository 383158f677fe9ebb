import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, UploadsRepository, type Upload } from '@avatar/shared';
import { etagMatches, retryAfterSeconds, snapshotEtag, toSnapshot, uploadAccess } from '../../domain/upload-snapshot.js';
import type { UploadTokens } from '../../domain/upload-token.js';
import type { AppDeps } from '../../deps.js';
import { canActFor } from '../../plugins/app/authenticate.js';
import { notModifiedSchema, problemSchema, snapshotQuery, snapshotResponse, uploadIdParams } from '../../schemas/upload-schemas.js';
import { isUuid } from '../route-helpers.js';

/**
 * Loads an upload the caller may see: with a bearer token its owner's or any (admin); with an
 * upload token only the upload it names. Any other upload is "not found", exactly like a
 * missing one, so upload ids cannot be probed.
 */
export async function loadVisibleUpload(uploads: UploadsRepository, request: FastifyRequest, uploadId: string): Promise<Upload> {
  const { principal, uploadGrant } = request;
  if (!principal && !uploadGrant) throw new AppError('unauthorized');
  const upload = isUuid(uploadId) ? await uploads.findById(uploadId) : undefined;
  const visible = upload !== undefined && (principal ? canActFor(principal, upload.userId) : uploadGrant?.uploadId === upload.id);
  if (!upload || !visible) throw new AppError('upload_not_found', 'No such upload');
  return upload;
}

/** GET /v1/uploads/:uploadId — the cheap poll: ETag/304 and Retry-After. */
export async function getUploadRoute(app: FastifyInstance, deps: AppDeps & { uploadTokens: UploadTokens }): Promise<void> {
  const uploads = new UploadsRepository(deps.db);
  app.withTypeProvider<ZodTypeProvider>().get('/v1/uploads/:uploadId', {
    schema: {
      summary: 'Upload status snapshot',
      security: [{ bearer: [] }],
      params: uploadIdParams,
      querystring: snapshotQuery,
      response: { 200: snapshotResponse, 304: notModifiedSchema, '4xx': problemSchema, '5xx': problemSchema },
    },
    preHandler: app.authenticateUploadReader,
  }, async (request, reply) => {
    const upload = await loadVisibleUpload(uploads, request, request.params.uploadId);
    // read with an upload token, the same token comes back: it never extends its own life
    const issued = request.uploadGrant ?? deps.uploadTokens.issue(upload);
    const etag = snapshotEtag(upload, issued);
    const retryAfter = retryAfterSeconds(upload.status);
    reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    if (etagMatches(request.headers['if-none-match'], etag)) return notModified(reply);
    return toSnapshot(upload, uploadAccess(upload.id, issued));
  });
}

/** A 304 has no body (RFC 9110): sent with no payload at all, where `send(null)` would serialise to "null". */
function notModified(reply: FastifyReply): FastifyReply {
  return reply.code(304).send();
}
