import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUploadTokens, uploadTokenExpiry } from '../src/domain/upload-token.js';
import { getText, postAvatarText } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

const SECRET = 'upload-token-test-secret-0123456789';
const UPLOAD = { id: '6b0c8c5e-4a57-4a3e-9a55-0c3d3e9f0a11', userId: 1 };

describe('uploadTokenExpiry', () => {
  it('gives every token of one half-TTL period the same expiry, more than half the TTL and at most the TTL away', () => {
    const ttl = 600;
    for (let now = 1_000_000; now < 1_000_000 + 2 * ttl; now += 7) {
      const exp = uploadTokenExpiry(now, ttl);
      expect(exp - now).toBeGreaterThan(ttl / 2);
      expect(exp - now).toBeLessThanOrEqual(ttl);
      expect(uploadTokenExpiry(Math.floor(now / 300) * 300, ttl)).toBe(exp);
    }
  });

  it('never exceeds a TTL of one second', () => {
    expect(uploadTokenExpiry(1_000, 1)).toBe(1_001);
  });
});

describe('upload tokens issued on a clock', () => {
  let clockMs = 1_700_000_100_000;
  const tokens = createUploadTokens({ secret: SECRET, ttlSeconds: 600, now: () => clockMs });

  it('are the same token within a period, and a new one once it turns', () => {
    const first = tokens.issue(UPLOAD);
    clockMs += 100_000;
    expect(tokens.issue(UPLOAD)).toEqual(first);
    clockMs = first.expiresAt.getTime() - 300_000;
    const next = tokens.issue(UPLOAD);
    expect(next.token).not.toBe(first.token);
    expect(next.expiresAt.getTime()).toBe(first.expiresAt.getTime() + 300_000);
  });
});

describe('a snapshot revalidated with If-None-Match', () => {
  let system: TestSystem;
  let jpeg: Buffer;

  beforeAll(async () => {
    // a 2 s TTL: periods of 1 s, so the test can wait for one to turn
    system = await startTestSystem({ worker: false, env: { UPLOAD_TOKEN_TTL_SECONDS: '2' } });
    jpeg = await solidJpeg(24, 24, { r: 1, g: 2, b: 3 });
  });
  afterAll(async () => {
    await system?.close();
  });

  it('gets 304 only while the cached upload token has more than half its life left, then 200 with a fresh one', async () => {
    const accepted = await postAvatarText(system.url, 1, system.token(1), jpeg);
    const { statusUrl } = JSON.parse(accepted.text) as { statusUrl: string };
    const bearer = { authorization: `Bearer ${system.token(1)}` };

    const first = await getText(`${system.url}${statusUrl}`, bearer);
    const cached = JSON.parse(first.text) as { accessToken: string; accessTokenExpiresAt: string };
    const etag = first.headers.get('etag') ?? '';
    const expiresAt = Date.parse(cached.accessTokenExpiresAt);

    // wait until the cached token has at most half its life (1 s) left
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - 1_000 - Date.now()) + 50));
    const revalidated = await getText(`${system.url}${statusUrl}`, { ...bearer, 'if-none-match': etag });
    expect(revalidated.status).toBe(200);
    expect(revalidated.headers.get('etag')).not.toBe(etag);
    const fresh = JSON.parse(revalidated.text) as { accessToken: string; accessTokenExpiresAt: string };
    expect(fresh.accessToken).not.toBe(cached.accessToken);
    expect(Date.parse(fresh.accessTokenExpiresAt)).toBeGreaterThan(expiresAt);
  });

  it('gets 304 from the upload token\'s own reads, whose body always carries that same token', async () => {
    const accepted = await postAvatarText(system.url, 1, system.token(1), jpeg);
    const { statusUrl, accessToken } = JSON.parse(accepted.text) as { statusUrl: string; accessToken: string };
    const first = await getText(`${system.url}${statusUrl}?access_token=${accessToken}`);
    expect(first.status).toBe(200);
    const again = await getText(`${system.url}${statusUrl}?access_token=${accessToken}`, { 'if-none-match': first.headers.get('etag') ?? '' });
    expect(again.status).toBe(304);
  });
});
