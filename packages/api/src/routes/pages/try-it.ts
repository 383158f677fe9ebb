import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

const PAGE_DIR = new URL('../../../public/try-it/', import.meta.url);

const files = [
  { url: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/try-it/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { url: '/try-it/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
] as const;

/**
 * The page's policy: its own script and stylesheet only (nothing inline, nothing from the
 * network), calls to this API only, and pictures from here (and the empty inline favicon) and from the FastDFS file server,
 * where the variants are.
 */
export function tryItDirectives(filesOrigin: string): Record<string, string[]> {
  return {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:', filesOrigin],
    connectSrc: ["'self'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
    frameAncestors: ["'none'"],
  };
}

/**
 * GET / — the try-it page (plain HTML and one script, no build step), in every environment and
 * without login: it asks for a bearer token before it uploads anything.
 */
export async function tryItRoutes(app: FastifyInstance, deps: { filesPublicUrl: string }): Promise<void> {
  const directives = tryItDirectives(new URL(deps.filesPublicUrl).origin);
  for (const { url, file, type } of files) {
    const body = await readFile(new URL(file, PAGE_DIR));
    app.get(url, {
      schema: { hide: true },
      config: { helmet: { contentSecurityPolicy: { useDefaults: false, directives } } },
    }, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
}
