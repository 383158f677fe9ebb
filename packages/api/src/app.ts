import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { AppDeps } from './deps.js';
import { createApiMetrics } from './metrics.js';
import { adminAuthPlugin } from './plugins/app/admin-auth.js';
import { authenticatePlugin } from './plugins/app/authenticate.js';
import { drainPlugin } from './plugins/app/drain.js';
import { uploadAccessPlugin } from './plugins/app/upload-access.js';
import { corsPlugin } from './plugins/external/cors.js';
import { tryItRoutes } from './routes/pages/try-it.js';
import { answerClientError, errorHandlerPlugin, sendProblem, toAppError } from './plugins/app/error-handler.js';
import { docsPlugin } from './plugins/external/docs.js';
import { jwtPlugin } from './plugins/external/jwt.js';
import { multipartPlugin } from './plugins/external/multipart.js';
import { rateLimitPlugin } from './plugins/external/rate-limit.js';
import { securityHeadersPlugin } from './plugins/external/security-headers.js';
import { adminConsoleRoutes } from './routes/admin/console/console-routes.js';
import { queueDashboardRoutes } from './routes/admin/queue-dashboard.js';
import { healthRoutes } from './routes/ops/health.js';
import { metricsRoute } from './routes/ops/metrics.js';
import { getUploadEventsRoute } from './routes/uploads/get-upload-events.js';
import { getUploadRoute } from './routes/uploads/get-upload.js';
import { postAvatarRoute } from './routes/uploads/post-avatar.js';
import { getAvatarRoute } from './routes/users/get-avatar.js';

/**
 * Builds the HTTP app from its dependencies (built once by `createApiDeps`); no globals, so
 * tests build one per file and call it with `inject` or over a real socket. Third-party
 * plugins first, then the app's own, then the routes, each given the dependencies it uses.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    // the injected logger: it redacts credentials and writes where the process wants its lines
    loggerInstance: deps.logger as FastifyBaseLogger,
    trustProxy: config.http.trustProxy,
    // unique across API processes (Fastify's default `req-1` is not): the id a worker logs names one request
    genReqId: () => randomUUID(),
    // backstop behind the upload route's own body timeout
    requestTimeout: config.http.bodyTimeoutMs + 15_000,
    connectionTimeout: config.http.bodyTimeoutMs + 15_000,
    // slowloris: headers must arrive within HEADERS_TIMEOUT_MS (answered 408); checked often enough to keep that promise
    http: { headersTimeout: config.http.headersTimeoutMs, connectionsCheckingInterval: Math.min(1_000, config.http.headersTimeoutMs) },
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
    // the router's own refusals (bad percent-encoding, an over-long path parameter) bypass the
    // error handler and would answer plain JSON echoing the path: render them as problems too
    clientErrorHandler: answerClientError,
    frameworkErrors: (error, request, reply) => {
      void sendProblem(reply, request, toAppError(error));
    },
  });
  const apiMetrics = createApiMetrics(deps.metrics);

  await app.register(errorHandlerPlugin);
  // first of all hooks: every answer to an allowed origin carries CORS headers, refusals included
  await app.register(corsPlugin, { origins: config.cors.origins });
  await app.register(securityHeadersPlugin, { pagePrefixes: ['/docs', '/admin/queues'] });
  await app.register(docsPlugin);
  await app.register(jwtPlugin, { auth: config.auth });
  await app.register(multipartPlugin, { limits: config.limits });
  await app.register(rateLimitPlugin, { redis: deps.redis, prefix: config.redis.prefix });
  await app.register(authenticatePlugin, { failuresPerIp: config.rateLimit.authFailuresPerIp });
  await app.register(adminAuthPlugin, { adminPassword: config.auth.adminPassword, failuresPerIp: config.rateLimit.adminAuthFailuresPerIp, sessions: deps.adminSessions });
  await app.register(drainPlugin);
  await app.register(uploadAccessPlugin, { tokens: deps.uploadTokens });

  app.addHook('onResponse', async (request, reply) => {
    apiMetrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(async (v1) => {
    v1.setValidatorCompiler(validatorCompiler);
    v1.setSerializerCompiler(serializerCompiler);
    await postAvatarRoute(v1, { ...deps, apiMetrics });
    await getUploadRoute(v1, deps);
    await getUploadEventsRoute(v1, deps);
    await getAvatarRoute(v1, deps);
  });
  await app.register(async (ops) => {
    await healthRoutes(ops, deps);
    await metricsRoute(ops, deps);
  });
  await app.register(async (admin) => queueDashboardRoutes(admin, deps));
  await app.register(async (admin) => adminConsoleRoutes(admin, deps));
  await app.register(async (pages) => tryItRoutes(pages, { filesPublicUrl: config.fastdfs.publicUrl }));
  return app;
}
