import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '@avatar/shared';

declare module 'fastify' {
  interface FastifyInstance {
    /** Stop taking new uploads; requests already in flight finish. */
    startDraining: () => void;
    isDraining: () => boolean;
    /** Aborts when draining starts: long-lived answers (event streams) end then, so the close is not held up by them. */
    drainSignal: AbortSignal;
    /** Resolves once no upload (POST) is in flight any more, or after `timeoutMs`. */
    drained: (timeoutMs: number) => Promise<void>;
  }
}

/**
 * Graceful shutdown, first phase: while draining, new uploads get a problem+json 503
 * `shutting_down` and every answer says `Connection: close`, so keep-alive clients stop
 * reusing a connection that is about to go away; uploads already in flight are counted so
 * the runtime can wait for them before closing the server. (Once the server itself closes,
 * Fastify answers any late request with its own bare 503, which is why this phase comes first.)
 */
export const drainPlugin = fp(async (app: FastifyInstance) => {
  let draining = false;
  const drainStarted = new AbortController();
  const inFlight = new Set<FastifyRequest>();
  let notifyIdle: (() => void) | undefined;
  const finished = (request: FastifyRequest): void => {
    if (inFlight.delete(request) && inFlight.size === 0) notifyIdle?.();
  };

  app.decorate('startDraining', () => {
    draining = true;
    drainStarted.abort();
  });
  app.decorate('drainSignal', drainStarted.signal);
  app.decorate('isDraining', () => draining);
  app.decorate('drained', async (timeoutMs: number) => {
    if (inFlight.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      notifyIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  });
  app.addHook('onRequest', async (request, reply) => {
    if (draining) {
      reply.header('connection', 'close');
      if (request.method === 'POST') throw new AppError('shutting_down', 'This server is shutting down; retry on another');
    }
    if (request.method === 'POST') inFlight.add(request);
  });
  // an answer to a request that arrived before draining must close its connection too, or the
  // client reuses it just as the server closes and meets Fastify's bare 503
  app.addHook('onSend', async (_request, reply, payload) => {
    if (draining) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request) => finished(request));
  app.addHook('onRequestAbort', async (request) => finished(request));
});
