import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isIPv6 } from 'node:net';
import { AppError, type RedisClient } from '@avatar/shared';

/**
 * Registers the limiter without global limits; routes opt in with `perMinuteLimit(...)`.
 * Counters live in Redis so that every API process shares them; if Redis is down the
 * limiter's error becomes a 503 like any other Redis failure.
 */
export const rateLimitPlugin = fp(async (app: FastifyInstance, opts: { redis: RedisClient; prefix: string }) => {
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

/**
 * The address a per-client limit counts under: IPv4 as it is, an IPv4-mapped IPv6 address as
 * its IPv4, any other IPv6 address as its /64, so one host cannot rotate through its subnet.
 */
export function addressGroup(ip: string): string {
  const address = ip.split('%')[0] ?? ip;
  if (!isIPv6(address)) return address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  const [head = '', tail] = address.split('::');
  const leading = head === '' ? [] : head.split(':');
  const trailing = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? leading : [...leading, ...Array<string>(Math.max(0, 8 - leading.length - trailing.length)).fill('0'), ...trailing];
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}

/** Counts refusals (failed logins, bad tokens) per client address, shared by every API process through Redis. */
export interface FailureLimit {
  /** Seconds until the address may try again once it has used up its refusals, else undefined. */
  lockedFor(request: FastifyRequest): Promise<number | undefined>;
  /** Counts one refusal; seconds to wait if this one was over the limit, else undefined. */
  recordFailure(request: FastifyRequest): Promise<number | undefined>;
}

/**
 * `max` refusals a minute per address under `name`. Only refusals are counted, so a client
 * that authenticates is never slowed by them. Keys carry `name` so they never share a counter
 * with the upload limits, which live in the same Redis namespace.
 */
export function failureLimit(app: FastifyInstance, options: { name: string; max: number }): FailureLimit {
  const check = app.createRateLimit({ max: options.max, timeWindow: 60_000, keyGenerator: (request) => `${options.name}:${addressGroup(request.ip)}` });
  return {
    async lockedFor(request) {
      const result = await check(request, { increment: false });
      return !result.isAllowed && result.remaining === 0 ? Math.max(1, result.ttlInSeconds) : undefined;
    },
    async recordFailure(request) {
      const result = await check(request);
      return !result.isAllowed && result.isExceeded ? Math.max(1, result.ttlInSeconds) : undefined;
    },
  };
}

/** The 429 for an address over a failure limit, with Retry-After set on the reply. */
export function lockedOut(reply: FastifyReply, retryAfterSeconds: number, what: string): AppError {
  reply.header('retry-after', String(retryAfterSeconds));
  return new AppError('rate_limited', `Too many ${what} from this address; retry later`);
}
