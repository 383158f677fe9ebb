import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';

/** What a route may set, as `helmet` in its options or in its `config`: options over the global ones. */
export type RouteHeaderOptions = HelmetOptions;

declare module 'fastify' {
  interface RouteShorthandOptions {
    helmet?: RouteHeaderOptions;
  }
  interface FastifyContextConfig {
    helmet?: RouteHeaderOptions;
  }
}

/** helmet's middleware for one policy: sets the headers on the raw response. */
type HeaderMiddleware = ReturnType<typeof helmet>;

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
 * before any route: page routes get their policy when they are added; a route's own `helmet`
 * (in its options or its `config`) is merged over the global options.
 *
 * helmet's middleware is built once per policy: helmet() checks its options and renders every
 * header value, which @fastify/helmet did again for every request (≈ 0.1 ms of each upload).
 */
export const securityHeadersPlugin = fp(async (app: FastifyInstance, opts: { pagePrefixes: readonly string[] }) => {
  const globalOptions: HelmetOptions = {
    contentSecurityPolicy: { useDefaults: false, directives: apiDirectives },
    frameguard: { action: 'deny' },
    strictTransportSecurity: false,
  };
  const globalHeaders = helmet(globalOptions);
  const pageHeaders: RouteHeaderOptions = { contentSecurityPolicy: { useDefaults: false, directives: pageDirectives } };
  // keyed by the route's options object, which routes that share a policy share too
  const routeHeaders = new WeakMap<RouteHeaderOptions, HeaderMiddleware>();
  const headersFor = (overrides: RouteHeaderOptions | undefined): HeaderMiddleware => {
    if (overrides === undefined) return globalHeaders;
    let headers = routeHeaders.get(overrides);
    if (headers === undefined) {
      // HelmetOptions' type forbids mixing an option's two names; helmet() throws on that too
      headers = helmet({ ...globalOptions, ...overrides } as HelmetOptions);
      routeHeaders.set(overrides, headers);
    }
    return headers;
  };

  app.addHook('onRoute', (route) => {
    const own = route.helmet ?? (servesPage(route.url, opts.pagePrefixes) ? pageHeaders : undefined);
    if (own !== undefined) route.config = Object.assign(route.config ?? {}, { helmet: own });
    // built now, a policy set in `config` too, so that options helmet refuses stop the start
    // instead of failing each request
    headersFor(route.config?.helmet);
  });
  // sets headers only, synchronously: no promise per request. helmet ≥ 8.1 throws rather than
  // passing an error to `next`
  app.addHook('onRequest', (request, reply, done) => {
    headersFor(request.routeOptions.config.helmet)(request.raw, reply.raw, () => done());
  });
});
