import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { AppError } from '@avatar/shared';

/**
 * Registers the limiter without global limits; routes opt in with `perMinuteLimit(...)`.
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

/**
 * A route hook allowing `max` requests a minute per `key`, answering 429 `rate_limited` with
 * `Retry-After`. Built on `createRateLimit` rather than `app.rateLimit()`: every hook from
 * the latter shares one "already ran" flag per request, so a second limit on the same route
 * (per user after per IP) would never be checked.
 */
export function perMinuteLimit(
  app: FastifyInstance,
  /** `key` defaults to the client address, IPv6 grouped by /64 so one host cannot rotate through its subnet. */
  options: { max: number; key?: (request: FastifyRequest) => string },
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const check = app.createRateLimit({ max: options.max, timeWindow: 60_000, ...(options.key ? { keyGenerator: options.key } : {}) });
  return async (request, reply) => {
    const result = await check(request);
    if (result.isAllowed || !result.isExceeded) return;
    reply.header('retry-after', String(Math.max(1, result.ttlInSeconds)));
    throw new AppError('rate_limited', 'Too many uploads; retry later', { extra: { limit: result.max } });
  };
}
