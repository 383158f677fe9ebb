import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { AppDeps } from '../../deps.js';

/** GET /metrics: Prometheus text, with the queue's job counts read at scrape time. */
export async function metricsRoute(app: FastifyInstance, deps: Pick<AppDeps, 'metrics' | 'avatarQueue' | 'cleanupQueue'>): Promise<void> {
  const states = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;
  new Gauge({
    name: 'avatar_queue_jobs',
    help: 'Jobs in the avatar queue by state',
    labelNames: ['queue', 'state'],
    registers: [deps.metrics],
    async collect() {
      for (const queue of [deps.avatarQueue, deps.cleanupQueue]) {
        try {
          const counts = await queue.getJobCounts(...states);
          for (const state of states) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        } catch {
          // Redis down: the scrape still answers with the process metrics
        }
      }
    },
  });
  // operators only: queue sizes and traffic are nobody else's business (Prometheus: basic_auth)
  app.get('/metrics', { schema: { hide: true }, onRequest: app.requireAdmin }, async (_request, reply) => {
    return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
}
