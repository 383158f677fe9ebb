import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';

/**
 * Registers the limiter without global limits; routes opt in with `app.rateLimit(...)`.
 * Counters live in Redis so that every API process shares them; if Redis is down the
 * limiter's error becomes a 503 like any other Redis failure.
 */
export const rateLimitPlugin = fp(async (app: FastifyInstance, opts: { redis: Redis; prefix: string }) => {
  await app.register(fastifyRateLimit, {
    global: false,
    redis: opts.redis,
    nameSpace: `${opts.prefix}:rate-limit:`,
    skipOnError: false,
  });
});
