import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@avatar/shared';
import { startApiRuntime, type ApiRuntime } from '../src/api-runtime.js';
import { addressGroup } from '../src/plugins/external/rate-limit.js';
import { epochSeconds, forgeToken, hmacSha256 } from './support/forge-token.js';
import { getText, postAvatarText, type TextResponse } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { expectProblem } from './support/problem.js';
import { rawExchange, requestHead } from './support/raw-http.js';
import { startTestSystem, TEST_JWT_SECRET, type TestSystem } from './support/test-system.js';

/**
 * What a hostile client tried against the running API: guessing the admin password,
 * spending someone's upload budget without a token, sending a body before being allowed to,
 * token subjects beyond 2^53, missing security headers, and answers that echo the request.
 */
let system: TestSystem;
let jpeg: Buffer;
const ADMIN_FAILURES = 4;
const AUTH_FAILURES = 6;
const UPLOADS_PER_IP = 3;

beforeAll(async () => {
  system = await startTestSystem({
    worker: false,
    env: {
      TRUST_PROXY: 'true',
      RATE_LIMIT_ADMIN_AUTH_FAILURES_PER_IP: String(ADMIN_FAILURES),
      RATE_LIMIT_AUTH_FAILURES_PER_IP: String(AUTH_FAILURES),
      RATE_LIMIT_UPLOADS_PER_IP: String(UPLOADS_PER_IP),
    },
  });
  jpeg = await solidJpeg(32, 32, { r: 10, g: 200, b: 10 });
});
afterAll(async () => {
  await system?.close();
});

function problem(response: TextResponse, status: number, code: string): Record<string, unknown> {
  return expectProblem({ status: response.status, contentType: response.contentType, text: response.text }, status, code, [system.stagingDir]);
}

function rateLimited(response: TextResponse): void {
  problem(response, 429, 'rate_limited');
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 60, `retry-after ${retryAfter}`).toBe(true);
}

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('admin password guessing', () => {
  const metrics = () => `${system.url}/metrics`;
  const dashboardApi = () => `${system.url}/admin/queues/api/queues`;

  it('locks an address out with 429 after the allowed failures, across /metrics and the dashboard, even for the right password', async () => {
    const ip = '10.9.0.1';
    for (let i = 0; i < ADMIN_FAILURES; i++) {
      const url = i % 2 === 0 ? metrics() : dashboardApi();
      problem(await getText(url, { ...basic('admin', `guess-${i}`), ...from(ip) }), 401, 'unauthorized');
    }
    rateLimited(await getText(metrics(), { ...basic('admin', 'guess-next'), ...from(ip) }));
    rateLimited(await getText(dashboardApi(), { ...basic('admin', 'guess-next'), ...from(ip) }));
    // a right guess now must look exactly like a wrong one, or the lockout would confirm it
    rateLimited(await getText(metrics(), { ...basic('admin', system.config.auth.adminPassword), ...from(ip) }));
  });

  it("lets the right password in from another address while one address is locked out", async () => {
    const attacker = '10.9.0.2';
    for (let i = 0; i <= ADMIN_FAILURES; i++) await getText(metrics(), { ...basic('admin', `guess-${i}`), ...from(attacker) });
    rateLimited(await getText(metrics(), { ...basic('admin', 'guess'), ...from(attacker) }));
    expect((await getText(metrics(), { ...basic('admin', system.config.auth.adminPassword), ...from('10.9.0.3') })).status).toBe(200);
    expect((await getText(dashboardApi(), { ...basic('admin', system.config.auth.adminPassword), ...from('10.9.0.3') })).status).toBe(200);
  });

  it('counts a wrong user name and a non-admin token as failures too', async () => {
    const ip = '10.9.0.4';
    for (let i = 0; i < ADMIN_FAILURES / 2; i++) {
      problem(await getText(metrics(), { ...basic('root', system.config.auth.adminPassword), ...from(ip) }), 401, 'unauthorized');
      problem(await getText(metrics(), { ...bearer(system.token(1)), ...from(ip) }), 401, 'unauthorized');
    }
    rateLimited(await getText(metrics(), { ...bearer(system.token(1, { admin: true })), ...from(ip) }));
  });

  it('shares the lockout through Redis with a second API process, and logs each failure with the address but never the password', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', name: 'second-api', destination: { write: (line: string) => void lines.push(line) } });
    let second: ApiRuntime | undefined;
    try {
      second = await startApiRuntime(system.config, logger, system.fastdfs);
      const ip = '10.9.0.5';
      const password = `secret-guess-${randomUUID()}`;
      for (let i = 0; i < ADMIN_FAILURES; i++) {
        const url = i % 2 === 0 ? `${system.url}/metrics` : `${second.url}/metrics`;
        problem(await getText(url, { ...basic('admin', password), ...from(ip) }), 401, 'unauthorized');
      }
      rateLimited(await getText(`${second.url}/metrics`, { ...basic('admin', password), ...from(ip) }));
      rateLimited(await getText(`${system.url}/metrics`, { ...basic('admin', password), ...from(ip) }));

      const failures = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'admin authentication failed');
      expect(failures.length).toBe(ADMIN_FAILURES / 2);
      for (const entry of failures) expect(entry).toMatchObject({ level: 40, ip, scheme: 'basic' });
      expect(lines.join('\n')).not.toContain(password);
      expect(lines.join('\n')).not.toContain(Buffer.from(`admin:${password}`).toString('base64'));
    } finally {
      await second?.close();
    }
  });
});

describe('refused authentications and the upload budget', () => {
  it("does not spend an address's upload budget on requests without a valid token", async () => {
    const ip = '10.8.0.1';
    for (let i = 0; i < UPLOADS_PER_IP + 1; i++) problem(await postAvatarText(system.url, 1, undefined, jpeg, { headers: from(ip) }), 401, 'unauthorized');
    expect((await postAvatarText(system.url, 1, system.token(1), jpeg, { headers: from(ip) })).status).toBe(202);
  });

  it('limits refused authentications per address on their own: 429 once over, while a valid token from there still gets in', async () => {
    const ip = '10.8.0.2';
    const badToken = forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: '1', exp: epochSeconds(3600) }, hmacSha256('another-secret-0123456789abcdef'));
    for (let i = 0; i < AUTH_FAILURES; i++) {
      const response = i % 2 === 0
        ? await postAvatarText(system.url, 1, undefined, jpeg, { headers: from(ip) })
        : await getText(`${system.url}/v1/uploads/${randomUUID()}`, { ...bearer(badToken), ...from(ip) });
      problem(response, 401, 'unauthorized');
    }
    rateLimited(await postAvatarText(system.url, 1, undefined, jpeg, { headers: from(ip) }));
    rateLimited(await getText(`${system.url}/v1/uploads/${randomUUID()}`, { ...bearer(badToken), ...from(ip) }));
    expect((await postAvatarText(system.url, 2, system.token(2), jpeg, { headers: from(ip) })).status).toBe(202);
    // another address is not affected
    problem(await postAvatarText(system.url, 1, undefined, jpeg, { headers: from('10.8.0.3') }), 401, 'unauthorized');
  });
});

describe('who may send a body', () => {
  const path = '/v1/users/1/avatar';

  it.each([
    ['a JSON body', 'application/json', '{"file":"x"}', '10.7.1.1'],
    ['a malformed JSON body', 'application/json', '{"file":', '10.7.1.2'],
    ['an image body', 'image/jpeg', 'not really a jpeg', '10.7.1.3'],
    ['an octet stream', 'application/octet-stream', 'bytes', '10.7.1.4'],
    ['a text body', 'text/plain', 'hello', '10.7.1.5'],
    ['multipart without a boundary', 'multipart/form-data', 'garbage', '10.7.1.6'],
    ['no content type at all', undefined, 'garbage', '10.7.1.7'],
  ])('answers an unauthenticated POST with %s 401, not 415 or 400', async (_name, contentType, body, ip) => {
    const response = await fetch(`${system.url}${path}`, { method: 'POST', body, headers: { ...(contentType ? { 'content-type': contentType } : {}), ...from(ip) } });
    problem({ status: response.status, headers: response.headers, contentType: response.headers.get('content-type'), text: await response.text() }, 401, 'unauthorized');
  });

  it("answers another user's POST with a JSON body 403, not 415", async () => {
    const response = await fetch(`${system.url}${path}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', ...bearer(system.token(2)), ...from('10.7.0.2') } });
    problem({ status: response.status, headers: response.headers, contentType: response.headers.get('content-type'), text: await response.text() }, 403, 'forbidden');
  });

  it.each([
    ['multipart', 'multipart/form-data; boundary=x', 50_000_000],
    ['JSON', 'application/json', 60_000],
  ])('refuses an unauthenticated %s upload before reading its body: the 401 arrives while the body is still unsent', async (_name, contentType, length) => {
    const response = await rawExchange(system.url, async (socket, answered) => {
      socket.write(requestHead('POST', path, { 'content-type': contentType, 'content-length': length, 'x-forwarded-for': '10.7.0.3' }));
      // never send the body: only an answer given before reading it can arrive
      await new Promise((resolve) => answered.addEventListener('abort', resolve, { once: true }));
    });
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ code: 'unauthorized' });
  });
});

describe('user ids beyond 2^53', () => {
  const tokenFor = (sub: string, role = 'user') => forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub, role, exp: epochSeconds(3600) }, hmacSha256(TEST_JWT_SECRET));

  it.each(['9007199254740992', '9007199254740993', '9999999999999999'])('refuses a token whose sub is %s (not a safe integer) with 401', async (sub) => {
    // 9007199254740993 would round to ...992 and act as that user
    problem(await postAvatarText(system.url, '9007199254740992', tokenFor(sub), jpeg, { headers: from('10.6.0.1') }), 401, 'unauthorized');
    problem(await getText(`${system.url}/v1/uploads/${randomUUID()}`, { ...bearer(tokenFor(sub)), ...from('10.6.0.1') }), 401, 'unauthorized');
  });

  it.each(['9007199254740992', '9007199254740993'])('refuses user id %s in a path with 400 validation_failed', async (id) => {
    problem(await getText(`${system.url}/v1/users/${id}/avatar`), 400, 'validation_failed');
    problem(await postAvatarText(system.url, id, system.token(1, { admin: true }), jpeg, { headers: from('10.6.0.2') }), 400, 'validation_failed');
  });

  it('still accepts the largest safe id as a subject and in a path', async () => {
    const largest = String(Number.MAX_SAFE_INTEGER);
    problem(await getText(`${system.url}/v1/users/${largest}/avatar`), 404, 'user_not_found');
    problem(await postAvatarText(system.url, largest, tokenFor(largest), jpeg, { headers: from('10.6.0.3') }), 404, 'user_not_found');
  });
});

describe('security headers', () => {
  function expectCommon(headers: Headers): void {
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('x-frame-options')).toBe('DENY');
    expect(headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  }

  it.each([
    ['a JSON error', () => getText(`${system.url}/v1/uploads/${randomUUID()}`)],
    ['the health check', () => getText(`${system.url}/health/live`)],
    ['a 404', () => getText(`${system.url}/nothing-here`)],
    ['an accepted upload', () => postAvatarText(system.url, 1, system.token(1), jpeg, { headers: from('10.5.0.1') })],
  ])('gives %s a strict policy: nothing may load, nothing may frame it', async (_name, request) => {
    const { headers } = await request();
    expectCommon(headers);
    expect(headers.get('content-security-policy')?.split(/;\s*/)).toEqual(["default-src 'none'", "frame-ancestors 'none'"]);
  });

  it('gives /docs and the dashboard a policy that allows their own scripts and styles only', async () => {
    for (const response of [
      await getText(`${system.url}/docs/`),
      await getText(`${system.url}/admin/queues`, basic('admin', system.config.auth.adminPassword)),
    ]) {
      expect(response.status).toBe(200);
      expectCommon(response.headers);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).toMatch(/object-src 'none'/);
      expect(csp).not.toMatch(/unsafe-eval/);
    }
  });
});

describe('answers that echo the request', () => {
  it('answers an unknown path with not_found and never repeats the path', async () => {
    const marker = 'probe-<script>alert(1)</script>';
    const response = await getText(`${system.url}/${encodeURIComponent(marker)}/x?y=1`);
    const body = problem(response, 404, 'not_found');
    expect(response.text).not.toContain('probe');
    expect(response.text).not.toContain('script');
    expect(body.instance).toBeUndefined();
  });
});

describe("the dashboard's API", () => {
  const admin = () => basic('admin', system.config.auth.adminPassword);

  it('answers a queue that does not exist with a problem+json 404', async () => {
    problem(await getText(`${system.url}/admin/queues/api/queues/no-such-queue/metrics`, admin()), 404, 'not_found');
    problem(await getText(`${system.url}/admin/queues/api/queues/no-such-queue/1`, admin()), 404, 'not_found');
  });

  it('answers an unknown dashboard API path with a problem+json 401 without credentials and 404 with them', async () => {
    problem(await getText(`${system.url}/admin/queues/api/nothing-here`, from('10.4.0.1')), 401, 'unauthorized');
    problem(await getText(`${system.url}/admin/queues/api/nothing-here`, admin()), 404, 'not_found');
  });
});

describe('the address a failure limit counts under', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['2001:db8:1:2::5', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff::9', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:0:0:0:1', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('counts %s as %s', (ip, group) => {
    expect(addressGroup(ip)).toBe(group);
  });
});
