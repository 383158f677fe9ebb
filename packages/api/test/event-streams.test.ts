import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '@avatar/shared';
import { HeldConnections, holdKeys } from '../src/domain/held-connections.js';
import { readEventStream } from './support/event-stream.js';
import { getText, postAvatarText } from './support/http-client.js';
import { solidJpeg } from './support/images.js';
import { expectProblem } from './support/problem.js';
import { startTestSystem, type TestSystem } from './support/test-system.js';

interface Accepted {
  uploadId: string;
  eventsUrl: string;
  eventStreamUrl: string;
}

/** the defaults, which the test system otherwise turns off */
const PER_USER = 20;
const PER_UPLOAD_TOKEN = 5;

let system: TestSystem;
let jpeg: Buffer;
/** streams a test opened and has not closed yet; closed after each test whatever happened */
const open = new Set<OpenStream>();

beforeAll(async () => {
  // no worker: uploads stay queued, so their streams stay open until the test closes them
  system = await startTestSystem({ worker: false, env: { HELD_CONNECTIONS_PER_USER: String(PER_USER), HELD_CONNECTIONS_PER_UPLOAD_TOKEN: String(PER_UPLOAD_TOKEN) } });
  jpeg = await solidJpeg(32, 32, { r: 20, g: 120, b: 200 });
});
afterEach(() => {
  for (const stream of open) stream.close();
});
afterAll(async () => {
  await system?.close();
});

function bearer(userId: number): Record<string, string> {
  return { authorization: `Bearer ${system.token(userId)}` };
}

async function accept(userId: number): Promise<Accepted> {
  const response = await postAvatarText(system.url, userId, system.token(userId), jpeg);
  expect(response.status, response.text).toBe(202);
  return JSON.parse(response.text) as Accepted;
}

interface OpenStream {
  status: number;
  close(): void;
}

/** Opens an event stream and resolves once its answer's head arrived (the server holds its slot by then); the stream stays open until `close`. */
function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => {
      response.resume();
      const stream: OpenStream = {
        status: response.statusCode ?? 0,
        close: () => {
          request.destroy();
          open.delete(stream);
        },
      };
      open.add(stream);
      resolve(stream);
    });
    request.on('error', (error) => {
      if (!request.destroyed) reject(error);
    });
  });
}

/** Entries AbortSignal.any() leaves on a signal it follows: Node keeps them in an internal set, which Node 20 never empties. */
function dependantSignals(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((symbol) => symbol.description === 'kDependantSignals');
  const set: unknown = key === undefined ? undefined : (signal as unknown as Record<symbol, unknown>)[key];
  return set instanceof Set ? set.size : 0;
}

describe('event streams and the drain signal', () => {
  it('leave nothing on the app-long drain signal once they are closed: one listener per open stream, none after', async () => {
    const drain = system.api.app.drainSignal;
    const before = getEventListeners(drain, 'abort').length;
    const upload = await accept(1);
    for (let round = 0; round < 3; round++) {
      const streams = await Promise.all([1, 2, 3, 4].map(() => openStream(`${system.url}${upload.eventsUrl}`, bearer(1))));
      expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200]);
      expect(getEventListeners(drain, 'abort')).toHaveLength(before + 4);
      streams.forEach((s) => s.close());
      await vi.waitFor(() => expect(getEventListeners(drain, 'abort')).toHaveLength(before), { timeout: 5_000 });
    }
    expect(dependantSignals(drain)).toBe(0);
  });
});

describe('a retried upload\'s stream', () => {
  /** An upload that failed, was retried by an operator and then finished: queued, processing, failed, retried, processing, done. */
  async function retriedUpload(): Promise<string> {
    const id = randomUUID();
    const journal = system.repos.journal;
    await journal.accept({ id, userId: 1, idempotencyKey: null, declaredType: 'image/png', detectedType: 'image/png', sizeBytes: 8, sha256: 'x', width: 1, height: 1, stagedPath: `${system.stagingDir}/${id}.upload` });
    await journal.record(id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
    await journal.record(id, { status: 'failed', patch: { errorCode: 'storage_unavailable', errorMessage: 'no storage' }, event: { type: 'failed', data: { code: 'storage_unavailable', message: 'no storage' } } });
    expect((await journal.reopenFailed(id, async () => true)).kind).toBe('reopened');
    await journal.record(id, { status: 'processing', event: { type: 'processing', data: { attempt: 1 } } });
    await journal.record(id, { status: 'done', patch: { progress: 100 }, event: { type: 'done', data: { avatarUrl: 'http://files.example/a.webp', variants: [] } } });
    return id;
  }

  it('replays past the old `failed` to `retried` and on to `done`, from the start and from before the failure', async () => {
    const id = await retriedUpload();
    const fromStart = await readEventStream(`${system.url}/v1/uploads/${id}/events?after=0`, bearer(1));
    expect(fromStart.frames.map((f) => f.event)).toEqual(['queued', 'processing', 'failed', 'retried', 'processing', 'done']);
    const resumed = await readEventStream(`${system.url}/v1/uploads/${id}/events`, { ...bearer(1), 'last-event-id': '2' });
    expect(resumed.frames.map((f) => f.event)).toEqual(['failed', 'retried', 'processing', 'done']);
  });

  it('still ends at a `failed` that is the latest event', async () => {
    const id = randomUUID();
    const journal = system.repos.journal;
    await journal.accept({ id, userId: 1, idempotencyKey: null, declaredType: 'image/png', detectedType: 'image/png', sizeBytes: 8, sha256: 'x', width: 1, height: 1, stagedPath: `${system.stagingDir}/${id}.upload` });
    await journal.record(id, { status: 'failed', patch: { errorCode: 'image_undecodable', errorMessage: 'bad' }, event: { type: 'failed', data: { code: 'image_undecodable', message: 'bad' } } });
    const stream = await readEventStream(`${system.url}/v1/uploads/${id}/events?after=0`, bearer(1));
    expect(stream.frames.map((f) => f.event)).toEqual(['queued', 'failed']);
  });
});

describe('held-connection limits', () => {
  const [perUser, perUploadToken] = [PER_USER, PER_UPLOAD_TOKEN];

  it('default to 20 per user and 5 per upload token', () => {
    const defaults = loadConfig({}).rateLimit;
    expect([defaults.heldConnectionsPerUser, defaults.heldConnectionsPerUploadToken]).toEqual([PER_USER, PER_UPLOAD_TOKEN]);
  });

  it('count an upload token\'s streams and long polls against that upload: past the limit 429 rate_limited with Retry-After, a slot again once one closes', async () => {
    const upload = await accept(2);
    const streams = await Promise.all(Array.from({ length: perUploadToken }, () => openStream(`${system.url}${upload.eventStreamUrl}`)));
    expect(streams.every((s) => s.status === 200)).toBe(true);

    const refused = await getText(`${system.url}${upload.eventStreamUrl}`, { accept: 'text/event-stream' });
    expectProblem({ status: refused.status, contentType: refused.contentType, text: refused.text }, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(JSON.parse(refused.text)).toMatchObject({ limit: perUploadToken });
    const poll = await getText(`${system.url}${upload.eventsUrl}?after=1&wait=1&access_token=${new URL(upload.eventStreamUrl, system.url).searchParams.get('access_token')}`);
    expect(poll.status).toBe(429);
    // the user's bearer token is another principal, under its own (larger) limit
    const withBearer = await openStream(`${system.url}${upload.eventsUrl}`, bearer(2));
    expect(withBearer.status).toBe(200);

    streams[0]?.close();
    await vi.waitFor(async () => {
      const again = await openStream(`${system.url}${upload.eventStreamUrl}`);
      again.close();
      expect(again.status).toBe(200);
    }, { timeout: 5_000 });
  });

  it(`count a user's streams on any of their uploads, ${perUser} at most`, async () => {
    const uploads = [await accept(3), await accept(3)];
    const streams = await Promise.all(Array.from({ length: perUser }, (_, i) => openStream(`${system.url}${uploads[i % 2]?.eventsUrl}`, bearer(3))));
    expect(streams.every((s) => s.status === 200)).toBe(true);
    const refused = await getText(`${system.url}${uploads[0]?.eventsUrl}?after=0&wait=0`, bearer(3));
    expectProblem({ status: refused.status, contentType: refused.contentType, text: refused.text }, 429, 'rate_limited');
    expect(JSON.parse(refused.text)).toMatchObject({ limit: perUser });
    // another user is not affected
    const other = await accept(1);
    expect((await getText(`${system.url}${other.eventsUrl}?after=0&wait=0`, bearer(1))).status).toBe(200);
  });

  it('give every slot back when the answers end: a quick long poll holds none afterwards', async () => {
    const upload = await accept(1);
    for (let i = 0; i < perUser + 2; i++) {
      expect((await getText(`${system.url}${upload.eventsUrl}?after=0&wait=0`, bearer(1))).status).toBe(200);
    }
  });
});

describe('HeldConnections', () => {
  it('takes a slot under every key or none, and a release counts once', () => {
    const held = new HeldConnections();
    const keys = holdKeys({ principal: null, uploadGrant: { uploadId: 'u1', userId: 7 } }, { perUser: 2, perUploadToken: 1 });
    const first = held.tryHold(keys);
    expect(first.kind).toBe('held');
    expect(held.tryHold(keys)).toEqual({ kind: 'full', full: { key: 'upload:u1', max: 1 } });
    // the refusal took nothing under the user's key
    expect(held.held('user:7')).toBe(1);
    if (first.kind === 'held') {
      first.release();
      first.release();
    }
    expect(held.held('upload:u1')).toBe(0);
    expect(held.held('user:7')).toBe(0);
  });

  it('counts a bearer reader under its user only, and a limit of 0 not at all', () => {
    expect(holdKeys({ principal: { userId: 3 }, uploadGrant: null }, { perUser: 20, perUploadToken: 5 })).toEqual([{ key: 'user:3', max: 20 }]);
    expect(holdKeys({ principal: null, uploadGrant: { uploadId: 'u1', userId: 7 } }, { perUser: 0, perUploadToken: 0 })).toEqual([]);
  });
});
