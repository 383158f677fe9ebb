import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { inspectImage } from '@avatar/image-format';
import { AppError } from '@avatar/shared';
import { receiveAvatarFile } from '../../adapters/receive-avatar-file.js';
import { acceptUpload } from '../../domain/accept-upload.js';
import { assertDeclaredTypeIsSafe } from '../../domain/declared-type.js';
import { uploadAccess } from '../../domain/upload-snapshot.js';
import type { AppDeps } from '../../deps.js';
import type { ApiMetrics } from '../../metrics.js';
import { requireActingForUserParam } from '../../plugins/app/authenticate.js';
import { perMinuteLimit } from '../../plugins/external/rate-limit.js';
import { documentMultipart } from '../../plugins/external/docs.js';
import { acceptedSchema, avatarUploadForm, problemSchema, uploadHeaders, userIdParams } from '../../schemas/upload-schemas.js';
import { uploadLinks } from '../route-helpers.js';

export type PostAvatarDeps = Pick<AppDeps, 'config' | 'repos' | 'avatarQueue' | 'staging' | 'uploadTokens'> & { apiMetrics: ApiMetrics };

/** POST /v1/users/:userId/avatar — where an upload is accepted. */
export async function postAvatarRoute(app: FastifyInstance, deps: PostAvatarDeps): Promise<void> {
  const { config, repos } = deps;
  const perIp = config.rateLimit.uploadsPerIp > 0
    ? [perMinuteLimit(app, { max: config.rateLimit.uploadsPerIp })]
    : [];
  const perUser = config.rateLimit.uploadsPerUser > 0
    ? [perMinuteLimit(app, { max: config.rateLimit.uploadsPerUser, key: (req) => `user:${req.principal?.userId ?? 'anonymous'}` })]
    : [];

  app.withTypeProvider<ZodTypeProvider>().post('/v1/users/:userId/avatar', {
    schema: {
      summary: 'Upload an avatar (multipart, one part named "file")',
      security: [{ bearer: [] }],
      params: userIdParams,
      headers: uploadHeaders,
      response: { 202: acceptedSchema, '4xx': problemSchema, '5xx': problemSchema },
    },
    config: { swaggerTransform: documentMultipart(avatarUploadForm) },
    // every refusal of an upload, by its code, whoever answered it: authentication, a rate
    // limit, the drain or the handler (this route's hooks run for all of them)
    onResponse: async (_request, reply) => {
      if (reply.statusCode >= 400) deps.apiMetrics.uploadsRefused.inc({ code: String(reply.getHeader('x-error-code') ?? reply.statusCode) });
    },
    // nothing is answered to a client that left, so onResponse never counts it: count it here
    onRequestAbort: async () => {
      deps.apiMetrics.uploadsRefused.inc({ code: 'client_aborted' });
    },
    // who may post is decided before the body is parsed, and only an allowed request spends
    // the upload budgets (refused tokens have their own limit in `authenticate`)
    onRequest: [app.authenticate, requireActingForUserParam, ...perIp, ...perUser],
  }, async (request, reply) => {
    const { userId } = request.params;
    const idempotencyKey = request.headers['idempotency-key'];
    if (!(await repos.userDetail.userExists(userId))) throw new AppError('user_not_found', `No user ${userId}`);

    const { staged, declaredType } = await receiveAvatarFile(request, deps.staging, {
      maxBytes: config.limits.maxUploadBytes,
      timeoutMs: config.http.bodyTimeoutMs,
    });
    let image;
    try {
      assertDeclaredTypeIsSafe(declaredType);
      image = await inspectImage(staged.path, staged.head, {
        maxInputPixels: config.limits.maxInputPixels,
        maxSide: config.limits.maxImageSide,
        maxFrames: config.limits.maxImageFrames,
        maxJpegScans: config.limits.maxJpegScans,
      });
    } catch (error) {
      await deps.staging.discard(staged);
      throw error;
    }

    // only a body the probes passed is published where the workers read it
    const ref = await deps.staging.publish(staged);
    const { upload, replayed } = await acceptUpload(
      { journal: repos.journal, uploads: repos.uploads, queue: deps.avatarQueue, removeStaged: (p) => deps.staging.remove(p), logger: request.log },
      { userId, requestId: request.id, idempotencyKey, declaredType, staged: { ref, sizeBytes: staged.sizeBytes, sha256: staged.sha256 }, image },
    );
    // the row names the original now; a failure here only leaves an intent the sweeper releases
    if (!replayed) await deps.staging.recorded(ref).catch((error: unknown) => request.log.warn({ err: error, uploadId: upload.id }, 'staging intent not released'));
    deps.apiMetrics.uploadsAccepted.inc({ replayed: String(replayed) });
    const links = uploadLinks(upload.id);
    return reply
      .code(202)
      .header('location', links.statusUrl)
      .header('idempotent-replayed', String(replayed))
      .send({ uploadId: upload.id, status: upload.status, ...links, ...uploadAccess(upload.id, deps.uploadTokens.issue(upload)) });
  });
}
