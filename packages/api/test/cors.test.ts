import http from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createLogger, loadConfig } from '@avatar/shared';
import { startApiRuntime, type ApiRuntime } from '../src/api-runtime.js';
import { readEventStream } from './support/event-stream.js';
import { getText, postAvatarText, type TextResponse } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { expectProblem } from './support/problem.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

const APP = 'http://app.example:8080';
const OTHER_APP = 'https://web.example';
const STRANGER = 'https://evil.example';
const UPLOADS_PER_USER = 8;

let system: TestSystem;
let jpeg: Buffer;

beforeAll(async () => {
  // no worker until the event-stream tests start one: the CORS tests need uploads only accepted
  system = await startTestSystem({
    worker: false,
    env: { CORS_ORIGINS: `${APP}, ${OTHER_APP}`, MAX_UPLOAD_BYTES: '100000', MAX_IMAGE_SIDE: '1000', RATE_LIMIT_UPLOADS_PER_USER: String(UPLOADS_PER_USER) },
  });
  jpeg = await solidJpeg(48, 48, { r: 200, g: 30, b: 30 });
});
afterAll(async () => {
  await system?.close();
});

interface Accepted {
  uploadId: string;
  statusUrl: string;
  eventsUrl: string;
  accessToken: string;
  accessTokenExpiresAt: string;
  eventStreamUrl: string;
}

function bearer(userId: number): Record<string, string> {
  return { authorization: `Bearer ${system.token(userId)}` };
}

async function accept(userId: number, headers: Record<string, string> = {}): Promise<Accepted> {
  const response = await postAvatarText(system.url, userId, system.token(userId), jpeg, { headers });
  expect(response.status, response.text).toBe(202);
  return JSON.parse(response.text) as Accepted;
}

function expectCors(response: { headers: Headers }, origin: string): void {
  expect(response.headers.get('access-control-allow-origin')).toBe(origin);
  expect(response.headers.get('vary') ?? '').toMatch(/origin/i);
}

function problem(response: TextResponse, status: number, code: string): void {
  expectProblem({ status: response.status, contentType: response.contentType, text: response.text }, status, code);
}

function listOf(header: string | null): string[] {
  return (header ?? '').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean);
}

describe('CORS_ORIGINS at config load', () => {
  const base = { NODE_ENV: 'test' as const };

  it('refuses * with a message that says why', () => {
    expect(() => loadConfig({ ...base, CORS_ORIGINS: '*' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, CORS_ORIGINS: `${APP},*` })).toThrow(/CORS_ORIGINS.*`\*` is not allowed.*credentials/s);
  });

  it.each(['app.example', 'https://app.example/', 'https://app.example/path', 'ftp://app.example', 'https://APP.example', 'null'])('refuses %s, which is not an exact origin', (origin) => {
    expect(() => loadConfig({ ...base, CORS_ORIGINS: origin })).toThrow(/CORS_ORIGINS.*must be an origin/s);
  });

  it('takes a list of exact origins, and none when unset', () => {
    expect(loadConfig({ ...base, CORS_ORIGINS: `${APP}, https://web.example:8443` }).cors.origins).toEqual([APP, 'https://web.example:8443']);
    expect(loadConfig(base).cors.origins).toEqual([]);
  });
});

describe('preflight', () => {
  const preflight = (origin: string, path = '/v1/users/1/avatar'): Promise<Response> =>
    fetch(`${system.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,idempotency-key' },
    });

  it('answers a POST with Authorization and Idempotency-Key from a listed origin with 204, cached for 600 s', async () => {
    const response = await preflight(APP);
    expect(response.status).toBe(204);
    expectCors(response, APP);
    expect(listOf(response.headers.get('access-control-allow-methods'))).toContain('post');
    expect(listOf(response.headers.get('access-control-allow-headers'))).toEqual(expect.arrayContaining(['authorization', 'idempotency-key']));
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('allows each listed origin on its own, never echoing another', async () => {
    const response = await preflight(OTHER_APP);
    expect(response.headers.get('access-control-allow-origin')).toBe(OTHER_APP);
  });

  it('gives an origin that is not listed no CORS headers', async () => {
    const response = await preflight(STRANGER);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('answers no preflight outside the public API', async () => {
    const response = await preflight(APP, '/admin/queues');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('answers to a listed origin', () => {
  it('expose Location, ETag, Retry-After and Idempotent-Replayed on the upload and its snapshot', async () => {
    const response = await postAvatarText(system.url, 1, system.token(1), jpeg, { headers: { origin: APP, 'idempotency-key': 'cors-1' } });
    expect(response.status).toBe(202);
    expectCors(response, APP);
    const exposed = listOf(response.headers.get('access-control-expose-headers'));
    expect(exposed).toEqual(expect.arrayContaining(['location', 'etag', 'retry-after', 'idempotent-replayed']));
    expect(response.headers.get('idempotent-replayed')).toBe('false');

    const { statusUrl } = JSON.parse(response.text) as Accepted;
    const snapshot = await getText(`${system.url}${statusUrl}`, { ...bearer(1), origin: APP });
    expect(snapshot.status).toBe(200);
    expectCors(snapshot, APP);
    expect(snapshot.headers.get('etag')).toBeTruthy();
    expect(snapshot.headers.get('retry-after')).toBe('2');
  });

  it('carry no CORS headers for an origin that is not listed, but still say Vary: Origin', async () => {
    const { statusUrl } = await accept(1);
    const response = await getText(`${system.url}${statusUrl}`, { ...bearer(1), origin: STRANGER });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-expose-headers')).toBeNull();
    expect(response.headers.get('vary') ?? '').toMatch(/origin/i);
  });

  it('keep the avatar redirect working for <img> from any page, with a cross-origin resource policy', async () => {
    const response = await getText(`${system.url}/v1/users/1/avatar?size=64`, { origin: STRANGER });
    // no avatar yet in this file's database: the 404 is what matters less than its headers
    expect([302, 404]).toContain(response.status);
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });

  it('leave the operator endpoints same-origin', async () => {
    const response = await getText(`${system.url}/health/live`, { origin: APP });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('refusals a browser on a listed origin can read', () => {
  it('401 from authentication, which answers before any route handler', async () => {
    const response = await postAvatarText(system.url, 2, undefined, jpeg, { headers: { origin: APP } });
    problem(response, 401, 'unauthorized');
    expectCors(response, APP);
    expect(listOf(response.headers.get('access-control-expose-headers'))).toContain('x-error-code');
  });

  it('413 file_too_large, refused while streaming', async () => {
    const response = await postAvatarText(system.url, 2, system.token(2), Buffer.alloc(150_000, 0x41), { headers: { origin: APP } });
    problem(response, 413, 'file_too_large');
    expectCors(response, APP);
  });

  it('415 unsupported_media_type', async () => {
    const response = await postAvatarText(system.url, 2, system.token(2), Buffer.from('plain text, not a picture'), { headers: { origin: APP } });
    problem(response, 415, 'unsupported_media_type');
    expectCors(response, APP);
  });

  it('422 image_too_large', async () => {
    const wide = await solidJpeg(1200, 40, { r: 10, g: 10, b: 10 });
    const response = await postAvatarText(system.url, 2, system.token(2), wide, { headers: { origin: APP } });
    problem(response, 422, 'image_too_large');
    expectCors(response, APP);
  });

  it('429 rate_limited, with its Retry-After exposed', async () => {
    let response: TextResponse | undefined;
    for (let i = 0; i <= UPLOADS_PER_USER; i++) {
      response = await postAvatarText(system.url, 3, system.token(3), jpeg, { headers: { origin: APP } });
    }
    problem(response as TextResponse, 429, 'rate_limited');
    expectCors(response as TextResponse, APP);
    expect(Number(response?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(listOf(response?.headers.get('access-control-expose-headers') ?? null)).toContain('retry-after');
  });

  it('404 for a route that does not exist', async () => {
    const response = await getText(`${system.url}/v1/nothing-here`, { origin: APP });
    problem(response, 404, 'not_found');
    expectCors(response, APP);
  });
});

describe('upload tokens', () => {
  let upload: Accepted;
  let other: Accepted;

  beforeAll(async () => {
    upload = await accept(1);
    other = await accept(1);
  });

  it('come with the 202: a token, its expiry and a stream URL that carries it', () => {
    expect(upload.accessToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(upload.eventStreamUrl).toBe(`/v1/uploads/${upload.uploadId}/events?access_token=${upload.accessToken}`);
    const ttl = (Date.parse(upload.accessTokenExpiresAt) - Date.now()) / 1000;
    // a token lives more than half its TTL (600 s here) and never longer: see uploadTokenExpiry
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(600);
    expect(upload.accessToken).not.toBe(system.token(1));
  });

  it('read that upload\'s snapshot and long poll without Authorization, and the snapshot hands the same token back', async () => {
    const snapshot = await getText(`${system.url}${upload.statusUrl}?access_token=${upload.accessToken}`);
    expect(snapshot.status, snapshot.text).toBe(200);
    expect(JSON.parse(snapshot.text)).toMatchObject({ id: upload.uploadId, status: 'queued', accessToken: upload.accessToken, accessTokenExpiresAt: upload.accessTokenExpiresAt });
    const poll = await getText(`${system.url}${upload.eventsUrl}?after=0&access_token=${upload.accessToken}`);
    expect(poll.status, poll.text).toBe(200);
    expect(JSON.parse(poll.text)).toMatchObject({ uploadId: upload.uploadId, events: [{ seq: 1, type: 'queued' }] });
  });

  it('a bearer snapshot issues a fresh token for the upload', async () => {
    const snapshot = await getText(`${system.url}${upload.statusUrl}`, bearer(1));
    const body = JSON.parse(snapshot.text) as Accepted;
    expect(body.accessToken).toBeTruthy();
    const again = await getText(`${system.url}${upload.statusUrl}?access_token=${body.accessToken}`);
    expect(again.status).toBe(200);
  });

  it('read nothing else: another upload of the same user is not found', async () => {
    problem(await getText(`${system.url}${other.statusUrl}?access_token=${upload.accessToken}`), 404, 'upload_not_found');
    problem(await getText(`${system.url}${other.eventsUrl}?access_token=${upload.accessToken}`), 404, 'upload_not_found');
  });

  it('are never bearer tokens: refused in Authorization on a POST and on the snapshot', async () => {
    problem(await postAvatarText(system.url, 1, upload.accessToken, jpeg), 401, 'unauthorized');
    problem(await getText(`${system.url}${upload.statusUrl}`, { authorization: `Bearer ${upload.accessToken}` }), 401, 'unauthorized');
    problem(await postAvatarText(`${system.url}`, 1, undefined, jpeg, { headers: {} }), 401, 'unauthorized');
  });

  it('are not taken from the query by other routes, and a bearer token is no upload token', async () => {
    const response = await fetch(`${system.url}/v1/users/1/avatar?access_token=${upload.accessToken}`, { method: 'POST', body: new FormData() });
    expect(response.status).toBe(401);
    problem(await getText(`${system.url}${upload.statusUrl}?access_token=${system.token(1)}`), 401, 'unauthorized');
    problem(await getText(`${system.url}${upload.statusUrl}?access_token=not-a-token`), 401, 'unauthorized');
  });
});

describe('events as a stream', () => {
  let finished: Accepted;
  let lastSeq: number;

  beforeAll(async () => {
    finished = await accept(1);
  });

  it('streams every event live until the terminal one, then ends', async () => {
    // the stream opens while the upload is queued, and follows it to done as the worker runs
    const streamed = readEventStream(`${system.url}${finished.eventStreamUrl}`, { origin: APP });
    await system.startWorker();
    const stream = await streamed;
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['access-control-allow-origin']).toBe(APP);
    expect(stream.retry).toBeGreaterThan(0);
    const types = stream.frames.map((f) => f.event);
    expect(types[0]).toBe('queued');
    expect(types).toContain('processing');
    expect(types.at(-1)).toBe('done');
    stream.frames.forEach((frame, i) => {
      expect(frame.id).toBe(String(i + 1));
      expect(frame.data).toMatchObject({ seq: i + 1, type: frame.event });
    });
    expect((stream.frames.at(-1)?.data?.data as { variants: unknown[] }).variants).toHaveLength(4);
    lastSeq = Number(stream.frames.at(-1)?.id);
  });

  it('resumes after Last-Event-ID', async () => {
    const stream = await readEventStream(`${system.url}${finished.eventsUrl}`, { ...bearer(1), 'last-event-id': '2' });
    expect(stream.frames[0]?.id).toBe('3');
    expect(stream.frames.at(-1)?.event).toBe('done');
    expect(stream.frames).toHaveLength(lastSeq - 2);
  });

  it('resumes after `after` too', async () => {
    const stream = await readEventStream(`${system.url}${finished.eventsUrl}?after=${lastSeq - 1}`, bearer(1));
    expect(stream.frames.map((f) => f.event)).toEqual(['done']);
  });

  it('answers 204 once the upload has finished and nothing is left, so EventSource stops reconnecting', async () => {
    const stream = await readEventStream(`${system.url}${finished.eventStreamUrl}`, { 'last-event-id': String(lastSeq) });
    expect(stream.status).toBe(204);
    expect(stream.frames).toEqual([]);
  });

  it('refuses a Last-Event-ID that is no sequence number', async () => {
    const response = await getText(`${system.url}${finished.eventsUrl}`, { ...bearer(1), accept: 'text/event-stream', 'last-event-id': 'abc' });
    problem(response, 400, 'validation_failed');
  });

  it('leaves the long poll as it was for JSON clients', async () => {
    const poll = await getText(`${system.url}${finished.eventsUrl}?after=0`, bearer(1));
    expect(poll.contentType).toMatch(/^application\/json/);
    expect((JSON.parse(poll.text) as { events: unknown[] }).events).toHaveLength(lastSeq);
  });
});

describe('an API with CORS_ORIGINS unset, logging at info', () => {
  let api: ApiRuntime;
  let closing: Promise<void> | undefined;
  const lines: string[] = [];

  beforeAll(async () => {
    const config = { ...system.config, logLevel: 'info' as const, cors: { origins: [] }, http: { ...system.config.http, port: 0 } };
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    api = await startApiRuntime(config, createLogger({ level: 'info', name: 'cors-test', destination: sink }), system.fastdfs);
  });
  afterAll(async () => {
    await (closing ?? api?.close());
  });

  it('is same-origin only: no CORS headers at all', async () => {
    const response = await postAvatarText(api.url, 2, system.token(2), jpeg, { headers: { origin: APP } });
    expect(response.status).toBe(202);
    expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    const preflight = await fetch(`${api.url}/v1/users/2/avatar`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('never logs an upload token, while the request line keeps its path', async () => {
    const upload = await accept(2);
    const response = await getText(`${api.url}${upload.statusUrl}?access_token=${upload.accessToken}`);
    expect(response.status).toBe(200);
    const logged = lines.join('\n');
    expect(logged).toContain(`${upload.statusUrl}?access_token=[Redacted]`);
    expect(logged).not.toContain(upload.accessToken);
    expect(logged).not.toContain(upload.accessToken.split('.')[2]);
  });

  it('never logs a refused upload token either (401 with a bad token in the query)', async () => {
    const upload = await accept(2);
    // a real token with one signature character changed: well-formed, refused by the signature check
    const last = upload.accessToken.at(-2) === 'A' ? 'B' : 'A';
    const bad = `${upload.accessToken.slice(0, -2)}${last}${upload.accessToken.slice(-1)}`;
    for (const url of [`${api.url}${upload.statusUrl}?access_token=${bad}`, `${api.url}${upload.eventsUrl}?after=0&access_token=${bad}`]) {
      problem(await getText(url), 401, 'unauthorized');
    }
    problem(await getText(`${api.url}${upload.eventsUrl}?access_token=${bad}`, { accept: 'text/event-stream' }), 401, 'unauthorized');
    const logged = lines.join('\n');
    expect(logged).toContain(`${upload.statusUrl}?access_token=[Redacted]`);
    expect(logged).toMatch(/"statusCode":401/);
    expect(logged).not.toContain(bad);
    expect(logged).not.toContain(bad.split('.')[2]);
    expect(logged).not.toContain(upload.accessToken.split('.')[2]);
  });

  it('ends open event streams as soon as it starts draining', async () => {
    // without a worker the upload stays queued and its stream open; the worker comes back for
    // whatever runs after this test on the shared system
    await system.stopWorker();
    try {
      await endsStreamsWhenDraining();
    } finally {
      await system.startWorker();
    }
  });

  async function endsStreamsWhenDraining(): Promise<void> {
    const pending = await accept(2);
    const ended = new Promise<{ text: string; ms: number }>((resolve, reject) => {
      http.get(`${api.url}${pending.eventStreamUrl}`, { headers: { accept: 'text/event-stream' } }, (response) => {
        let text = '';
        let startedAt = 0;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
          if (startedAt === 0) {
            startedAt = Date.now();
            closing = api.close();
          }
        });
        response.on('end', () => resolve({ text, ms: Date.now() - startedAt }));
        response.on('error', reject);
      }).on('error', reject);
    });
    const { text, ms } = await ended;
    expect(text).toContain('event: queued');
    // bound from the task: promptly, not at the 60 s end of the stream nor after a heartbeat
    expect(ms).toBeLessThan(5_000);
    await closing;
  }
});
