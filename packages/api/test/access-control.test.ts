import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@avatar/shared';
import { startApiRuntime, type ApiRuntime } from '../src/api-runtime.js';
import { epochSeconds, forgeToken, hmacSha256, rsaSha256 } from './support/forge-token.js';
import { getText, postAvatarText, type TextResponse } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { expectProblem } from './support/problem.js';
import { startTestSystem, TEST_JWT_SECRET, type TestSystem } from './support/test-system.js';

let system: TestSystem;
let jpegA: Buffer;
let jpegB: Buffer;

beforeAll(async () => {
  // no worker: access decisions are made at the API, and queued uploads are all these tests need
  system = await startTestSystem({ worker: false });
  jpegA = await solidJpeg(48, 48, { r: 200, g: 10, b: 10 });
  jpegB = await solidJpeg(48, 48, { r: 10, g: 10, b: 200 });
});
afterAll(async () => {
  await system?.close();
});

function problem(response: TextResponse, status: number, code: string): Record<string, unknown> {
  return expectProblem({ status: response.status, contentType: response.contentType, text: response.text }, status, code, [system.stagingDir]);
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

async function accepted(response: TextResponse): Promise<string> {
  expect(response.status, response.text).toBe(202);
  return (JSON.parse(response.text) as { uploadId: string }).uploadId;
}

async function uploadsOf(userId: number): Promise<number> {
  const [row] = await system.db('uploads').where({ user_id: userId }).count({ n: '*' });
  return Number(row?.n);
}

describe('bearer tokens', () => {
  const claims = () => ({ sub: '1', role: 'user', iat: epochSeconds(), exp: epochSeconds(3600) });
  const hostile: Array<[string, () => string]> = [
    ['alg none with an empty signature', () => forgeToken({ alg: 'none', typ: 'JWT' }, claims())],
    ['alg None with an empty signature', () => forgeToken({ alg: 'None', typ: 'JWT' }, claims())],
    ['alg none claiming admin', () => forgeToken({ alg: 'none', typ: 'JWT' }, { ...claims(), role: 'admin' })],
    ['HS256 signed with another secret', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, claims(), hmacSha256('another-secret-0123456789abcdef'))],
    ['expired a minute ago', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, { ...claims(), exp: epochSeconds(-60) }, hmacSha256(TEST_JWT_SECRET))],
    ['without exp', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: '1', iat: epochSeconds() }, hmacSha256(TEST_JWT_SECRET))],
    ['without sub', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, { exp: epochSeconds(3600) }, hmacSha256(TEST_JWT_SECRET))],
    ['with a non-numeric sub', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, { ...claims(), sub: 'alice' }, hmacSha256(TEST_JWT_SECRET))],
    ['with sub 1.5', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, { ...claims(), sub: '1.5' }, hmacSha256(TEST_JWT_SECRET))],
    ['with sub 0', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, { ...claims(), sub: '0' }, hmacSha256(TEST_JWT_SECRET))],
    ['with sub 01', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, { ...claims(), sub: '01' }, hmacSha256(TEST_JWT_SECRET))],
    ['with an RS256 header but an HMAC signature', () => forgeToken({ alg: 'RS256', typ: 'JWT' }, claims(), hmacSha256(TEST_JWT_SECRET))],
    ['HS384 signed with the right secret (only HS256 is allowed)', () => forgeToken({ alg: 'HS384', typ: 'JWT' }, claims(), (input) => createHmac('sha384', TEST_JWT_SECRET).update(input).digest())],
    ['HS256 with its signature removed', () => `${system.token(1).split('.').slice(0, 2).join('.')}.`],
    ['a valid token whose payload was swapped for user 1', () => {
      const real = system.token(2).split('.');
      const forged = forgeToken({ alg: 'HS256', typ: 'JWT' }, claims()).split('.');
      return `${real[0]}.${forged[1]}.${real[2]}`;
    }],
    ['not a JWT at all', () => 'not-a-jwt'],
    ['three empty segments', () => '..'],
    ['garbage base64 segments', () => 'eyJ!!!.e30.@@@'],
  ];

  it('accepts a valid token for the user themself (the control case)', async () => {
    await accepted(await postAvatarText(system.url, 1, system.token(1), jpegA));
  });

  it.each(hostile)('refuses a token %s with 401 unauthorized and accepts nothing', async (_name, make) => {
    const before = await uploadsOf(1);
    problem(await postAvatarText(system.url, 1, make(), jpegA), 401, 'unauthorized');
    problem(await getText(`${system.url}/v1/uploads/${randomUUID()}`, bearer(make())), 401, 'unauthorized');
    expect(await uploadsOf(1)).toBe(before);
  });

  it('refuses a missing token with 401 unauthorized', async () => {
    problem(await postAvatarText(system.url, 1, undefined, jpegA), 401, 'unauthorized');
    problem(await getText(`${system.url}/v1/uploads/${randomUUID()}`), 401, 'unauthorized');
  });

  it.each([
    ['an empty bearer', 'Bearer '],
    ['a bare scheme', 'Bearer'],
    ['basic credentials', `Basic ${Buffer.from('admin:dev-admin').toString('base64')}`],
    ['two tokens', 'Bearer a.b.c Bearer d.e.f'],
  ])('refuses an Authorization header with %s with 401 unauthorized', async (_name, header) => {
    problem(await getText(`${system.url}/v1/uploads/${randomUUID()}`, { authorization: header }), 401, 'unauthorized');
  });
});

describe('who may act for whom', () => {
  let uploadOfUser1: string;

  beforeAll(async () => {
    uploadOfUser1 = await accepted(await postAvatarText(system.url, 1, system.token(1), jpegA));
  });

  it('refuses user 2 uploading for user 1 with 403 forbidden, and records nothing', async () => {
    const before = await uploadsOf(1);
    problem(await postAvatarText(system.url, 1, system.token(2), jpegA), 403, 'forbidden');
    expect(await uploadsOf(1)).toBe(before);
  });

  it("answers user 2 asking for user 1's upload exactly as for an upload that does not exist", async () => {
    const other = problem(await getText(`${system.url}/v1/uploads/${uploadOfUser1}`, bearer(system.token(2))), 404, 'upload_not_found');
    const missing = problem(await getText(`${system.url}/v1/uploads/${randomUUID()}`, bearer(system.token(2))), 404, 'upload_not_found');
    const { instance: _a, ...otherRest } = other;
    const { instance: _b, ...missingRest } = missing;
    expect(otherRest).toEqual(missingRest);
    expect(JSON.stringify(other)).not.toMatch(/"userId"|"status":"queued"/);
  });

  it("answers user 2 asking for the events of user 1's upload with 404 upload_not_found", async () => {
    problem(await getText(`${system.url}/v1/uploads/${uploadOfUser1}/events`, bearer(system.token(2))), 404, 'upload_not_found');
    problem(await getText(`${system.url}/v1/uploads/${uploadOfUser1}/events?wait=1`, bearer(system.token(2))), 404, 'upload_not_found');
  });

  it('lets the owner see their own upload and its events', async () => {
    const snapshot = await getText(`${system.url}/v1/uploads/${uploadOfUser1}`, bearer(system.token(1)));
    expect(snapshot.status).toBe(200);
    expect(JSON.parse(snapshot.text)).toMatchObject({ id: uploadOfUser1, userId: 1 });
    expect((await getText(`${system.url}/v1/uploads/${uploadOfUser1}/events`, bearer(system.token(1)))).status).toBe(200);
  });

  it("lets an admin read anyone's upload and its events, and upload for anyone", async () => {
    const admin = system.token(99, { admin: true });
    const snapshot = await getText(`${system.url}/v1/uploads/${uploadOfUser1}`, bearer(admin));
    expect(snapshot.status).toBe(200);
    expect(JSON.parse(snapshot.text)).toMatchObject({ id: uploadOfUser1, userId: 1 });
    const events = await getText(`${system.url}/v1/uploads/${uploadOfUser1}/events`, bearer(admin));
    expect(events.status).toBe(200);
    expect(JSON.parse(events.text)).toMatchObject({ uploadId: uploadOfUser1 });

    const forUser3 = await accepted(await postAvatarText(system.url, 3, admin, jpegB));
    expect((await system.db('uploads').where({ id: forUser3 }).first()).user_id).toBe('3');
  });

  it('does not treat a role other than exactly "admin" as admin', async () => {
    for (const role of ['Admin', 'ADMIN', 'administrator', ['admin'], true]) {
      const token = forgeToken({ alg: 'HS256', typ: 'JWT' }, { sub: '2', role, exp: epochSeconds(3600) }, hmacSha256(TEST_JWT_SECRET));
      problem(await postAvatarText(system.url, 1, token, jpegA), 403, 'forbidden');
      problem(await getText(`${system.url}/v1/uploads/${uploadOfUser1}`, bearer(token)), 404, 'upload_not_found');
    }
  });

  it('answers 404 user_not_found to an upload for a user who does not exist', async () => {
    problem(await postAvatarText(system.url, 424242, system.token(99, { admin: true }), jpegA), 404, 'user_not_found');
    problem(await postAvatarText(system.url, 424242, system.token(424242), jpegA), 404, 'user_not_found');
  });
});

describe('ids in paths', () => {
  it.each(['abc', '1.5', '-1', '01', '0', '1e3', '0x10', '99999999999999999999', '%20', '1%00'])('refuses user id %s with 400 validation_failed', async (id) => {
    problem(await getText(`${system.url}/v1/users/${id}/avatar`), 400, 'validation_failed');
    problem(await postAvatarText(system.url, id, system.token(1), jpegA), 400, 'validation_failed');
  });

  it.each(['not-a-uuid', '1', "1' OR '1'='1", '00000000-0000-0000-0000-00000000000g', `${randomUUID()}x`])('answers upload id %s with 404 upload_not_found', async (id) => {
    problem(await getText(`${system.url}/v1/uploads/${encodeURIComponent(id)}`, bearer(system.token(1))), 404, 'upload_not_found');
  });

  it.each([
    ['an upload id longer than the router allows', () => `/v1/uploads/${'a'.repeat(5000)}`],
    ['a user id longer than the router allows', () => `/v1/users/${'1'.repeat(500)}/avatar`],
    ['broken percent-encoding', () => '/v1/uploads/%E0%A4%A'],
  ])('answers %s with a 400 validation_failed problem that does not echo the path', async (_name, makePath) => {
    const response = await getText(`${system.url}${makePath()}`, bearer(system.token(1)));
    const body = problem(response, 400, 'validation_failed');
    expect(String(body.detail)).not.toMatch(/aaaa|1111|%E0/);
  });
});

describe('the queue dashboard', () => {
  const dashboard = () => `${system.url}/admin/queues`;
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  it('asks for credentials with 401 and WWW-Authenticate when none are sent', async () => {
    const response = await getText(dashboard());
    problem(response, 401, 'unauthorized');
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
  });

  it.each([
    ['a user token', () => bearer(system.token(1))],
    ['an alg none admin token', () => bearer(forgeToken({ alg: 'none' }, { sub: '1', role: 'admin', exp: epochSeconds(3600) }))],
    ['an admin token signed with another secret', () => bearer(forgeToken({ alg: 'HS256' }, { sub: '1', role: 'admin', exp: epochSeconds(3600) }, hmacSha256('nope-nope-nope')))],
    ['an expired admin token', () => bearer(forgeToken({ alg: 'HS256' }, { sub: '1', role: 'admin', exp: epochSeconds(-60) }, hmacSha256(TEST_JWT_SECRET)))],
    ['the wrong password', () => basic('admin', 'wrong-password')],
    ['the password with another user name', () => basic('root', system.config.auth.adminPassword)],
    ['the password with a suffix', () => basic('admin', `${system.config.auth.adminPassword}x`)],
    ['malformed basic credentials', () => ({ authorization: 'Basic %%%not-base64' })],
  ])('refuses %s with 401', async (_name, headers) => {
    problem(await getText(dashboard(), headers()), 401, 'unauthorized');
  });

  it("guards the dashboard's JSON API (job data) as well as its page", async () => {
    const api = `${dashboard()}/api/queues`;
    const refused = await getText(api, bearer(system.token(1)));
    problem(refused, 401, 'unauthorized');
    expect(refused.text).not.toContain('avatar-process');
    const allowed = await getText(api, basic('admin', system.config.auth.adminPassword));
    expect(allowed.status).toBe(200);
    expect(allowed.text).toContain('avatar-process');
  });

  it('lets in admin:<ADMIN_PASSWORD> and an admin bearer token', async () => {
    expect((await getText(dashboard(), basic('admin', system.config.auth.adminPassword))).status).toBe(200);
    expect((await getText(dashboard(), bearer(system.token(7, { admin: true })))).status).toBe(200);
  });

  it('keeps /metrics for operators: 401 to anyone else, Prometheus text with admin credentials', async () => {
    problem(await getText(`${system.url}/metrics`), 401, 'unauthorized');
    problem(await getText(`${system.url}/metrics`, bearer(system.token(1))), 401, 'unauthorized');
    const scraped = await getText(`${system.url}/metrics`, basic('admin', system.config.auth.adminPassword));
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('avatar_queue_jobs{queue="avatar-process",state="waiting"}');
  });

  it('says only which dependency is ready on /health/ready, never why one is not', async () => {
    const ready = await getText(`${system.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready', checks: { postgres: { ok: true }, redis: { ok: true }, fastdfs: { ok: true } } });
    expect(ready.text).not.toMatch(/error|127\.0\.0\.1|password/i);
  });
});

describe('Idempotency-Key', () => {
  it('replays the same upload for the same key and bytes: same id, one row, one queued event', async () => {
    const key = `k-${randomUUID()}`;
    const first = await postAvatarText(system.url, 1, system.token(1), jpegA, { headers: { 'idempotency-key': key } });
    const id = await accepted(first);
    expect(first.headers.get('idempotent-replayed')).toBe('false');
    const again = await postAvatarText(system.url, 1, system.token(1), jpegA, { headers: { 'idempotency-key': key } });
    expect(await accepted(again)).toBe(id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/v1/uploads/${id}`);

    expect(await system.db('uploads').where({ user_id: 1, idempotency_key: key }).count({ n: '*' })).toEqual([{ n: '1' }]);
    expect(await system.db('upload_events').where({ upload_id: id, type: 'queued' }).count({ n: '*' })).toEqual([{ n: '1' }]);
  });

  it('gives concurrent requests with the same key and bytes one upload', async () => {
    const key = `k-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 4 }, () => postAvatarText(system.url, 1, system.token(1), jpegA, { headers: { 'idempotency-key': key } })));
    const ids = await Promise.all(answers.map(accepted));
    expect(new Set(ids).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'false')).toHaveLength(1);
    expect(await system.db('uploads').where({ idempotency_key: key }).count({ n: '*' })).toEqual([{ n: '1' }]);
  });

  it('answers 409 idempotency_conflict to the same key with different bytes, and records nothing', async () => {
    const key = `k-${randomUUID()}`;
    const id = await accepted(await postAvatarText(system.url, 1, system.token(1), jpegA, { headers: { 'idempotency-key': key } }));
    const before = await uploadsOf(1);
    const body = problem(await postAvatarText(system.url, 1, system.token(1), jpegB, { headers: { 'idempotency-key': key } }), 409, 'idempotency_conflict');
    expect(body.uploadId).toBe(id);
    expect(await uploadsOf(1)).toBe(before);
  });

  it('keeps keys of different users apart', async () => {
    const key = `k-${randomUUID()}`;
    const mine = await accepted(await postAvatarText(system.url, 1, system.token(1), jpegA, { headers: { 'idempotency-key': key } }));
    const theirs = await postAvatarText(system.url, 2, system.token(2), jpegB, { headers: { 'idempotency-key': key } });
    expect(await accepted(theirs)).not.toBe(mine);
    expect(theirs.headers.get('idempotent-replayed')).toBe('false');
  });

  it.each([['a key with spaces', 'a b'], ['a key of 200 characters', 'k'.repeat(200)], ['a key with a slash', '../x']])('refuses %s with 400 validation_failed', async (_name, key) => {
    problem(await postAvatarText(system.url, 1, system.token(1), jpegA, { headers: { 'idempotency-key': key } }), 400, 'validation_failed');
  });

  it('applies no rate limit when both limits are 0', async () => {
    for (let i = 0; i < 8; i++) await accepted(await postAvatarText(system.url, 3, system.token(3), await solidJpeg(20 + i, 20, { r: i, g: 0, b: 0 })));
  });

  it('keeps one staged file per queued upload: refused and replayed requests leave none', async () => {
    const queued = await system.db('uploads').whereNotNull('staged_path').select('staged_path');
    const staged = await readdir(system.stagingDir);
    expect(staged.sort()).toEqual(queued.map((row: { staged_path: string }) => row.staged_path.split('/').pop()).sort());
  });
});

describe('rate limits shared through Redis', () => {
  let limited: TestSystem;
  let second: ApiRuntime | undefined;
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  beforeAll(async () => {
    limited = await startTestSystem({ worker: false, env: { RATE_LIMIT_UPLOADS_PER_USER: '3', RATE_LIMIT_UPLOADS_PER_IP: '6', TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await second?.close();
    await limited?.close();
  });

  function rateLimited(response: TextResponse): void {
    expectProblem({ status: response.status, contentType: response.contentType, text: response.text }, 429, 'rate_limited');
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
  }

  it("answers a user's 4th upload in a minute with 429 and Retry-After, while another user still gets 202", async () => {
    for (let i = 0; i < 3; i++) await accepted(await postAvatarText(limited.url, 1, limited.token(1), jpegA, { headers: from('10.0.0.1') }));
    rateLimited(await postAvatarText(limited.url, 1, limited.token(1), jpegA, { headers: from('10.0.0.1') }));
    // the limit is the user's, not the address's: user 1 is refused from anywhere
    rateLimited(await postAvatarText(limited.url, 1, limited.token(1), jpegA, { headers: from('10.0.0.9') }));
    await accepted(await postAvatarText(limited.url, 2, limited.token(2), jpegA, { headers: from('10.0.0.1') }));
  });

  it("answers an address's 7th upload in a minute with 429, whoever sends it, while another address still gets 202", async () => {
    // admins acting for user 3, each a different principal, so only the per-IP limit applies
    for (let i = 0; i < 6; i++) await accepted(await postAvatarText(limited.url, 3, limited.token(100 + i, { admin: true }), jpegA, { headers: from('10.0.0.2') }));
    rateLimited(await postAvatarText(limited.url, 3, limited.token(200, { admin: true }), jpegA, { headers: from('10.0.0.2') }));
    await accepted(await postAvatarText(limited.url, 3, limited.token(201, { admin: true }), jpegA, { headers: from('10.0.0.3') }));
  });

  it('counts an IPv6 /64 as one address, so a host cannot rotate through its subnet', async () => {
    for (let i = 0; i < 6; i++) await accepted(await postAvatarText(limited.url, 3, limited.token(300 + i, { admin: true }), jpegA, { headers: from(`2001:db8:1:2::${i + 1}`) }));
    rateLimited(await postAvatarText(limited.url, 3, limited.token(310, { admin: true }), jpegA, { headers: from('2001:db8:1:2:ffff::9') }));
    await accepted(await postAvatarText(limited.url, 3, limited.token(311, { admin: true }), jpegA, { headers: from('2001:db8:1:3::1') }));
  });

  it('does not count refused-at-the-door requests (no token) against the user', async () => {
    for (let i = 0; i < 5; i++) problem(await postAvatarText(limited.url, 3, undefined, jpegA, { headers: from(`10.1.0.${i}`) }), 401, 'unauthorized');
    await accepted(await postAvatarText(limited.url, 3, limited.token(3), jpegA, { headers: from('10.0.0.4') }));
  });

  it('keeps the counters in Redis under the configured prefix, so a second API process shares them', async () => {
    const redis = new Redis(limited.config.redis.url, { maxRetriesPerRequest: 1 });
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `${limited.config.redis.prefix}:rate-limit:*`, 'COUNT', 500);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      expect(keys.some((k) => k.includes('user:1'))).toBe(true);
      expect(keys.some((k) => k.includes('10.0.0.2'))).toBe(true);
    } finally {
      redis.disconnect();
    }

    second = await startApiRuntime(limited.config, createLogger({ level: 'silent', name: 'second-api' }), limited.fastdfs);
    // user 2 has 1 upload so far (above); 2 more across the two processes reach the limit of 3
    await accepted(await postAvatarText(limited.url, 2, limited.token(2), jpegB, { headers: from('10.0.0.5') }));
    await accepted(await postAvatarText(second.url, 2, limited.token(2), jpegB, { headers: from('10.0.0.5') }));
    rateLimited(await postAvatarText(second.url, 2, limited.token(2), jpegB, { headers: from('10.0.0.5') }));
    rateLimited(await postAvatarText(limited.url, 2, limited.token(2), jpegB, { headers: from('10.0.0.5') }));
  });
});

describe('a public-key (RS256) setup', () => {
  let rsa: TestSystem;
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const claims = (sub: string, role = 'user') => ({ sub, role, iat: epochSeconds(), exp: epochSeconds(3600) });
  const probe = (token: string) => getText(`${rsa.url}/v1/uploads/${randomUUID()}`, bearer(token));

  beforeAll(async () => {
    rsa = await startTestSystem({ worker: false, env: { JWT_PUBLIC_KEY: publicPem, JWT_SECRET: '', UPLOAD_TOKEN_SECRET: 'upload-token-secret-for-the-rsa-tests' } });
  });
  afterAll(async () => {
    await rsa?.close();
  });

  it('accepts tokens signed with the matching private key', async () => {
    const token = forgeToken({ alg: 'RS256', typ: 'JWT' }, claims('1'), rsaSha256(privateKey));
    // past authentication: the upload simply does not exist
    problem(await probe(token), 404, 'upload_not_found');
    await accepted(await postAvatarText(rsa.url, 1, token, jpegA));
    const admin = forgeToken({ alg: 'RS256', typ: 'JWT' }, claims('9', 'admin'), rsaSha256(privateKey));
    expect((await getText(`${rsa.url}/admin/queues`, bearer(admin))).status).toBe(200);
  });

  it('refuses HS256 tokens that use the public key PEM as the HMAC secret (algorithm confusion)', async () => {
    for (const secret of [publicPem, publicPem.trim(), publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()]) {
      const token = forgeToken({ alg: 'HS256', typ: 'JWT' }, claims('1', 'admin'), hmacSha256(secret));
      problem(await probe(token), 401, 'unauthorized');
      problem(await getText(`${rsa.url}/admin/queues`, bearer(token)), 401, 'unauthorized');
    }
  });

  it('refuses RS256 tokens signed with another key, alg none, and HS256 tokens signed with the old secret', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    problem(await probe(forgeToken({ alg: 'RS256', typ: 'JWT' }, claims('1'), rsaSha256(other))), 401, 'unauthorized');
    problem(await probe(forgeToken({ alg: 'none', typ: 'JWT' }, claims('1'))), 401, 'unauthorized');
    problem(await probe(rsa.token(1)), 401, 'unauthorized');
  });
});
