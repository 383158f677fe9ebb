import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, isAppError, uploadStatuses } from '@avatar/shared';
import type { AppDeps } from '../../../deps.js';
import { removeUserAvatar } from '../../../domain/remove-avatar.js';
import { retryFailedUpload } from '../../../domain/retry-upload.js';
import { loadOverview } from '../../../domain/upload-stats.js';
import { ADMIN_COOKIE_PATH, ADMIN_SESSION_COOKIE, adminCookieOptions, sessionDigest, sessionToken } from '../../../plugins/app/admin-session.js';
import { sendProblem } from '../../../plugins/app/error-handler.js';
import { consoleDirectives } from '../../../plugins/external/security-headers.js';
import { userIdParams } from '../../../schemas/upload-schemas.js';
import type { SafeHtml } from './html.js';
import { loginPage, overviewPage, uploadDetailPage, uploadListPage, type ListView } from './pages.js';

const PREFIX = '/admin';
const CSRF_COOKIE = 'avatar_csrf';
const PAGE_SIZE = 50;
/** The only console paths answered without a login. */
const PUBLIC_ROUTES = new Set([`${PREFIX}/login`, `${PREFIX}/login.css`]);

export type ConsoleDeps = Pick<AppDeps, 'config' | 'repos' | 'avatarQueue' | 'cleanupQueue' | 'staging' | 'adminSessions'>;

const noticeQuery = z.object({ notice: z.string().max(40).optional() });
const listQuery = noticeQuery.extend({
  status: z.union([z.enum(uploadStatuses), z.literal('')]).optional(),
  q: z.string().trim().max(100).optional(),
  after: z.uuid().optional(),
});
/** Console upload ids are uuids: anything else is refused (400) before any lookup. */
const uploadParams = z.object({ uploadId: z.uuid() });
// loose: the form's `_csrf` field must stay in the body for the CSRF check
const loginBody = z.object({ password: z.string().max(1024) }).loose();

/** The search box: an upload id, or a user id as the API's paths take it. */
const uploadIdTerm = uploadParams.shape.uploadId;
const userIdTerm = userIdParams.shape.userId;

/** No session yet (the login form): the CSRF token is bound to this instead. */
const NO_SESSION = 'no-session';

/**
 * Binds a CSRF token to the session it was issued for, so a secret cookie planted by a sibling
 * subdomain (cookie tossing) and a token minted with it are worth nothing with the operator's session.
 */
function csrfUserInfo(request: FastifyRequest): string {
  const token = sessionToken(request);
  return token ? sessionDigest(token) : NO_SESSION;
}

function sendPage(reply: FastifyReply, page: SafeHtml, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page.value);
}

/** A browser's form post (urlencoded) is answered with a page or a redirect; an automation call (JSON) with JSON. */
const isFormPost = (request: FastifyRequest): boolean => String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded');

const notices: Record<string, string> = { retried: 'Sent back to the queue.', removed: 'Avatar removed; its files are being deleted.' };

/**
 * The operator console under /admin: server-rendered pages (no script), a login that sets a
 * session cookie, and two actions (retry a failed upload, remove a user's avatar). The
 * queries live in UploadStatsRepository and the domain modules; these handlers only render.
 */
export async function adminConsoleRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const [consoleCss, loginCss] = await Promise.all([readFile(new URL('./console.css', import.meta.url), 'utf8'), readFile(new URL('./login.css', import.meta.url), 'utf8')]);
  const pageHeaders = {
    contentSecurityPolicy: { useDefaults: false, directives: consoleDirectives([new URL(deps.config.fastdfs.publicUrl).origin]) },
    // the forms' posts carry the page's Origin (under `no-referrer` it is `null`), which a browser without Sec-Fetch-Site is judged by
    referrerPolicy: { policy: 'same-origin' as const },
  };
  const { repos, adminSessions: sessions } = deps;
  const { stats, uploads, events, userDetail: details } = repos;

  // the same key in every API process (a page from one, its form posted to another); its own, derived from a deployment secret
  const csrfHmacKey = createHmac('sha256', deps.config.uploadTokens.secret).update('avatar console csrf key').digest();

  await app.register(async (unvalidated) => {
    unvalidated.setValidatorCompiler(validatorCompiler);
    const scope = unvalidated.withTypeProvider<ZodTypeProvider>();
    scope.addHook('onRoute', (route) => {
      route.config = Object.assign(route.config ?? {}, { helmet: pageHeaders });
    });
    await scope.register(fastifyCookie);
    // double-submit: the secret in an HttpOnly, SameSite=Strict cookie, the token in each form
    await scope.register(fastifyCsrfProtection, {
      cookieKey: CSRF_COOKIE,
      cookieOpts: { path: ADMIN_COOKIE_PATH, sameSite: 'strict', httpOnly: true },
      getUserInfo: csrfUserInfo,
      csrfOpts: { hmacKey: csrfHmacKey },
    });
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.addHook('onRequest', async (request, reply) => {
      // pages carry CSRF tokens and operators' data: never cached
      reply.header('cache-control', 'no-store');
      if (request.routeOptions.url !== undefined && PUBLIC_ROUTES.has(request.routeOptions.url)) return undefined;
      return app.requireAdminPage(request, reply);
    });
    scope.setNotFoundHandler((request, reply) => sendProblem(reply, request, new AppError('not_found', 'No such route')));

    /**
     * What a state-changing request must show besides its login. With the session cookie: the
     * CSRF token (a form field or a header). With Basic or a bearer token no cookie is
     * involved, but browsers cache Basic credentials and resend them on a cross-site form
     * post, so those callers must send JSON, which no other site can send without a CORS
     * preflight that /admin never answers.
     */
    const requireCsrf = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
      if (request.adminVia === 'basic' || request.adminVia === 'bearer') {
        if (String(request.headers['content-type']).startsWith('application/json')) return done();
        return done(new AppError('csrf_token_invalid', 'With Basic or a bearer token, send the request as application/json'));
      }
      scope.csrfProtection(request, reply, done);
    };
    const csrfToken = (request: FastifyRequest, reply: FastifyReply): string => reply.generateCsrf({ secure: request.protocol === 'https', userInfo: csrfUserInfo(request) });

    scope.get('/login.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(loginCss));
    scope.get('/assets/console.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(consoleCss));

    scope.get('/login', async (request, reply) => sendPage(reply, loginPage(csrfToken(request, reply))));

    scope.post('/login', { schema: { body: loginBody }, preHandler: requireCsrf }, async (request, reply) => {
      const { password } = request.body;
      let right: boolean;
      try {
        right = await app.checkAdminPassword(request, password);
      } catch (error) {
        if (!isAppError(error) || error.code !== 'rate_limited') throw error;
        reply.header('retry-after', String(error.extra?.retryAfter ?? 60));
        return sendPage(reply, loginPage(csrfToken(request, reply), 'Too many failed logins from this address; wait a minute.'), 429);
      }
      if (!right) return sendPage(reply, loginPage(csrfToken(request, reply), 'Wrong password.'), 401);
      // a session cookie that came along (planted, or an earlier login) ends here: only the new one opens the console
      const previous = sessionToken(request);
      if (previous) await sessions.revoke(previous);
      const token = await sessions.create({ ip: request.ip });
      request.log.info({ ip: request.ip }, 'admin logged in');
      // a fresh CSRF secret for the session: one planted before the login is worth nothing after it
      reply.clearCookie(CSRF_COOKIE, { path: ADMIN_COOKIE_PATH });
      reply.setCookie(ADMIN_SESSION_COOKIE, token, adminCookieOptions(request, sessions.ttlSeconds));
      return reply.redirect(PREFIX, 303);
    });

    scope.post('/logout', { preHandler: requireCsrf }, async (request, reply) => {
      const token = sessionToken(request);
      if (token) await sessions.revoke(token);
      reply.clearCookie(ADMIN_SESSION_COOKIE, adminCookieOptions(request));
      reply.clearCookie(CSRF_COOKIE, { path: ADMIN_COOKIE_PATH });
      return isFormPost(request) ? reply.redirect(`${PREFIX}/login`, 303) : reply.code(204).send();
    });

    scope.get('/', async (request, reply) => {
      const overview = await loadOverview({ stats, queues: [deps.avatarQueue, deps.cleanupQueue] });
      return sendPage(reply, overviewPage(overview, csrfToken(request, reply)));
    });

    scope.get('/uploads', { schema: { querystring: listQuery } }, async (request, reply) => {
      const query = request.query;
      const view: ListView = { uploads: [], next: undefined, status: query.status || undefined, query: query.q ?? '', user: undefined, message: query.notice ? notices[query.notice] : undefined };
      let userId: number | undefined;
      if (view.query && uploadIdTerm.safeParse(view.query).success) {
        if (await uploads.findById(view.query)) return reply.redirect(`${PREFIX}/uploads/${view.query}`, 303);
        return sendPage(reply, uploadListPage({ ...view, message: 'No upload with that id.' }, csrfToken(request, reply)), 404);
      } else if (view.query) {
        const parsed = userIdTerm.safeParse(view.query);
        if (!parsed.success) return sendPage(reply, uploadListPage({ ...view, message: 'Search by a user id (a number) or an upload id (a uuid).' }, csrfToken(request, reply)), 400);
        userId = parsed.data;
        view.user = (await details.findAvatar(userId)) ?? { userId, avatar: null, avatarFileId: null, avatarUploadId: null, variants: [], updatedAt: new Date(0) };
      }
      const page = await stats.list({ status: view.status, userId, after: query.after, limit: PAGE_SIZE });
      return sendPage(reply, uploadListPage({ ...view, ...page }, csrfToken(request, reply)));
    });

    scope.get('/uploads/:uploadId', { schema: { params: uploadParams, querystring: noticeQuery } }, async (request, reply) => {
      const { notice } = request.query;
      return renderDetail(request, reply, { uploadId: request.params.uploadId, message: notice ? notices[notice] : undefined });
    });

    scope.post('/uploads/:uploadId/retry', { schema: { params: uploadParams }, preHandler: requireCsrf }, async (request, reply) => {
      const { uploadId } = request.params;
      try {
        const upload = await retryFailedUpload({ journal: repos.journal, avatarQueue: deps.avatarQueue, originalExists: (p) => deps.staging.has(p) }, uploadId);
        request.log.info({ uploadId, via: request.adminVia }, 'operator retried a failed upload');
        if (isFormPost(request)) return reply.redirect(`${PREFIX}/uploads/${uploadId}?notice=retried`, 303);
        return reply.code(202).send({ uploadId: upload.id, status: upload.status });
      } catch (error) {
        // a browser sees the refusal on the upload's own page; automation gets the problem+json
        if (!isFormPost(request) || !isAppError(error) || (error.code !== 'upload_not_retryable' && error.code !== 'original_gone')) throw error;
        reply.header('x-error-code', error.code);
        return renderDetail(request, reply, { uploadId, message: `Not retried: ${error.message} (${error.code})`, status: error.status });
      }
    });

    scope.post('/users/:userId/avatar/remove', { schema: { params: userIdParams }, preHandler: requireCsrf }, async (request, reply) => {
      const { userId } = request.params;
      const removed = await removeUserAvatar({ repos, cleanupQueue: deps.cleanupQueue }, userId);
      request.log.info({ userId, uploadId: removed.uploadId, via: request.adminVia }, 'operator removed an avatar');
      if (isFormPost(request)) return reply.redirect(`${PREFIX}/uploads?q=${userId}&notice=removed`, 303);
      return reply.send({ userId, removedUploadId: removed.uploadId, deletedFiles: removed.fileIds.length });
    });

    async function renderDetail(request: FastifyRequest, reply: FastifyReply, detail: { uploadId: string; message: string | undefined; status?: number }): Promise<FastifyReply> {
      const { uploadId, message, status = 200 } = detail;
      const upload = await uploads.findById(uploadId);
      if (!upload) throw new AppError('upload_not_found');
      const [timeline, avatar] = await Promise.all([events.listAfter(upload.id, 0, 1_000), details.findAvatar(upload.userId)]);
      const page = uploadDetailPage({ upload, events: timeline, queueName: deps.avatarQueue.name, isCurrentAvatar: avatar?.avatarUploadId === upload.id, message }, csrfToken(request, reply));
      return sendPage(reply, page, status);
    }
  }, { prefix: PREFIX });
}
