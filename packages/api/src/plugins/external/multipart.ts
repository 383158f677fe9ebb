import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '@avatar/shared';

/** Multipart with every limit busboy offers: one file, a few small fields, bounded headers. */
export const multipartPlugin = fp(async (app: FastifyInstance, opts: { limits: Config['limits'] }) => {
  await app.register(fastifyMultipart, {
    limits: {
      fileSize: opts.limits.maxUploadBytes,
      files: 1,
      fields: 4,
      fieldNameSize: 64,
      fieldSize: 1024,
      parts: 5,
      headerPairs: 20,
    },
    throwFileSizeLimit: true,
  });
});
