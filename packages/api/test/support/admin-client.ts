import { expect } from 'vitest';

/** The console's forms carry their CSRF token in a hidden `_csrf` field. */
export function csrfFrom(page: string): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  expect(token, 'a CSRF token in the page').toBeTruthy();
  return token as string;
}

/** `name=value` pairs from an answer's Set-Cookie headers, for the next request's Cookie header. */
export function cookiesFrom(response: Response): Record<string, string> {
  const jar: Record<string, string> = {};
  for (const line of response.headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const eq = pair.indexOf('=');
    jar[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return jar;
}

export const cookieHeader = (jar: Record<string, string>): string =>
  Object.entries(jar)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');

export interface AdminLogin {
  /** the Cookie header: the session and the CSRF secret */
  cookie: string;
  /** a CSRF token that goes with the cookie */
  csrf: string;
  /** the login answer's Set-Cookie lines */
  setCookie: string[];
}

/** Logs in through the form as a browser does: GET the page (CSRF secret and token), POST the password. */
export async function loginAsAdmin(baseUrl: string, password: string, headers: Record<string, string> = {}): Promise<AdminLogin> {
  const page = await fetch(`${baseUrl}/admin/login`, { headers });
  const jar = cookiesFrom(page);
  const body = new URLSearchParams({ _csrf: csrfFrom(await page.text()), password });
  const answer = await fetch(`${baseUrl}/admin/login`, { method: 'POST', body, redirect: 'manual', headers: { ...headers, cookie: cookieHeader(jar) } });
  expect(answer.status, await answer.clone().text()).toBe(303);
  Object.assign(jar, cookiesFrom(answer));
  const overview = await fetch(`${baseUrl}/admin`, { headers: { ...headers, cookie: cookieHeader(jar) } });
  expect(overview.status).toBe(200);
  Object.assign(jar, cookiesFrom(overview));
  return { cookie: cookieHeader(jar), csrf: csrfFrom(await overview.text()), setCookie: answer.headers.getSetCookie() };
}
