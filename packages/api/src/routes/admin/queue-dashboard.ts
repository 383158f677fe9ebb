import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '@avatar/shared';
import type { AppDeps } from '../../deps.js';
import { principalFromClaims } from '../../plugins/app/authenticate.js';
import { sendProblem } from '../../plugins/app/error-handler.js';

const BASE_PATH = '/admin/queues';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Browsers get HTTP Basic (`admin` / ADMIN_PASSWORD); scripts may send an admin bearer token. */
async function isAdmin(request: FastifyRequest, adminPassword: string): Promise<boolean> {
  const header = request.headers.authorization ?? '';
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon > 0 && decoded.slice(0, colon) === 'admin' && sameSecret(decoded.slice(colon + 1), adminPassword);
  }
  if (header.startsWith('Bearer ')) {
    try {
      return principalFromClaims(await request.jwtVerify()).admin;
    } catch {
      return false;
    }
  }
  return false;
}

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
    scope.addHook('onRequest', async (request, reply) => {
      if (await isAdmin(request, deps.config.auth.adminPassword)) return;
      reply.header('www-authenticate', 'Basic realm="avatar admin", charset="UTF-8"');
      // answered here: bull-board's own error handler would turn a thrown error into a 500
      return sendProblem(reply, request, new AppError('unauthorized', 'Admin credentials required'));
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: BASE_PATH });
  });
}
