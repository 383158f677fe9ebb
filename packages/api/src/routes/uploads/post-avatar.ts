import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, UploadJournal, UploadsRepository, UserDetailRepository } from '@avatar/shared';
import { receiveAvatarFile } from '../../adapters/receive-avatar-file.js';
import { acceptUpload } from '../../domain/accept-upload.js';
import { assertDeclaredTypeIsSafe } from '../../domain/declared-type.js';
import { inspectImage } from '../../domain/inspect-image.js';
import { uploadAccess } from '../../domain/upload-snapshot.js';
import type { UploadTokens } from '../../domain/upload-token.js';
import type { AppDeps } from '../../deps.js';
import type { ApiMetrics } from '../../metrics.js';
import { requireActingForUserParam } from '../../plugins/app/authenticate.js';
import { perMinuteLimit } from '../../plugins/external/rate-limit.js';
import { documentMultipart } from '../../plugins/external/docs.js';
import { acceptedSchema, avatarUploadForm, problemSchema, uploadHeaders, userIdParams } from '../../schemas/upload-schemas.js';
import { uploadLinks } from '../route-helpers.js';

/** POST /v1/users/:userId/avatar — where an upload is accepted. */
export async function postAvatarRoute(app: FastifyInstance, deps: AppDeps & { apiMetrics: ApiMetrics; uploadTokens: UploadTokens }): Promise<void> {
  const { config } = deps;
  const users = new UserDetailRepository(deps.db, config.tables);
  const uploads = new UploadsRepository(deps.db);
  const journal = new UploadJournal(deps.db);
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
    if (!(await users.userExists(userId))) throw new AppError('user_not_found', `No user ${userId}`);

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
      { journal, uploads, queue: deps.avatarQueue, removeStaged: (p) => deps.staging.remove(p), logger: request.log },
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
