import type { FastifyRequest } from 'fastify';

/** Methods that change nothing: never refused for where they came from. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
/** `Sec-Fetch-Site` values of a request this origin's own pages (or the user, typing) made. */
const OWN_FETCH_SITES: ReadonlySet<string> = new Set(['same-origin', 'none']);

export interface RequestSource {
  method: string;
  /** the `Sec-Fetch-Site` header, when the browser sent one */
  fetchSite: string | undefined;
  /** the `Origin` header, when sent */
  origin: string | undefined;
  /** this server's origin as the request addressed it (see `ownOrigin`) */
  ownOrigin: string;
}

/**
 * True when a request that changes something was sent by a page of another origin. Browsers
 * say where a request comes from: `Sec-Fetch-Site` (sibling subdomains are `same-site`, which
 * SameSite cookies let through), else `Origin`. `Sec-Fetch-Site` decides when present: no page
 * can forge it, while `Origin` is `null` on a same-origin form post from a page whose
 * Referrer-Policy is `no-referrer`. Browsers without it (Safari before 16.4) are judged by
 * `Origin`. Programs (curl, scripts, Prometheus) send neither and are not affected.
 */
export function isCrossOrigin(source: RequestSource): boolean {
  if (SAFE_METHODS.has(source.method)) return false;
  if (source.fetchSite !== undefined) return !OWN_FETCH_SITES.has(source.fetchSite);
  return source.origin !== undefined && !sameOrigin(source.origin, source.ownOrigin);
}

function sameOrigin(a: string, b: string): boolean {
  try {
    // URL drops default ports and lower-cases the host; `Origin: null` does not parse: not ours
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/**
 * The origin the request was addressed to: its scheme and `Host`. Behind a proxy both come from
 * `X-Forwarded-Proto` / `X-Forwarded-Host` only with TRUST_PROXY, so a proxy must pass them (or
 * the original Host) for the browser's `Origin` to match.
 */
export function ownOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** The parts of `request` that `isCrossOrigin` judges. */
export function requestSource(request: FastifyRequest): RequestSource {
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  return { method: request.method, fetchSite: header('sec-fetch-site'), origin: header('origin'), ownOrigin: ownOrigin(request) };
}
