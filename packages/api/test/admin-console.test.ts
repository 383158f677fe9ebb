import { randomUUID } from 'node:crypto';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { AVATAR_QUEUE, CLEANUP_QUEUE, isAppError, jobNames, type Db, type UploadStatus } from '@avatar/shared';
import { createTestDatabase, type TestDatabase } from '@avatar/shared/testing';
import { retryFailedUpload } from '../src/domain/retry-upload.js';
import { fillMinutes, loadOverview } from '../src/domain/upload-stats.js';
import { escapeHtml, html, safeUrl } from '../src/routes/admin/console/html.js';
import { cookieHeader, cookiesFrom, csrfFrom, loginAsAdmin, type AdminLogin } from './support/admin-client.js';
import { expectProblem } from './support/problem.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

interface Row {
  createdAt: Date;
  status?: UploadStatus;
  errorCode?: string | null;
  userId?: number;
  id?: string;
}

/** Inserts upload rows as they would be at a chosen time, straight into the table. */
async function insertUploads(db: Db, rows: readonly Row[]): Promise<string[]> {
  const records = rows.map((r) => ({
    id: r.id ?? randomUUID(),
    user_id: r.userId ?? 1,
    status: r.status ?? 'done',
    error_code: r.errorCode ?? (r.status === 'failed' ? 'storage_unavailable' : null),
    detected_type: 'image/png',
    size_bytes: 100,
    sha256: 'x',
    width: 10,
    height: 10,
    created_at: r.createdAt,
    updated_at: r.createdAt,
  }));
  await db('uploads').insert(records);
  return records.map((r) => r.id);
}

describe('the escape helper', () => {
  it('escapes every interpolated value but nested html output', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    const hostile = '"><script>alert(1)</script>';
    const out = html`<p title="${hostile}">${hostile}${html`<b>${'<i>'}</b>`}${[1, '<', null, false]}</p>`.value;
    expect(out).toBe('<p title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;<b>&lt;i&gt;</b>1&lt;</p>');
    expect(safeUrl('javascript:alert(1)')).toBe('#');
    expect(safeUrl('//evil.example/x')).toBe('#');
    expect(safeUrl('http://127.0.0.1:8888/group1/M00/x.webp')).toBe('http://127.0.0.1:8888/group1/M00/x.webp');
  });

  it('refuses a path that browsers read as another host (`//` or `/\\`), and keeps same-site paths', () => {
    expect(safeUrl('/\\evil.example/x')).toBe('#');
    expect(safeUrl('/\\/evil.example')).toBe('#');
    expect(safeUrl('/admin/uploads/1')).toBe('/admin/uploads/1');
    expect(safeUrl('/')).toBe('/');
  });
});

describe('minute buckets', () => {
  it('fills quiet minutes with zeros and rates only finished uploads', () => {
    const from = new Date('2001-01-01T09:00:30Z');
    const points = fillMinutes([{ minute: new Date('2001-01-01T09:02:00Z'), total: 4, failed: 1, finished: 2 }], from, 3);
    expect(points.map((p) => p.minute.toISOString())).toEqual(['2001-01-01T09:00:00.000Z', '2001-01-01T09:01:00.000Z', '2001-01-01T09:02:00.000Z']);
    expect(points.map((p) => [p.total, p.failed, p.failureRate])).toEqual([[0, 0, null], [0, 0, null], [4, 1, 0.5]]);
  });
});

describe('the console stats queries', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it('counts by status per window, per minute, the failure rate and the top codes, only inside each window', async () => {
    const now = new Date('2001-01-01T10:00:00Z');
    const ago = (ms: number): Date => new Date(now.getTime() - ms);
    const min = 60_000;
    await insertUploads(tdb.db, [
      ...Array.from({ length: 3 }, () => ({ createdAt: ago(5 * min), status: 'done' as const })),
      ...Array.from({ length: 2 }, () => ({ createdAt: ago(5 * min + 20_000), status: 'failed' as const })),
      { createdAt: ago(30 * min), status: 'failed', errorCode: 'image_undecodable' },
      { createdAt: ago(1 * min), status: 'queued' },
      ...Array.from({ length: 4 }, () => ({ createdAt: ago(180 * min), status: 'done' as const })),
      ...Array.from({ length: 2 }, () => ({ createdAt: ago(180 * min), status: 'failed' as const })),
      // outside every window: two days old, and one in the future
      ...Array.from({ length: 5 }, () => ({ createdAt: ago(48 * 60 * min), status: 'failed' as const, errorCode: 'internal_error' })),
      { createdAt: new Date(now.getTime() + min), status: 'failed', errorCode: 'internal_error' },
    ]);

    const overview = await loadOverview({ stats: tdb.repos.stats, queues: [] }, now);
    expect(overview.lastHour).toEqual({ queued: 1, processing: 0, retrying: 0, done: 3, failed: 3, superseded: 0 });
    expect(overview.lastDay).toEqual({ queued: 1, processing: 0, retrying: 0, done: 7, failed: 5, superseded: 0 });
    expect(overview.topFailures).toEqual([{ code: 'storage_unavailable', count: 4 }, { code: 'image_undecodable', count: 1 }]);
    expect(overview.perMinute).toHaveLength(60);
    expect(overview.perMinute[0]?.minute.toISOString()).toBe('2001-01-01T09:01:00.000Z');
    const busy = overview.perMinute.filter((p) => p.total > 0).map((p) => [p.minute.toISOString().slice(11, 16), p.total, p.failed, p.failureRate]);
    // 09:54:40 and 09:55 fall in two minutes; the queued one has not finished: no rate
    expect(busy).toEqual([['09:30', 1, 1, 1], ['09:54', 2, 2, 1], ['09:55', 3, 0, 0], ['09:59', 1, 0, null]]);
  });

  it('pages by (created_at, id) with no duplicate and no gap, ties included, per user and per status', async () => {
    const at = new Date('2002-02-02T12:00:00Z');
    // 23 uploads of one user, many sharing one created_at: only the id breaks those ties
    const rows: Row[] = Array.from({ length: 23 }, (_, i) => ({ createdAt: new Date(at.getTime() + Math.floor(i / 4) * 1000), userId: 4242, status: i % 3 === 0 ? 'failed' : 'done' }));
    const ids = await insertUploads(tdb.db, rows);
    await insertUploads(tdb.db, [{ createdAt: at, userId: 4243 }]);
    const stats = tdb.repos.stats;

    const walk = async (filter: { userId?: number; status?: UploadStatus }): Promise<string[]> => {
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = await stats.list({ ...filter, after, limit: 5 });
        seen.push(...page.uploads.map((u) => u.id));
        if (!page.next) return seen;
        after = page.next;
      }
      throw new Error('paging did not end');
    };
    const all = await walk({ userId: 4242 });
    expect(all).toHaveLength(23);
    expect(new Set(all).size).toBe(23);
    expect(new Set(all)).toEqual(new Set(ids));
    // newest first: created_at descending, then id descending
    const keys = await tdb.db('uploads').whereIn('id', all).select('id', tdb.db.raw('created_at::text as at'));
    const byId = new Map(keys.map((k: { id: string; at: string }) => [k.id, k.at]));
    const expected = [...all].sort((a, b) => ((byId.get(b) ?? '') + b).localeCompare((byId.get(a) ?? '') + a));
    expect(all).toEqual(expected);

    const failed = await walk({ userId: 4242, status: 'failed' });
    expect(failed.sort()).toEqual(ids.filter((_, i) => i % 3 === 0).sort());
  });
});

/** The SQL the console runs, as the planner sees it on a table with a month of rows. */
describe('the console queries use indexes', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    // 50,000 uploads spread over 30 days, 1 in 20 failed
    await tdb.db.raw(`insert into uploads (id, user_id, status, error_code, detected_type, size_bytes, sha256, width, height, created_at, updated_at)
      select gen_random_uuid(), i % 5000, case when i % 20 = 0 then 'failed' else 'done' end, case when i % 20 = 0 then 'storage_unavailable' end,
             'image/png', 1, 'x', 1, 1, now() - (i * interval '52 seconds'), now() - (i * interval '52 seconds')
        from generate_series(1, 50000) as i`);
    await tdb.db.raw('analyze uploads');
  }, 60_000);
  afterAll(async () => {
    await tdb?.drop();
  });

  async function plansOf(run: () => Promise<unknown>): Promise<string[]> {
    const queries: Array<{ sql: string; bindings: unknown[] }> = [];
    const listener = (q: { sql: string; bindings: unknown[] }): void => {
      queries.push(q);
    };
    tdb.db.on('query', listener);
    try {
      await run();
    } finally {
      tdb.db.off('query', listener);
    }
    const plans: string[] = [];
    for (const q of queries) {
      // the event shows pg's numbered placeholders, in binding order
      const result = await tdb.db.raw<{ rows: Array<Record<string, unknown>> }>(`explain (format json) ${q.sql.replace(/\$\d+/g, '?')}`, q.bindings as never);
      plans.push(JSON.stringify(result.rows[0]));
    }
    return plans;
  }

  it('counts, buckets, top codes and pages without a sequential scan', async () => {
    const stats = tdb.repos.stats;
    const now = new Date();
    const hourAgo = new Date(now.getTime() - 3_600_000);
    const dayAgo = new Date(now.getTime() - 86_400_000);
    const first = await stats.list({ limit: 50 });
    const plans = await plansOf(async () => {
      await stats.countByStatus(hourAgo, now);
      await stats.countByStatus(dayAgo, now);
      await stats.countPerMinute(hourAgo, now);
      await stats.topFailureCodes(dayAgo, now, 10);
      await stats.list({ limit: 50, after: first.next });
      await stats.list({ status: 'failed', limit: 50, after: first.next });
      await stats.list({ userId: 7, limit: 50 });
    });
    expect(plans).toHaveLength(7);
    for (const plan of plans) {
      expect(plan, plan).not.toContain('Seq Scan');
      expect(plan, plan).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
    }
    expect(plans[0]).toContain('uploads_created_at_id_index');
    expect(plans[3]).toContain('uploads_status_created_at_id_index');
    expect(plans[5]).toContain('uploads_status_created_at_id_index');
  });
});

describe('the operator console over HTTP', () => {
  let system: TestSystem;
  let admin: AdminLogin;
  let basic: string;
  let queues: { avatar: Queue; cleanup: Queue };

  beforeAll(async () => {
    system = await startTestSystem({ worker: false, env: { TRUST_PROXY: 'true', RATE_LIMIT_ADMIN_AUTH_FAILURES_PER_IP: '3' } });
    const connection = { url: system.config.redis.url, maxRetriesPerRequest: null };
    queues = { avatar: new Queue(AVATAR_QUEUE, { connection, prefix: system.config.redis.prefix }), cleanup: new Queue(CLEANUP_QUEUE, { connection, prefix: system.config.redis.prefix }) };
    basic = `Basic ${Buffer.from(`admin:${system.config.auth.adminPassword}`).toString('base64')}`;
    admin = await loginAsAdmin(system.url, system.config.auth.adminPassword, { 'x-forwarded-for': '10.9.0.1' });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([queues?.avatar.close(), queues?.cleanup.close()]);
    await system?.close();
  });

  const post = (pathname: string, init: { cookie?: string; body?: URLSearchParams | string; headers?: Record<string, string> } = {}): Promise<Response> =>
    fetch(`${system.url}${pathname}`, {
      method: 'POST',
      redirect: 'manual',
      body: init.body,
      headers: { ...(init.cookie ? { cookie: init.cookie } : {}), ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
    });
  const form = (fields: Record<string, string> = {}): URLSearchParams => new URLSearchParams({ _csrf: admin.csrf, ...fields });

  /** A failed upload as the worker leaves one after an outage: failed, its original kept in staging. */
  async function failedUpload(options: { userId?: number; keepOriginal?: boolean; createdAt?: Date } = {}): Promise<string> {
    const id = randomUUID();
    const stagedPath = path.join(system.stagingDir, `${id}.upload`);
    if (options.keepOriginal !== false) await writeFile(stagedPath, 'original');
    const journal = system.repos.journal;
    await journal.accept({ id, userId: options.userId ?? 1, idempotencyKey: null, declaredType: 'image/png', detectedType: 'image/png', sizeBytes: 8, sha256: 'x', width: 1, height: 1, stagedPath });
    if (options.createdAt) await system.db('uploads').where({ id }).update({ created_at: options.createdAt });
    await journal.record(id, { status: 'failed', patch: { errorCode: 'storage_unavailable', errorMessage: 'FastDFS: no storage' }, event: { type: 'failed', data: { code: 'storage_unavailable', message: 'FastDFS: no storage' } } });
    return id;
  }

  it('answers 401 on every admin path without a login, assets and bull-board included; only the login page and its CSS are open', async () => {
    const id = randomUUID();
    const gets = ['/admin', '/admin/', '/admin/uploads', '/admin/uploads?q=1', `/admin/uploads/${id}`, '/admin/assets/console.css', '/admin/no-such-page', '/admin/queues', '/admin/queues/api/queues'];
    for (const pathname of gets) {
      const answer = await fetch(`${system.url}${pathname}`, { headers: { accept: 'text/html' } });
      expect(answer.status, pathname).toBe(401);
      expect(await answer.text(), pathname).not.toContain('avatar-process');
    }
    const posts = [`/admin/uploads/${id}/retry`, '/admin/users/1/avatar/remove', '/admin/logout'];
    for (const pathname of posts) {
      const answer = await post(pathname, { body: new URLSearchParams({ _csrf: admin.csrf }) });
      expect(answer.status, pathname).toBe(401);
    }
    // a client that is not a browser gets problem+json; a stale or forged session cookie is no login
    const json = await fetch(`${system.url}/admin/uploads`, { headers: { cookie: 'avatar_admin=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    expectProblem({ status: json.status, contentType: json.headers.get('content-type'), text: await json.text() }, 401, 'unauthorized');
    const login = await fetch(`${system.url}/admin/login`);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('name="password"');
    const css = await fetch(`${system.url}/admin/login.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('logs in with a session cookie that is HttpOnly, SameSite=Strict, limited to /admin and expiring, and Secure behind TLS', async () => {
    const session = admin.setCookie.find((c) => c.startsWith('avatar_admin='));
    expect(session).toBeDefined();
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Path=\/admin/);
    expect(session).toMatch(/; Max-Age=28800/);
    expect(session).not.toMatch(/; Secure/);

    const tls = await loginAsAdmin(system.url, system.config.auth.adminPassword, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '10.9.0.2' });
    expect(tls.setCookie.find((c) => c.startsWith('avatar_admin='))).toMatch(/; Secure/);
    const page = await fetch(`${system.url}/admin`, { headers: { cookie: admin.cookie } });
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('Last hour');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('content-security-policy')).toContain(`img-src 'self' ${new URL(system.config.fastdfs.publicUrl).origin}`);
    expect(page.headers.get('cache-control')).toBe('no-store');
    // the session opens bull-board too
    expect((await fetch(`${system.url}/admin/queues/api/queues`, { headers: { cookie: admin.cookie } })).status).toBe(200);
  });

  it('refuses a wrong password, and counts it with wrong Basic logins against the per-address limit', async () => {
    const from = { 'x-forwarded-for': '10.9.0.3' };
    const page = await fetch(`${system.url}/admin/login`, { headers: from });
    const jar = cookieHeader(cookiesFrom(page));
    const csrf = csrfFrom(await page.text());
    const attempt = (password: string): Promise<Response> => post('/admin/login', { cookie: jar, body: new URLSearchParams({ _csrf: csrf, password }), headers: from });
    const wrong = await attempt('not-the-password');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.getSetCookie().some((c) => c.startsWith('avatar_admin='))).toBe(false);
    expect(await wrong.text()).toContain('Wrong password');
    expect((await fetch(`${system.url}/admin/queues/api/queues`, { headers: { ...from, authorization: `Basic ${Buffer.from('admin:nope-nope').toString('base64')}` } })).status).toBe(401);
    expect((await attempt('still-wrong')).status).toBe(401);
    // three failures used up: locked out, the right password too, for the rest of the minute
    const right = await attempt(system.config.auth.adminPassword);
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('refuses a state-changing POST without its CSRF token (403 problem+json), and a Basic one unless it is JSON', async () => {
    const id = await failedUpload();
    const noToken = await post(`/admin/uploads/${id}/retry`, { cookie: admin.cookie, body: new URLSearchParams({}) });
    expectProblem({ status: noToken.status, contentType: noToken.headers.get('content-type'), text: await noToken.text() }, 403, 'csrf_token_invalid');
    const badToken = await post(`/admin/uploads/${id}/retry`, { cookie: admin.cookie, body: new URLSearchParams({ _csrf: 'forged' }) });
    expect(badToken.status).toBe(403);
    // the session's token without its secret cookie (another browser's token) is refused too
    const session = admin.cookie.split('; ').filter((c) => c.startsWith('avatar_admin=')).join('; ');
    expect((await post(`/admin/uploads/${id}/retry`, { cookie: session, body: form() })).status).toBe(403);
    // Basic credentials are resent by browsers on a cross-site form post: a form is refused, JSON is not
    const basicForm = await post(`/admin/uploads/${id}/retry`, { body: new URLSearchParams({}), headers: { authorization: basic } });
    expectProblem({ status: basicForm.status, contentType: basicForm.headers.get('content-type'), text: await basicForm.text() }, 403, 'csrf_token_invalid');
    expect((await system.db('uploads').where({ id }).first()).status).toBe('failed');
    const basicJson = await post(`/admin/uploads/${id}/retry`, { body: '{}', headers: { authorization: basic } });
    expect(basicJson.status).toBe(202);
    expect(await basicJson.json()).toEqual({ uploadId: id, status: 'queued' });
  });

  it('refuses a change with the session or Basic from another origin, on the console and in bull-board alike; same-origin changes pass', async () => {
    const id = await failedUpload();
    const pause = (headers: Record<string, string>): Promise<Response> => fetch(`${system.url}/admin/queues/api/queues/${CLEANUP_QUEUE}/pause`, { method: 'PUT', headers });
    const expectRefused = async (answer: Response, what: string): Promise<void> => {
      expectProblem({ status: answer.status, contentType: answer.headers.get('content-type'), text: await answer.text() }, 403, 'csrf_token_invalid');
      expect(answer.status, what).toBe(403);
    };
    // a sibling subdomain's page: SameSite=Strict lets the cookie through, Sec-Fetch-Site tells
    await expectRefused(await pause({ cookie: admin.cookie, 'sec-fetch-site': 'same-site' }), 'session, same-site');
    await expectRefused(await pause({ cookie: admin.cookie, origin: 'https://evil.example' }), 'session, foreign Origin');
    await expectRefused(await pause({ authorization: basic, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }), 'Basic, cross-site');
    await expectRefused(await pause({ authorization: basic, origin: 'null' }), 'Basic, opaque origin');
    // the simple cross-site form bull-board would take: text/plain, no preflight
    const add = await fetch(`${system.url}/admin/queues/api/queues/${CLEANUP_QUEUE}/add`, {
      method: 'POST',
      headers: { authorization: basic, origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: JSON.stringify({ name: 'x', data: {} }),
    });
    await expectRefused(add, 'Basic, add');
    const purge = await fetch(`${system.url}/admin/queues/api/metrics/history/purge`, { method: 'POST', headers: { cookie: admin.cookie, 'sec-fetch-site': 'cross-site' } });
    await expectRefused(purge, 'session, purge');
    // the console's own action, even with a valid token
    await expectRefused(await post(`/admin/uploads/${id}/retry`, { cookie: admin.cookie, body: form(), headers: { origin: 'https://evil.example' } }), 'console retry');
    expect(await queues.cleanup.isPaused()).toBe(false);
    expect(await queues.cleanup.getJobCounts('waiting')).toEqual({ waiting: 0 });
    expect((await system.db('uploads').where({ id }).first()).status).toBe('failed');

    // bull-board's own page calling its API, and the console's forms: same origin, as the request addressed it
    expect((await pause({ cookie: admin.cookie, 'sec-fetch-site': 'same-origin', origin: system.url })).status).toBe(200);
    expect(await queues.cleanup.isPaused()).toBe(true);
    // behind a proxy (TRUST_PROXY here): the origin the browser saw, from X-Forwarded-Proto and -Host
    const resume = await fetch(`${system.url}/admin/queues/api/queues/${CLEANUP_QUEUE}/resume`, {
      method: 'PUT',
      headers: { authorization: basic, origin: 'https://console.example', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'console.example' },
    });
    expect(resume.status).toBe(200);
    expect(await queues.cleanup.isPaused()).toBe(false);
    // Sec-Fetch-Site decides when sent: a same-origin form post may carry `Origin: null` (Referrer-Policy no-referrer)
    const retried = await post(`/admin/uploads/${id}/retry`, { cookie: admin.cookie, body: form(), headers: { origin: 'null', 'sec-fetch-site': 'same-origin' } });
    expect(retried.status).toBe(303);
    // and the console's pages keep their Origin on their own posts, for browsers without Sec-Fetch-Site
    expect((await fetch(`${system.url}/admin`, { headers: { cookie: admin.cookie } })).headers.get('referrer-policy')).toBe('same-origin');
    // a GET from anywhere changes nothing and is answered
    expect((await fetch(`${system.url}/admin/queues/api/queues`, { headers: { cookie: admin.cookie, 'sec-fetch-site': 'cross-site' } })).status).toBe(200);
  });

  it('binds the CSRF token to its session: another session\'s secret and token are refused', async () => {
    const id = await failedUpload();
    const other = await loginAsAdmin(system.url, system.config.auth.adminPassword, { 'x-forwarded-for': '10.9.0.5' });
    const sessionOf = (login: AdminLogin): string => login.cookie.split('; ').filter((c) => c.startsWith('avatar_admin=')).join('; ');
    const secretOf = (login: AdminLogin): string => login.cookie.split('; ').filter((c) => c.startsWith('avatar_csrf=')).join('; ');
    // a secret cookie tossed in by a sibling subdomain, with a token minted for it, beside the operator's session
    const tossed = await post(`/admin/uploads/${id}/retry`, { cookie: `${sessionOf(admin)}; ${secretOf(other)}`, body: new URLSearchParams({ _csrf: other.csrf }) });
    expectProblem({ status: tossed.status, contentType: tossed.headers.get('content-type'), text: await tossed.text() }, 403, 'csrf_token_invalid');
    expect((await system.db('uploads').where({ id }).first()).status).toBe('failed');
    const own = await post(`/admin/uploads/${id}/retry`, { cookie: `${sessionOf(other)}; ${secretOf(other)}`, body: new URLSearchParams({ _csrf: other.csrf }) });
    expect(own.status).toBe(303);
  });

  it('ends a session cookie that arrives with a login: only the new session opens the console', async () => {
    const from = { 'x-forwarded-for': '10.9.0.6' };
    const first = await loginAsAdmin(system.url, system.config.auth.adminPassword, from);
    // the same browser logs in again, its first session cookie still set
    const page = await fetch(`${system.url}/admin/login`, { headers: { ...from, cookie: first.cookie } });
    const again = await post('/admin/login', { cookie: first.cookie, body: new URLSearchParams({ _csrf: csrfFrom(await page.text()), password: system.config.auth.adminPassword }), headers: from });
    expect(again.status).toBe(303);
    const second = cookiesFrom(again).avatar_admin;
    expect(second).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await fetch(`${system.url}/admin`, { headers: { cookie: first.cookie } })).status).toBe(401);
    expect((await fetch(`${system.url}/admin`, { headers: { cookie: `avatar_admin=${second}` } })).status).toBe(200);
  });

  /** The upload's run failed for good: its job sits failed under the upload's id, as the worker leaves it. */
  async function failJob(id: string, requestId?: string): Promise<void> {
    // only this job waiting, so the manual worker below takes it
    await queues.avatar.drain();
    await queues.avatar.add(jobNames.processAvatar, { uploadId: id, requestId }, { jobId: id });
    const worker = new Worker(AVATAR_QUEUE, null, { connection: { url: system.config.redis.url, maxRetriesPerRequest: null }, prefix: system.config.redis.prefix, autorun: false });
    try {
      const job = await worker.getNextJob('test-token');
      expect(job?.id).toBe(id);
      await job?.moveToFailed(new Error('storage_unavailable: FastDFS: no storage'), 'test-token');
    } finally {
      await worker.close();
    }
    expect(await (await queues.avatar.getJob(id))?.getState()).toBe('failed');
  }

  /** After a retry race: the upload is queued, retried once, and has exactly one job that will run it. */
  async function expectRetriedOnce(id: string): Promise<void> {
    const live = (await queues.avatar.getJobs(['waiting', 'active', 'delayed', 'prioritized'])).filter((j) => j.id === id);
    expect(live).toHaveLength(1);
    expect(await live[0]?.getState()).toBe('waiting');
    expect((await system.db('uploads').where({ id }).first()).status).toBe('queued');
    expect(await system.db('upload_events').where({ upload_id: id, type: 'retried' })).toHaveLength(1);
  }

  it('two retries of one upload at once: one 202, one 409, and exactly one live job', async () => {
    const id = await failedUpload();
    await failJob(id);
    const retry = (): Promise<Response> => post(`/admin/uploads/${id}/retry`, { body: '{}', headers: { authorization: basic } });
    const answers = await Promise.all([retry(), retry()]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    await expectRetriedOnce(id);
  });

  it('a retry keeps the request id of the POST that accepted the upload in its fresh job', async () => {
    const id = await failedUpload();
    const requestId = randomUUID();
    await failJob(id, requestId);
    const answer = await post(`/admin/uploads/${id}/retry`, { body: '{}', headers: { authorization: basic } });
    expect(answer.status).toBe(202);
    const job = await queues.avatar.getJob(id);
    expect(await job?.getState()).toBe('waiting');
    // and the original the reopened row names, which the worker starts rendering at once
    const stagedPath = (await system.db('uploads').where({ id }).first()).staged_path as string;
    expect(job?.data).toEqual({ uploadId: id, requestId, stagedPath });
  });

  it('two retries in lockstep: the row lock decides before the queue is touched', async () => {
    const id = await failedUpload();
    await failJob(id);
    // both clicks check the staged original at the same moment if nothing serialises them first;
    // under the row lock only one gets here, and it goes on alone after a while
    let arrived = 0;
    let release = (): void => undefined;
    const together = new Promise<void>((resolve) => {
      release = resolve;
    });
    const originalExists = async (stagedPath: string): Promise<boolean> => {
      if (++arrived === 2) release();
      await Promise.race([together, new Promise((resolve) => setTimeout(resolve, 500))]);
      return access(stagedPath).then(() => true, () => false);
    };
    const deps = { journal: system.repos.journal, avatarQueue: queues.avatar, originalExists };
    const outcomes = await Promise.allSettled([retryFailedUpload(deps, id), retryFailedUpload(deps, id)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refusal = outcomes.find((o) => o.status === 'rejected')?.reason as unknown;
    expect(isAppError(refusal) && refusal.code).toBe('upload_not_retryable');
    expect(arrived).toBe(1);
    await expectRetriedOnce(id);
  });

  it('retries a failed upload: failed → queued with a retried event and a fresh job; never anything else', async () => {
    const id = await failedUpload();
    const answer = await post(`/admin/uploads/${id}/retry`, { cookie: admin.cookie, body: form() });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe(`/admin/uploads/${id}?notice=retried`);
    const row = await system.db('uploads').where({ id }).first();
    expect(row).toMatchObject({ status: 'queued', error_code: null, attempts: 0, progress: 0 });
    const events = await system.db('upload_events').where({ upload_id: id }).orderBy('seq').select('type', 'data');
    expect(events.map((e: { type: string }) => e.type)).toEqual(['queued', 'failed', 'retried']);
    expect(events[2].data).toEqual({ previousCode: 'storage_unavailable', by: 'operator' });
    expect(await (await queues.avatar.getJob(id))?.getState()).toBe('waiting');

    // queued now: a second retry is refused, on the page for a browser and as problem+json for automation
    const again = await post(`/admin/uploads/${id}/retry`, { cookie: admin.cookie, body: form() });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('upload_not_retryable');
    const json = await post(`/admin/uploads/${id}/retry`, { body: '{}', headers: { authorization: basic } });
    expectProblem({ status: json.status, contentType: json.headers.get('content-type'), text: await json.text() }, 409, 'upload_not_retryable');

    const [done] = await insertUploads(system.db, [{ createdAt: new Date(), status: 'done' }]);
    const doneAnswer = await post(`/admin/uploads/${done}/retry`, { body: '{}', headers: { authorization: basic } });
    expectProblem({ status: doneAnswer.status, contentType: doneAnswer.headers.get('content-type'), text: await doneAnswer.text() }, 409, 'upload_not_retryable');
    const missing = await post(`/admin/uploads/${randomUUID()}/retry`, { body: '{}', headers: { authorization: basic } });
    expectProblem({ status: missing.status, contentType: missing.headers.get('content-type'), text: await missing.text() }, 404, 'upload_not_found');
  });

  it('refuses to retry a failed upload whose original is gone (410 original_gone), changing nothing', async () => {
    const id = await failedUpload({ keepOriginal: false });
    const answer = await post(`/admin/uploads/${id}/retry`, { body: '{}', headers: { authorization: `Bearer ${system.token(1, { admin: true })}` } });
    expectProblem({ status: answer.status, contentType: answer.headers.get('content-type'), text: await answer.text() }, 410, 'original_gone', [system.stagingDir]);
    expect((await system.db('uploads').where({ id }).first()).status).toBe('failed');
    expect(await system.db('upload_events').where({ upload_id: id, type: 'retried' }).first()).toBeUndefined();
    // a non-admin token is no operator
    const user = await post(`/admin/uploads/${id}/retry`, { body: '{}', headers: { authorization: `Bearer ${system.token(1)}` } });
    expect(user.status).toBe(401);
  });

  it('finds uploads by upload id and by user id, filters by status and shows an upload in detail', async () => {
    const id = await failedUpload({ userId: 3 });
    await system.db('upload_events').insert({ upload_id: id, seq: 3, type: 'progress', data: JSON.stringify({ note: '<script>alert(1)</script>' }) });
    const byId = await fetch(`${system.url}/admin/uploads?q=${id}`, { headers: { cookie: admin.cookie }, redirect: 'manual' });
    expect(byId.status).toBe(303);
    expect(byId.headers.get('location')).toBe(`/admin/uploads/${id}`);
    const detail = await (await fetch(`${system.url}/admin/uploads/${id}`, { headers: { cookie: admin.cookie } })).text();
    expect(detail).toContain('storage_unavailable');
    expect(detail).toContain('FastDFS: no storage');
    expect(detail).toContain(`href="/admin/queues/queue/avatar-process/${id}"`);
    expect(detail).toContain('id="retry"');
    expect(detail).not.toContain('<script>alert(1)</script>');
    expect(detail).toContain('&lt;script&gt;');

    const byUser = await (await fetch(`${system.url}/admin/uploads?q=3&status=failed`, { headers: { cookie: admin.cookie } })).text();
    expect(byUser).toContain(id);
    const otherStatus = await (await fetch(`${system.url}/admin/uploads?q=3&status=done`, { headers: { cookie: admin.cookie } })).text();
    expect(otherStatus).not.toContain(id);
    const bad = await fetch(`${system.url}/admin/uploads?status=nope`, { headers: { cookie: admin.cookie } });
    expectProblem({ status: bad.status, contentType: bad.headers.get('content-type'), text: await bad.text() }, 400, 'validation_failed');
  });

  it("removes a user's avatar: user_detail cleared, its files handed to the cleanup queue", async () => {
    const [uploadId] = await insertUploads(system.db, [{ createdAt: new Date(), status: 'done', userId: 2 }]);
    const variants = [{ size: 512, fileId: 'group1/M00/00/00/a.webp', url: 'http://files/a.webp' }, { size: 64, fileId: 'group1/M00/00/00/a_64.webp', url: 'http://files/a_64.webp' }];
    await system.db('user_detail').insert({ user_id: 2, avatar: variants[0]?.url, avatar_file_id: variants[0]?.fileId, avatar_upload_id: uploadId, avatar_variants: JSON.stringify(variants) }).onConflict('user_id').merge();
    const page = await (await fetch(`${system.url}/admin/uploads?q=2`, { headers: { cookie: admin.cookie } })).text();
    expect(page).toContain('Remove avatar');

    const answer = await post('/admin/users/2/avatar/remove', { cookie: admin.cookie, body: form() });
    expect(answer.status).toBe(303);
    const detail = await system.db('user_detail').where({ user_id: 2 }).first();
    expect(detail).toMatchObject({ avatar: null, avatar_file_id: null, avatar_upload_id: null, avatar_variants: [] });
    const [job] = await queues.cleanup.getJobs(['waiting']);
    expect(job?.data).toEqual({ fileIds: variants.map((v) => v.fileId), uploadId, reason: 'removed by an operator' });
    // nothing left to remove
    const again = await post('/admin/users/2/avatar/remove', { body: '{}', headers: { authorization: basic } });
    expectProblem({ status: again.status, contentType: again.headers.get('content-type'), text: await again.text() }, 404, 'avatar_not_found');
  });

  it('logs out: the session ends on the server, so the old cookie no longer opens anything', async () => {
    const other = await loginAsAdmin(system.url, system.config.auth.adminPassword, { 'x-forwarded-for': '10.9.0.4' });
    const out = await post('/admin/logout', { cookie: other.cookie, body: new URLSearchParams({ _csrf: other.csrf }) });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/admin/login');
    expect(out.headers.getSetCookie().find((c) => c.startsWith('avatar_admin='))).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect((await fetch(`${system.url}/admin`, { headers: { cookie: other.cookie } })).status).toBe(401);
    expect((await fetch(`${system.url}/admin/queues/api/queues`, { headers: { cookie: other.cookie } })).status).toBe(401);
    // the other session lives on
    expect((await fetch(`${system.url}/admin`, { headers: { cookie: admin.cookie } })).status).toBe(200);
  });

});
