import SwaggerParser from '@apidevtools/swagger-parser';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBytes, getJson, postAvatar, waitForTerminal } from './support/http-client.js';
import { animatedGif, cmykJpeg, colourAt, png16, pngWithAlpha, sidewaysJpegWithGps, solidJpeg } from './support/images.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(async () => {
  await system?.close();
});

async function uploadAndFinish(userId: number, bytes: Buffer, contentType = 'image/jpeg') {
  const token = system.token(userId);
  const accepted = await postAvatar(system.url, userId, token, bytes, { contentType });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  const uploadId = accepted.body.uploadId as string;
  return { uploadId, accepted, final: await waitForTerminal(system.url, uploadId, token) };
}

describe('the avatar pipeline over real HTTP, Redis, PostgreSQL and FastDFS', () => {
  it('answers 202 with status and events URLs at once', async () => {
    const res = await postAvatar(system.url, 1, system.token(1), await solidJpeg(64, 64, { r: 1, g: 2, b: 3 }));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', statusUrl: `/v1/uploads/${res.body.uploadId as string}`, eventsUrl: `/v1/uploads/${res.body.uploadId as string}/events` });
    expect(res.headers.get('location')).toBe(res.body.statusUrl);
    await waitForTerminal(system.url, res.body.uploadId as string, system.token(1));
  });

  it('turns a sideways JPEG with GPS into an upright 512×512 WebP with no metadata, served by the dev server', async () => {
    const { final } = await uploadAndFinish(2, await sidewaysJpegWithGps());
    expect(final.status).toBe('done');
    expect(final.avatarUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/group1\/M00\//);
    const served = await fetchBytes(final.avatarUrl as string);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(served.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 512, 512]);
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    const top = await colourAt(served.body, 256, 40);
    const bottom = await colourAt(served.body, 256, 470);
    expect(top.r).toBeGreaterThan(200);
    expect(top.b).toBeLessThan(60);
    expect(bottom.b).toBeGreaterThan(200);
    expect(bottom.r).toBeLessThan(60);
  });

  it('stores every size as a slave of the master file and records it in user_detail', async () => {
    const { uploadId, final } = await uploadAndFinish(3, await solidJpeg(800, 600, { r: 10, g: 200, b: 10 }));
    expect(final.variants.map((v) => v.size).sort((a, b) => b - a)).toEqual([512, 256, 128, 64]);
    const master = final.variants.find((v) => v.size === 512)?.url as string;
    for (const variant of final.variants) {
      const got = await fetchBytes(variant.url);
      expect(got.status).toBe(200);
      const meta = await sharp(got.body).metadata();
      expect([meta.width, meta.height]).toEqual([variant.size, variant.size]);
      if (variant.size !== 512) expect(variant.url).toBe(master.replace(/\.webp$/, `_${variant.size}.webp`));
    }
    const row = await system.db('user_detail').where({ user_id: 3 }).first();
    expect(row.avatar).toBe(master);
    expect(row.avatar_upload_id).toBe(uploadId);
    expect(row.avatar_file_id).toBe(master.slice(master.indexOf('group1/')));

    const redirect = await getJson(`${system.url}/v1/users/3/avatar?size=128`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe(final.variants.find((v) => v.size === 128)?.url);
  });

  it('updates user_detail on a second upload and deletes the replaced files', async () => {
    const first = await uploadAndFinish(1, await solidJpeg(300, 300, { r: 200, g: 0, b: 0 }));
    const second = await uploadAndFinish(1, await solidJpeg(300, 300, { r: 0, g: 0, b: 200 }));
    expect(second.final.status).toBe('done');
    const row = await system.db('user_detail').where({ user_id: 1 }).first();
    expect(row.avatar_upload_id).toBe(second.uploadId);
    expect(row.avatar).toBe(second.final.avatarUrl);
    // the cleanup job removes the replaced set
    const deadline = Date.now() + 15_000;
    let status = 200;
    while (Date.now() < deadline && status !== 404) {
      status = (await fetchBytes(first.final.avatarUrl as string)).status;
      if (status !== 404) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(404);
    for (const v of first.final.variants) expect((await fetchBytes(v.url)).status).toBe(404);
  });

  it('keeps transparency of a PNG with alpha', async () => {
    const { final } = await uploadAndFinish(2, await pngWithAlpha(), 'image/png');
    const out = (await fetchBytes(final.avatarUrl as string)).body;
    expect((await sharp(out).metadata()).hasAlpha).toBe(true);
    expect((await colourAt(out, 10, 10)).a).toBeLessThan(10);
    const centre = await colourAt(out, 256, 256);
    expect(centre.a).toBeGreaterThan(245);
    expect(centre.g).toBeGreaterThan(150);
  });

  it('converts a CMYK JPEG to sRGB with the right colour', async () => {
    const { final } = await uploadAndFinish(2, await cmykJpeg());
    const out = (await fetchBytes(final.avatarUrl as string)).body;
    const meta = await sharp(out).metadata();
    expect(meta.space).toBe('srgb');
    const c = await colourAt(out, 256, 256);
    expect(c.r).toBeGreaterThan(150);
    expect(c.g).toBeLessThan(90);
    expect(c.b).toBeLessThan(90);
  });

  it('reduces a 16-bit PNG to an 8-bit avatar', async () => {
    const { final } = await uploadAndFinish(2, await png16(), 'image/png');
    const out = (await fetchBytes(final.avatarUrl as string)).body;
    const meta = await sharp(out).metadata();
    expect(meta.depth).toBe('uchar');
    expect((await colourAt(out, 256, 256)).b).toBeGreaterThan(180);
  });

  it('takes the first frame of an animated GIF', async () => {
    const { final } = await uploadAndFinish(2, await animatedGif(), 'image/gif');
    const out = (await fetchBytes(final.avatarUrl as string)).body;
    const meta = await sharp(out, { pages: -1 }).metadata();
    expect(meta.pages ?? 1).toBe(1);
    const c = await colourAt(out, 256, 256);
    expect(c.r).toBeGreaterThan(200);
    expect(c.g).toBeLessThan(60);
  });
});

describe('the OpenAPI document', () => {
  it('describes every v1 route from the same schemas that validate them', async () => {
    const doc = await getJson(`${system.url}/docs/json`);
    expect(doc.status).toBe(200);
    const paths = doc.body.paths as Record<string, Record<string, { parameters?: Array<{ name: string }> }>>;
    expect(Object.keys(paths).sort()).toEqual(['/v1/uploads/{uploadId}', '/v1/uploads/{uploadId}/events', '/v1/users/{userId}/avatar']);
    expect(Object.keys(paths['/v1/users/{userId}/avatar'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(paths['/v1/uploads/{uploadId}/events']?.get?.parameters?.map((p) => p.name).sort()).toEqual(['access_token', 'after', 'last-event-id', 'uploadId', 'wait']);
  });

  it('is a valid OpenAPI document', async () => {
    const doc = await getJson(`${system.url}/docs/json`);
    // validate() throws, naming the first error, on anything the OpenAPI 3.0 schema refuses
    const checked = (await SwaggerParser.validate(structuredClone(doc.body) as never)) as { openapi?: string };
    expect(checked.openapi).toMatch(/^3\./);
  });
});

describe('status polling', () => {
  it('answers 304 to a matching ETag until something changes, with Retry-After while not finished', async () => {
    await system.stopWorker();
    try {
      const token = system.token(1);
      const accepted = await postAvatar(system.url, 1, token, await solidJpeg(100, 100, { r: 5, g: 5, b: 5 }));
      const statusUrl = `${system.url}/v1/uploads/${accepted.body.uploadId as string}`;
      const first = await getJson(statusUrl, token);
      expect(first.status).toBe(200);
      expect(first.body.status).toBe('queued');
      expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
      const etag = first.headers.get('etag') as string;
      expect(etag).toBeTruthy();
      const again = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}`, 'if-none-match': etag } });
      expect(again.status).toBe(304);

      await system.startWorker();
      await waitForTerminal(system.url, accepted.body.uploadId as string, token);
      const changed = await getJson(statusUrl, token, { 'if-none-match': etag });
      expect(changed.status).toBe(200);
      expect(changed.body.status).toBe('done');
      expect(changed.headers.get('etag')).not.toBe(etag);
      expect(changed.headers.get('retry-after')).toBeNull();
    } finally {
      await system.startWorker();
    }
  });

  it('cuts a long wait to the cap instead of refusing it, and refuses a wait that is not a number', async () => {
    const token = system.token(3);
    const accepted = await postAvatar(system.url, 3, token, await solidJpeg(90, 90, { r: 3, g: 3, b: 3 }));
    await waitForTerminal(system.url, accepted.body.uploadId as string, token);
    const eventsUrl = `${system.url}/v1/uploads/${accepted.body.uploadId as string}/events`;
    // finished uploads answer at once, so a wait far over the cap still answers now, with 200
    const long = await getJson(`${eventsUrl}?after=0&wait=600`, token);
    expect(long.status).toBe(200);
    expect(long.body.status).toBe('done');
    const bad = await getJson(`${eventsUrl}?after=0&wait=soon`, token);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('wakes a long poll when the job moves, and returns the events in order', async () => {
    await system.stopWorker();
    try {
      const token = system.token(2);
      const accepted = await postAvatar(system.url, 2, token, await solidJpeg(100, 100, { r: 9, g: 9, b: 9 }));
      const eventsUrl = `${system.url}/v1/uploads/${accepted.body.uploadId as string}/events`;
      const initial = await getJson(`${eventsUrl}?after=0`, token);
      expect((initial.body.events as Array<{ seq: number; type: string }>).map((e) => [e.seq, e.type])).toEqual([[1, 'queued']]);

      const waiting = getJson(`${eventsUrl}?after=1&wait=25`, token);
      await new Promise((r) => setTimeout(r, 300));
      await system.startWorker();
      const woke = await waiting;
      const events = woke.body.events as Array<{ seq: number; type: string }>;
      // a time-out would have answered with no events
      expect(events.length).toBeGreaterThan(0);
      expect(events[0]).toMatchObject({ seq: 2, type: 'processing' });

      await waitForTerminal(system.url, accepted.body.uploadId as string, token);
      const all = await getJson(`${eventsUrl}?after=0`, token);
      const types = (all.body.events as Array<{ type: string }>).map((e) => e.type);
      expect(types[0]).toBe('queued');
      expect(types).toContain('stored');
      expect(types.at(-1)).toBe('done');
      expect((all.body.events as Array<{ seq: number }>).map((e) => e.seq)).toEqual(types.map((_, i) => i + 1));
    } finally {
      await system.startWorker();
    }
  });
});
