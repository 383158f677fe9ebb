import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../deps.js';

const CHECK_TIMEOUT_MS = 2_000;

async function timed(check: (signal: AbortSignal) => Promise<unknown>): Promise<{ ok: boolean; ms: number; error?: string }> {
  const started = performance.now();
  const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
  try {
    await Promise.race([
      check(signal),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('timed out')), { once: true })),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message.slice(0, 200) };
  }
}

/** /health/live: the process answers. /health/ready: PostgreSQL, Redis and a FastDFS tracker answer. */
export async function healthRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  app.get('/health/live', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { schema: { hide: true } }, async (_request, reply) => {
    const [postgres, redis, fastdfs] = await Promise.all([
      timed(() => deps.db.raw('select 1')),
      timed(() => deps.redis.ping()),
      timed((signal) => deps.checkFileStorage(signal)),
    ]);
    const ready = postgres.ok && redis.ok && fastdfs.ok && !app.isDraining();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', draining: app.isDraining(), checks: { postgres, redis, fastdfs } });
  });
}
