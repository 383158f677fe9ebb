import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '@avatar/shared';

declare module 'fastify' {
  interface FastifyInstance {
    /** Stop taking new uploads; requests already in flight finish. */
    startDraining: () => void;
    isDraining: () => boolean;
  }
}

export const drainPlugin = fp(async (app: FastifyInstance) => {
  let draining = false;
  app.decorate('startDraining', () => {
    draining = true;
  });
  app.decorate('isDraining', () => draining);
  app.addHook('onRequest', async (request) => {
    if (draining && request.method === 'POST') throw new AppError('shutting_down', 'This server is shutting down; retry on another');
  });
});
