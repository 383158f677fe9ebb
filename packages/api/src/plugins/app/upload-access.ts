import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { UploadGrant, UploadTokens } from '../../domain/upload-token.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * For the routes that read one upload (snapshot, events): a bearer token in Authorization as
     * everywhere, or else an upload token in `?access_token=`, which sets `request.uploadGrant`.
     */
    authenticateUploadReader: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    uploadGrant: UploadGrant | null;
  }
}

/** Reads `access_token` from the raw query string: route schemas strip what they do not know. */
export function accessTokenOf(request: FastifyRequest): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.access_token;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Upload tokens are accepted by the upload-reading routes only, and only when no Authorization
 * header is sent, so a bearer client behaves exactly as before. Every other route ignores
 * `access_token` and still asks for a bearer token.
 */
export const uploadAccessPlugin = fp(async (app: FastifyInstance, opts: { tokens: UploadTokens }) => {
  app.decorateRequest('uploadGrant', null);
  app.decorate('authenticateUploadReader', async (request: FastifyRequest, reply: FastifyReply) => {
    const token = request.headers.authorization ? undefined : accessTokenOf(request);
    if (token === undefined) return app.authenticate(request, reply);
    request.uploadGrant = opts.tokens.verify(token);
  });
});
