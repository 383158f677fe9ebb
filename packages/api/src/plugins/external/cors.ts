import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

/** Only the public API is called from other origins; the operator pages and the admin console never are. */
const CROSS_ORIGIN_PREFIX = '/v1/';

/** How long a browser may reuse a preflight answer, so a client does not preflight every upload. */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * Answer headers a cross-origin script may read, besides the CORS-safelisted ones: the status
 * URL, the snapshot's tag, when to retry, whether an upload was an idempotent replay, and the
 * error code (the problem+json body carries it too).
 */
export const EXPOSED_HEADERS = ['Location', 'ETag', 'Retry-After', 'Idempotent-Replayed', 'X-Error-Code'];

/** Request headers a cross-origin script may send (Content-Type: the browser sets multipart's itself). */
const ALLOWED_HEADERS = ['Authorization', 'Idempotency-Key', 'Content-Type', 'If-None-Match', 'Last-Event-ID', 'Accept'];

/**
 * The options for one request: CORS for a listed origin calling the public API, none at all
 * otherwise. An origin not on the list gets no CORS header whatsoever (so the browser hides
 * the answer from it), and its preflight is a 404.
 */
export function corsOptionsFor(request: { url: string; origin: string | undefined }, allowedOrigins: readonly string[]): FastifyCorsOptions {
  const { url, origin } = request;
  if (!url.startsWith(CROSS_ORIGIN_PREFIX) || origin === undefined || !allowedOrigins.includes(origin)) return { origin: false };
  return {
    origin,
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    // bearer tokens travel in Authorization, never in cookies: no credentialed CORS
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  };
}

/**
 * CORS for the origins in `CORS_ORIGINS`; with none listed nothing is registered and the API
 * stays same-origin only, as before. Register it before every other hook: its onRequest hook
 * then sets the headers before authentication, rate limits or the drain can refuse a request,
 * so a browser can read every problem+json answer (401, 413, 429, ...) too.
 */
export const corsPlugin = fp(async (app: FastifyInstance, opts: { origins: readonly string[] }) => {
  if (opts.origins.length === 0) return;
  // whether a /v1 answer carries CORS headers depends on Origin, so caches must key on it, even
  // for an answer without them (the listed origin's request may come next)
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith(CROSS_ORIGIN_PREFIX)) reply.header('vary', 'Origin');
  });
  await app.register(fastifyCors, {
    hook: 'onRequest',
    delegator: (request: FastifyRequest, callback) => callback(null, corsOptionsFor({ url: request.url, origin: request.headers.origin }, opts.origins)),
  });
});
