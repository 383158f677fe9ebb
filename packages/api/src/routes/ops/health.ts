import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { AppDeps } from '../../deps.js';

const CHECK_TIMEOUT_MS = 2_000;

/** Runs one check; the reason for a failure goes to the log, never into the public answer. */
async function timed(name: string, log: FastifyBaseLogger, check: (signal: AbortSignal) => Promise<unknown>): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
  try {
    await Promise.race([
      check(signal),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true })),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    log.warn({ err: error, dependency: name }, 'readiness check failed');
    return { ok: false, ms: Math.round(performance.now() - started) };
  }
}

/**
 * /health/live: the process answers. /health/ready: PostgreSQL and Redis answer, and a FastDFS
 * tracker answers with an ACTIVE storage server to store in (not merely that a tracker is up).
 */
export async function healthRoutes(app: FastifyInstance, deps: Pick<AppDeps, 'repos' | 'redis' | 'checkFileStorage'>): Promise<void> {
  app.get('/health/live', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { schema: { hide: true } }, async (request, reply) => {
    const [postgres, redis, fastdfs] = await Promise.all([
      timed('postgres', request.log, () => deps.repos.ping()),
      timed('redis', request.log, () => deps.redis.ping()),
      timed('fastdfs', request.log, (signal) => deps.checkFileStorage(signal)),
    ]);
    const ready = postgres.ok && redis.ok && fastdfs.ok && !app.isDraining();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', draining: app.isDraining(), checks: { postgres, redis, fastdfs } });
  });
}
