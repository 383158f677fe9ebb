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

/**
 * What @fastify/busboy (under @fastify/multipart) says about a body that is not valid
 * multipart: it throws plain Errors with no code, so the message is the only signal. A body
 * ending before the closing boundary (cut short, or a boundary that never appears), a part
 * cut off inside its data, a `multipart/*` type without a boundary, and a boundary too long
 * for its searcher (over 252 characters: it allows more than RFC 2046's 70). The one place
 * that reads these messages; multipart-errors.test.ts provokes each from the real library.
 */
const malformedMultipartTexts = [
  'Unexpected end of multipart data',
  'Part terminated early due to unexpected end of multipart data',
  'Multipart: Boundary not found',
  'The needle cannot have a length bigger than 256.',
];

export function isMalformedMultipartMessage(message: string): boolean {
  return malformedMultipartTexts.some((text) => message.includes(text));
}
