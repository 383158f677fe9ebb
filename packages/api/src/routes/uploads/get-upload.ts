import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { etagMatches, retryAfterSeconds, snapshotEtag, toSnapshot, uploadAccess } from '../../domain/upload-snapshot.js';
import type { AppDeps } from '../../deps.js';
import { notModifiedSchema, problemSchema, snapshotQuery, snapshotResponse, uploadIdParams } from '../../schemas/upload-schemas.js';
import { loadVisibleUpload } from '../route-helpers.js';

/** GET /v1/uploads/:uploadId — the cheap poll: ETag/304 and Retry-After. */
export async function getUploadRoute(app: FastifyInstance, deps: Pick<AppDeps, 'repos' | 'uploadTokens'>): Promise<void> {
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
    const upload = await loadVisibleUpload(deps.repos.uploads, request, request.params.uploadId);
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
