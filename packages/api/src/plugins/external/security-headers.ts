import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

type Directives = Record<string, string[]>;

/** JSON and redirects load nothing and are framed by nobody. */
const apiDirectives: Directives = { defaultSrc: ["'none'"], frameAncestors: ["'none'"] };

/**
 * The two HTML pages (Swagger UI, bull-board) load only their own scripts, styles and images.
 * Inline styles stay allowed: both render their loading screens and components with them;
 * scripts never run inline. bull-board's web font from the internet is blocked on purpose.
 */
const pageDirectives: Directives = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/**
 * The operator console (server-rendered, no script at all): its own stylesheet, and images
 * from itself and the avatar files' origin (`imageOrigins`: FDFS_PUBLIC_URL's); forms post
 * only to itself.
 */
export function consoleDirectives(imageOrigins: readonly string[]): Directives {
  return {
    defaultSrc: ["'none'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", ...imageOrigins],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
  };
}

/** Routes that serve one of the HTML pages or its assets (the dashboard's JSON API is not one). */
export function servesPage(url: string, pagePrefixes: readonly string[]): boolean {
  return pagePrefixes.some((prefix) => url === prefix || url.startsWith(`${prefix}/`)) && !/\/api(\/|$)/.test(url);
}

/**
 * Security headers on every answer, errors included: nosniff, frame denial, a CSP, and
 * helmet's other defaults. HSTS is left to the TLS-terminating proxy in front. Register
 * before any route: page routes get their policy when they are added.
 */
export const securityHeadersPlugin = fp(async (app: FastifyInstance, opts: { pagePrefixes: readonly string[] }) => {
  app.addHook('onRoute', (route) => {
    if (!servesPage(route.url, opts.pagePrefixes)) return;
    route.config = Object.assign(route.config ?? {}, { helmet: { contentSecurityPolicy: { useDefaults: false, directives: pageDirectives } } });
  });
  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: apiDirectives },
    frameguard: { action: 'deny' },
    strictTransportSecurity: false,
  });
});
