import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../deps.js';
import { requireAdmin } from '../../plugins/app/admin-auth.js';

const BASE_PATH = '/admin/queues';

/** /admin/queues: bull-board over both queues, for admins only. */
export async function queueDashboardRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BASE_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(deps.avatarQueue), new BullMQAdapter(deps.cleanupQueue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Avatar pipeline' } },
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', requireAdmin(deps.config.auth.adminPassword));
    await scope.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
  });
}
