import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '@avatar/shared';
import type { AppDeps } from '../../deps.js';
import { problemBody, sendProblem } from '../../plugins/app/error-handler.js';

const BASE_PATH = '/admin/queues';

/** bull-board's own error statuses, as the product's codes. */
export function dashboardErrorCode(status: number): ErrorCode {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'internal_error';
  return 'validation_failed';
}

/**
 * bull-board's API answers its errors as `{ error: { key }, message }`: render them as our
 * problem+json instead (the UI only looks at the status). Its message is logged, not sent.
 */
async function apiErrorsAsProblems(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (reply.statusCode < 400 || !request.url.startsWith(`${BASE_PATH}/api/`) || String(reply.getHeader('content-type')).startsWith('application/problem+json')) return payload;
  const problem = new AppError(dashboardErrorCode(reply.statusCode));
  request.log.info({ status: reply.statusCode, answer: payload }, 'dashboard API refused');
  reply.code(problem.status).header('x-error-code', problem.code).type('application/problem+json');
  return problemBody(problem, request.url.split('?')[0]);
}

/** /admin/queues: bull-board over both queues, for admins only. */
export async function queueDashboardRoutes(app: FastifyInstance, deps: Pick<AppDeps, 'avatarQueue' | 'cleanupQueue'>): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BASE_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(deps.avatarQueue), new BullMQAdapter(deps.cleanupQueue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Avatar pipeline' } },
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', app.requireAdmin);
    scope.addHook('preSerialization', apiErrorsAsProblems);
    // an unknown path under the dashboard: still admins only, and answered as a problem
    scope.setNotFoundHandler((request, reply) => sendProblem(reply, request, new AppError('not_found', 'No such route')));
    await scope.register(serverAdapter.registerPlugin());
  }, { prefix: BASE_PATH });
}
