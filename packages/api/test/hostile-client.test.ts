import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, getText, postAvatar, waitForTerminal } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { expectProblem } from './support/problem.js';
import { filesLeftIn, multipartBody, rawExchange, rawPost, requestHead, type RawResponse } from './support/raw-http.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

/**
 * What a hostile client found against the running API: long polls closed unanswered,
 * sequence numbers past int4, a file part without a declared type refused as text/plain, a
 * client abort logged as our failure, slow headers answered 400 after a minute, and an
 * OpenAPI document that did not describe the real answers.
 *
 * The body timeout is small, so the old idle-connection timeout (body timeout + 15 s) is
 * 16 s and a long poll that outlasts it stays within the test's time.
 */
const BODY_TIMEOUT_MS = 1_000;
const OLD_CONNECTION_TIMEOUT_MS = BODY_TIMEOUT_MS + 15_000;
const HEADERS_TIMEOUT_MS = 500;
const USER = 2;

let system: TestSystem;
let token: string;
let jpeg: Buffer;
/** Stays `queued`: the worker starts only where a test needs the job to move. */
let queuedUploadId: string;
const avatarPath = `/v1/users/${USER}/avatar`;

beforeAll(async () => {
  system = await startTestSystem({
    worker: false,
    env: { UPLOAD_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS), HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) },
  });
  token = system.token(USER);
  jpeg = await solidJpeg(48, 48, { r: 10, g: 120, b: 200 });
  const accepted = await postAvatar(system.url, USER, token, jpeg);
  expect(accepted.status).toBe(202);
  queuedUploadId = accepted.body.uploadId as string;
});
afterAll(async () => {
  await system?.close();
});

function eventsUrl(uploadId: string, query: string): string {
  return `${system.url}/v1/uploads/${uploadId}/events?${query}`;
}

function problemOf(response: RawResponse): { status: number; contentType: string | undefined; text: string } {
  return { status: response.status, contentType: response.headers['content-type'], text: response.text };
}

async function metricsText(): Promise<string> {
  const response = await getText(`${system.url}/metrics`, { authorization: `Bearer ${system.token(1, { admin: true })}` });
  expect(response.status).toBe(200);
  return response.text;
}

describe('a long poll always ends with an answer', () => {
  it('answers 200 with no events to 200 concurrent polls whose wait outlasts the old idle-connection timeout', async () => {
    const waitSeconds = Math.ceil(OLD_CONNECTION_TIMEOUT_MS / 1000) + 1;
    const polls = await Promise.all(
      Array.from({ length: 200 }, () => getJson(eventsUrl(queuedUploadId, `after=1&wait=${waitSeconds}`), token).catch((error: unknown) => error as Error)),
    );
    const statuses = polls.map((poll) => (poll instanceof Error ? poll.message : poll.status));
    expect(new Set(statuses)).toEqual(new Set([200]));
    for (const poll of polls) {
      if (poll instanceof Error) continue;
      expect(poll.body).toMatchObject({ uploadId: queuedUploadId, status: 'queued', events: [], lastSeq: 1 });
    }
  });

  it('answers 200 concurrent short polls, none of them serialised behind another', async () => {
    const polls = await Promise.all(Array.from({ length: 200 }, () => getJson(eventsUrl(queuedUploadId, 'after=1&wait=1'), token)));
    expect(polls.map((poll) => poll.status)).toEqual(polls.map(() => 200));
  });

  it('wakes 200 polls waiting on one upload with the event that moved it', async () => {
    const polls = Promise.all(Array.from({ length: 200 }, () => getJson(eventsUrl(queuedUploadId, 'after=1&wait=30'), token)));
    await sleep(500);
    await system.startWorker();
    const answered = await polls;
    for (const poll of answered) {
      expect(poll.status).toBe(200);
      // a time-out would have answered with no events
      expect((poll.body.events as Array<{ seq: number; type: string }>)[0]).toMatchObject({ seq: 2, type: 'processing' });
    }
  });
});

describe('sequence numbers past what the column holds', () => {
  it('refuses after=2147483648 with 400 validation_failed instead of failing in SQL', async () => {
    const response = await getText(eventsUrl(queuedUploadId, 'after=2147483648'), { authorization: `Bearer ${token}` });
    expectProblem(response, 400, 'validation_failed');
  });

  it('answers the largest int4 sequence with an empty list', async () => {
    const response = await getJson(eventsUrl(queuedUploadId, 'after=2147483647'), token);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ events: [], lastSeq: 2147483647 });
  });
});

describe('a file part without a declared type is judged by its bytes', () => {
  async function declaredTypeOf(response: RawResponse): Promise<unknown> {
    expect(response.status, response.text).toBe(202);
    const row = (await system.db('uploads').where({ id: response.json().uploadId as string }).first()) as { declared_type: string | null };
    return row.declared_type;
  }

  function postParts(body: Buffer, contentType: string): Promise<RawResponse> {
    return rawPost(system.url, avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType }, body);
  }

  it('accepts a JPEG part with no Content-Type header and records no declared type', async () => {
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'me.jpg', data: jpeg }]);
    expect(await declaredTypeOf(await postParts(body, contentType))).toBeNull();
  });

  it('accepts a JPEG part whose Content-Type header is empty', async () => {
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'me.jpg', data: jpeg, headers: ['Content-Type: '] }]);
    expect(await declaredTypeOf(await postParts(body, contentType))).toBeNull();
  });

  it('accepts a JPEG part whose Content-Type comes after more part headers than are read', async () => {
    const junk = Array.from({ length: 30 }, (_, i) => `X-Junk-${i}: y`);
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'me.jpg', data: jpeg, headers: [...junk, 'Content-Type: image/jpeg'] }]);
    expect(await declaredTypeOf(await postParts(body, contentType))).toBeNull();
  });

  it('still refuses a JPEG declared as text/html with 415 unsupported_media_type', async () => {
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'me.html', contentType: 'text/html', data: jpeg }]);
    expectProblem(problemOf(await postParts(body, contentType)), 415, 'unsupported_media_type');
    expect(await filesLeftIn(system.stagingDir)).toEqual([]);
  });
});

describe('a client that aborts in the middle of its body', () => {
  it('is recorded as client_aborted, not as a server failure, and leaves nothing staged', async () => {
    // staging holds nothing of earlier tests once their upload has finished
    await system.startWorker();
    await waitForTerminal(system.url, queuedUploadId, token);
    const big = Buffer.concat([jpeg, Buffer.alloc(200_000, 7)]);
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'cut.jpg', contentType: 'image/jpeg', data: big }]);
    await new Promise<void>((resolve) => {
      void rawExchange(system.url, async (socket) => {
        socket.write(requestHead('POST', avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': body.length }));
        socket.write(body.subarray(0, 100_000));
        await sleep(200);
        socket.destroy();
        resolve();
      }).catch(() => undefined);
    });
    expect(await filesLeftIn(system.stagingDir)).toEqual([]);
    // the refusal is counted once its handler has run; poll the metrics until it shows
    let metrics = '';
    for (let i = 0; i < 50 && !metrics.includes('code="client_aborted"'); i++) {
      await sleep(100);
      metrics = await metricsText();
    }
    expect(metrics).toMatch(/avatar_uploads_refused_total\{code="client_aborted"\} 1/);
    expect(metrics).not.toMatch(/http_request_duration_seconds_count\{method="POST",route="\/v1\/users\/:userId\/avatar",status="5\d\d"\}/);
  });
});

describe('refused uploads in the metrics', () => {
  const refusedCount = (metrics: string, code: string): number =>
    Number(new RegExp(`^avatar_uploads_refused_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);

  it('counts each refusal of the upload route by its code, whoever refused it, and nothing another route refuses', async () => {
    const before = await metricsText();
    // refused by authentication (an onRequest hook), by the handler, and by another route
    expectProblem(problemOf(await rawPost(system.url, avatarPath, { 'content-type': 'image/png' }, Buffer.from('x'))), 401, 'unauthorized');
    const { body, contentType } = multipartBody([{ name: 'file', filename: 'me.html', contentType: 'text/html', data: jpeg }]);
    expectProblem(problemOf(await rawPost(system.url, avatarPath, { authorization: `Bearer ${token}`, 'content-type': contentType }, body)), 415, 'unsupported_media_type');
    expect((await getText(`${system.url}/v1/uploads/00000000-0000-4000-8000-000000000000`, { authorization: `Bearer ${token}` })).status).toBe(404);
    // counted once each answer has gone out: poll until both show
    let after = await metricsText();
    for (let i = 0; i < 50 && (refusedCount(after, 'unauthorized') === refusedCount(before, 'unauthorized') || refusedCount(after, 'unsupported_media_type') === refusedCount(before, 'unsupported_media_type')); i++) {
      await sleep(100);
      after = await metricsText();
    }
    expect(refusedCount(after, 'unauthorized') - refusedCount(before, 'unauthorized')).toBe(1);
    expect(refusedCount(after, 'unsupported_media_type') - refusedCount(before, 'unsupported_media_type')).toBe(1);
    expect(after).not.toContain('avatar_uploads_refused_total{code="upload_not_found"}');
  });
});

describe('a client that never finishes its headers', () => {
  it('answers 408 request_timeout to each of 20 slow-header connections', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        rawExchange(system.url, async (socket, answered) => {
          socket.write(`GET /health/live HTTP/1.1\r\nhost: 127.0.0.1\r\n`);
          // one header byte now and then: alive, never finished
          while (!answered.aborted && !socket.destroyed) {
            await sleep(100);
            if (!answered.aborted && !socket.destroyed) socket.write('x');
          }
        }),
      ),
    );
    for (const response of responses) {
      expectProblem(problemOf(response), 408, 'request_timeout');
      expect(response.headers.connection).toBe('close');
    }
  });
});

describe('the OpenAPI document is the contract the server keeps', () => {
  type Responses = Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
  type Operation = { responses: Responses; requestBody?: { required?: boolean; content: Record<string, { schema: Record<string, unknown> }> }; parameters?: Array<{ name: string; schema: Record<string, unknown> }> };
  let paths: Record<string, Record<string, Operation>>;

  beforeAll(async () => {
    const doc = await getJson(`${system.url}/docs/json`);
    expect(doc.status).toBe(200);
    paths = doc.body.paths as typeof paths;
  });

  it('documents the upload as a multipart body with a binary "file" part, and the Location of the 202', () => {
    const post = paths['/v1/users/{userId}/avatar']?.post;
    const form = post?.requestBody?.content['multipart/form-data']?.schema;
    expect(post?.requestBody?.required).toBe(true);
    expect(form).toMatchObject({ type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } });
    expect(Object.keys(post?.responses['202']?.headers ?? {})).toContain('location');
  });

  it('documents the avatar redirect as a 302 with a Location and no body', () => {
    const redirect = paths['/v1/users/{userId}/avatar']?.get?.responses['302'];
    expect(redirect).toBeDefined();
    expect(Object.keys(redirect?.headers ?? {})).toContain('location');
    expect(redirect?.content).toBeUndefined();
  });

  it('documents ETag and Retry-After on the snapshot, and a 304 without a body', () => {
    const responses = paths['/v1/uploads/{uploadId}']?.get?.responses ?? {};
    expect(Object.keys(responses['200']?.headers ?? {}).sort()).toEqual(['etag', 'retry-after']);
    expect(Object.keys(responses['304']?.headers ?? {})).toContain('etag');
    expect(responses['304']?.content).toBeUndefined();
  });

  it('documents the int4 bound of `after`', () => {
    const after = paths['/v1/uploads/{uploadId}/events']?.get?.parameters?.find((p) => p.name === 'after');
    expect(after?.schema.maximum).toBe(2147483647);
  });

  it('sends a real 304 with no body at all', async () => {
    // a finished upload, so its ETag holds still between the two requests
    await system.startWorker();
    await waitForTerminal(system.url, queuedUploadId, token);
    const first = await getJson(`${system.url}/v1/uploads/${queuedUploadId}`, token);
    const etag = first.headers.get('etag') as string;
    const response = await rawExchange(
      system.url,
      requestHead('GET', `/v1/uploads/${queuedUploadId}`, { authorization: `Bearer ${token}`, 'if-none-match': etag, connection: 'close' }),
    );
    expect(response.status).toBe(304);
    expect(response.headers.etag).toBe(etag);
    expect(response.headers['content-length'] ?? '0').toBe('0');
    expect(response.text).toBe('');
  });
});
